/**
 * Rendering: plain functions from results to HTML or SVG strings (every text escaped), so the
 * page needs no UI framework. Colors come from @gim/report, as in `gim explain --html`.
 */
import { cssColor, divergingColor, formatNumber, heatmapHtml, heatmapLegendHtml, inlineToken, isDark, normalizeByMaxAbs } from "@gim/report";
import type { LayerFirings } from "@gim/rules";
import type { Attributions, ComponentResult, JacobianRow, ModelInfo } from "./explorer.js";

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The two heatmaps: gradient x input and GIM, each row scaled by its own largest |value|. */
export function attributionsHtml(tokens: readonly string[], ids: readonly number[], a: Attributions): string {
  return (
    heatmapHtml(tokens, [
      { label: "gradient × input", values: a.plain },
      { label: "GIM", values: a.gim },
    ], ids) + heatmapLegendHtml()
  );
}

/** The attributions as numbers: one row per token, both methods, and GIM's rank by |value|. */
export function attributionTableHtml(tokens: readonly string[], a: Attributions): string {
  const rank = new Map(a.gim.map((_, i) => i).sort((x, y) => Math.abs(a.gim[y]!) - Math.abs(a.gim[x]!)).map((t, r) => [t, r + 1]));
  const rows = tokens.map((t, i) => `<tr data-index="${i}"><td>${i}</td><th>${escapeHtml(JSON.stringify(t))}</th><td data-value="${a.plain[i]}">${formatNumber(a.plain[i]!)}</td><td data-value="${a.gim[i]}">${formatNumber(a.gim[i]!)}</td><td>${rank.get(i)}</td></tr>`);
  return `<details class="attribution-table"><summary>The numbers</summary><table class="numbers"><tr><th>#</th><th>token</th><th>gradient × input</th><th>GIM</th><th>GIM rank by |value|</th></tr>${rows.join("")}</table></details>`;
}

/** Readable rule names: gim.softmaxTemperature -> TSG. */
const ruleLabels: Record<string, string> = {
  "gim.freezeNorm": "norm freeze",
  "gim.softmaxTemperature": "TSG",
  "gim.qScale": "q scale",
  "gim.kScale": "k scale",
  "gim.vScale": "v scale",
  "gim.gateScale": "gate scale",
  "gim.upScale": "up scale",
};

/**
 * The model's layers as boxes (each block's first norm, attention, second norm, MLP; the final
 * norm), each box listing the rules that fired at it in the last backward pass.
 */
export function traceDiagramHtml(info: ModelInfo, trace: readonly LayerFirings[]): string {
  const firedAt = (layer: string, sub: string) => {
    const rules = trace.find((l) => l.layer === layer)?.rules ?? [];
    return rules.filter((r) => r.places.some((p) => p === sub || p.startsWith(`${sub}.`)));
  };
  const box = (title: string, layer: string, sub: string, kind: string) => {
    const fired = firedAt(layer, sub);
    const list = fired.map((r) => `<li>${escapeHtml(ruleLabels[r.rule] ?? r.rule)}${r.count > 1 ? ` ×${r.count}` : ""}</li>`).join("");
    return `<div class="trace-box ${kind}${fired.length ? " fired" : ""}" data-place="${escapeHtml(layer === sub ? layer : `${layer}.${sub}`)}" data-rules="${escapeHtml(fired.map((r) => r.rule).join(" "))}"><div class="trace-title">${escapeHtml(title)}</div><ul>${list}</ul></div>`;
  };
  const relative = (path: string, parent: string) => (path.startsWith(`${parent}.`) ? path.slice(parent.length + 1) : path);
  const blocks = info.blocks.map((b) => {
    const [n1, n2] = b.norms.map((n) => relative(n, b.path)) as [string, string];
    const attn = relative(b.attn, b.path);
    const mlp = relative(b.mlp, b.path);
    return `<div class="trace-block"><div class="trace-block-title">${escapeHtml(b.path)}</div>${box(n1, b.path, n1, "norm")}${box(attn, b.path, attn, "attn")}${box(n2, b.path, n2, "norm")}${box(`${mlp}${b.gated ? " (gated)" : ""}`, b.path, mlp, "mlp")}</div>`;
  });
  const final = `<div class="trace-block"><div class="trace-block-title">head</div>${box(info.finalNorm, info.finalNorm, info.finalNorm, "norm")}</div>`;
  return `<div class="trace-diagram"><div class="trace-block"><div class="trace-block-title">embeddings</div><div class="trace-box"><div class="trace-title">tokens</div><ul><li>gradient × (e − e<sub>baseline</sub>)</li></ul></div></div>${blocks.join('<div class="trace-arrow">→</div>')}<div class="trace-arrow">→</div>${final}</div>`;
}

function percent(v: number): string {
  return Number.isFinite(v) ? `${Math.round(v * 100)}%` : "–";
}

/**
 * One head's attention pattern as a table: rows are queries, columns keys, darker is more
 * weight; at the right of each row, the share of its score gradient the softmax Jacobian
 * cancels, plain and with TSG.
 */
export function attentionHtml(tokens: readonly string[], pattern: readonly (readonly number[])[], selectedRow: number | undefined, cancelled: readonly number[], cancelledT: readonly number[], temperature: number): string {
  const head = `<tr><th></th>${tokens.map((t, k) => `<th class="key" title="#${k} ${escapeHtml(JSON.stringify(t))}"><span>${escapeHtml(inlineToken(t))}</span></th>`).join("")}<th class="cancel" title="share of the row's score gradient the softmax Jacobian cancels, plain backward">cancelled plain</th><th class="cancel" title="the same with TSG at T = ${temperature}">TSG</th></tr>`;
  const rows = pattern.map((row, i) => {
    const cells = row.map((p, k) => {
      const shade = Math.round(255 - 200 * Math.sqrt(Math.max(0, Math.min(1, p))));
      return `<td style="background:rgb(${shade},${shade},255)" title="${escapeHtml(`query #${i} ${JSON.stringify(tokens[i])} -> key #${k} ${JSON.stringify(tokens[k])}: ${p}`)}" data-value="${p}"></td>`;
    });
    const c = (v: number) => `<td class="cancel" data-value="${v}" style="--share:${Number.isFinite(v) ? Math.max(0, v) : 0}">${percent(v)}</td>`;
    return `<tr class="query${i === selectedRow ? " selected" : ""}" data-row="${i}"><th>${escapeHtml(inlineToken(tokens[i]!))}</th>${cells.join("")}${c(cancelled[i]!)}${c(cancelledT[i]!)}</tr>`;
  });
  return `<table class="attention">${head}${rows.join("")}</table>`;
}

function bar(v: number, max: number): string {
  const w = max > 0 ? Math.min(1, Math.abs(v) / max) * 100 : 0;
  return `<span class="bar ${v < 0 ? "neg" : "pos"}" style="width:${w.toFixed(1)}%"></span>`;
}

/** The softmax Jacobian for one attention row: per key p, pT, dL/dp and the score gradients plain vs TSG. */
export function jacobianHtml(tokens: readonly string[], j: JacobianRow): string {
  const maxDs = Math.max(...j.ds.map(Math.abs), ...j.dsT.map(Math.abs));
  const rows = j.p.map((p, k) => `<tr data-key="${k}"><th>${escapeHtml(inlineToken(tokens[k]!))}</th><td data-value="${p}">${formatNumber(p)}</td><td data-value="${j.pT[k]}">${formatNumber(j.pT[k]!)}</td><td data-value="${j.dp[k]}">${formatNumber(j.dp[k]!)}</td><td class="num" data-value="${j.ds[k]}">${formatNumber(j.ds[k]!)}${bar(j.ds[k]!, maxDs)}</td><td class="num" data-value="${j.dsT[k]}">${formatNumber(j.dsT[k]!)}${bar(j.dsT[k]!, maxDs)}</td></tr>`);
  const sumAbs = (v: readonly number[]) => v.reduce((a, x) => a + Math.abs(x), 0);
  return `<div class="jacobian" data-layer="${j.layer}" data-head="${j.head}" data-row="${j.row}">
<p>Query <b>#${j.row} ${escapeHtml(JSON.stringify(tokens[j.row]))}</b>, layer ${j.layer}, head ${j.head}. Plain: <code>ds<sub>k</sub> = p<sub>k</sub> (dp<sub>k</sub> − Σ<sub>j</sub> p<sub>j</sub> dp<sub>j</sub>)</code>, mean ${formatNumber(j.mean)}. TSG (T = ${formatNumber(j.temperature)}): <code>ds<sub>k</sub> = pT<sub>k</sub> (dp<sub>k</sub> − Σ<sub>j</sub> pT<sub>j</sub> dp<sub>j</sub>)</code>, mean ${formatNumber(j.meanT)}.
Where keys with large weight carry similar dp, the brackets cancel: Σ|ds| is ${formatNumber(sumAbs(j.ds))} plain and ${formatNumber(sumAbs(j.dsT))} with TSG.</p>
<table class="numbers"><tr><th>key</th><th>p</th><th>pT</th><th>dL/dp</th><th>ds plain</th><th>ds TSG</th></tr>${rows.join("")}</table></div>`;
}

/**
 * Components as a graph: columns by layer (embeddings, each layer's heads, its MLP, the
 * logits), nodes colored by their score, and the strongest edges drawn by |score|.
 */
export function componentGraphSvg(r: ComponentResult, source: "gim" | "gradient" | "exact", edgeCount = 40): string {
  const scores = r.scores[source];
  const edgeScores = r.edgeScores[source];
  const layers = Math.max(...r.components.map((c) => c.layer)) + 1;
  const heads = r.components.filter((c) => c.kind === "head" && c.layer === 0).length;
  const colW = 120, rowH = 34, top = 30;
  const height = top + Math.max(heads, 1) * rowH + 20;
  const columns = 2 * layers + 2;
  const width = columns * colW;
  const pos = new Map<string, { x: number; y: number }>();
  const middle = top + ((Math.max(heads, 1) - 1) * rowH) / 2;
  r.components.forEach((c) => {
    if (c.kind === "embed") pos.set(c.name, { x: colW / 2, y: middle });
    else if (c.kind === "mlp") pos.set(c.name, { x: (2 * c.layer + 2) * colW + colW / 2, y: middle });
    else {
      const h = Number(/head(\d+)$/.exec(c.name)?.[1] ?? 0);
      pos.set(c.name, { x: (2 * c.layer + 1) * colW + colW / 2, y: top + h * rowH });
    }
  });
  // Where an edge ends: the input of a sublayer, drawn at the left edge of its column.
  const inputAt = new Map<string, { x: number; y: number }>();
  r.inputs.forEach((v) => {
    const column = v.kind === "attn" ? 2 * v.layer + 1 : v.kind === "mlp" ? 2 * v.layer + 2 : columns - 1;
    inputAt.set(v.name, { x: column * colW + 18, y: middle });
  });
  pos.set("logits", { x: (columns - 1) * colW + colW / 2, y: middle });
  const maxNode = Math.max(...normalizeByMaxAbs(scores).map(Math.abs), 1e-12);
  const scaled = normalizeByMaxAbs(scores);
  const maxEdge = Math.max(...edgeScores.map(Math.abs), 1e-12);
  const order = edgeScores.map((_, i) => i).sort((a, b) => Math.abs(edgeScores[b]!) - Math.abs(edgeScores[a]!)).slice(0, edgeCount);
  const edges = order.map((i) => {
    const e = r.edges[i]!;
    const from = pos.get(r.components[e.from]!.name)!;
    const to = inputAt.get(e.to)!;
    const s = edgeScores[i]!;
    const w = 0.5 + 6 * (Math.abs(s) / maxEdge);
    return `<path class="edge" d="M${from.x + 26},${from.y} C${(from.x + to.x) / 2},${from.y} ${(from.x + to.x) / 2},${to.y} ${to.x},${to.y}" stroke="${cssColor(divergingColor(s / maxEdge))}" stroke-width="${w.toFixed(2)}" fill="none" opacity="0.8"><title>${escapeHtml(`${e.name}: ${s}`)}</title></path>`;
  });
  const nodes = r.components.map((c, i) => {
    const p = pos.get(c.name)!;
    const bg = divergingColor(scaled[i]! / maxNode);
    const label = c.kind === "embed" ? "embed" : c.kind === "mlp" ? `mlp ${c.layer}` : `${c.layer}.${/head(\d+)$/.exec(c.name)?.[1]}`;
    return `<g class="node" data-name="${escapeHtml(c.name)}" data-value="${scores[i]}"><rect x="${p.x - 26}" y="${p.y - 12}" width="52" height="24" rx="5" fill="${cssColor(bg)}" stroke="#555"/><text x="${p.x}" y="${p.y + 4}" text-anchor="middle" fill="${isDark(bg) ? "#fff" : "#111"}">${escapeHtml(label)}</text><title>${escapeHtml(`${c.name}: ${scores[i]}`)}</title></g>`;
  });
  const inputs = [...inputAt].map(([name, p]) => `<circle cx="${p.x}" cy="${p.y}" r="4" fill="#333"><title>${escapeHtml(`input of ${name}`)}</title></circle>`);
  const logits = pos.get("logits")!;
  const headers = Array.from({ length: columns }, (_, c) => {
    const text = c === 0 ? "embeddings" : c === columns - 1 ? "logits" : c % 2 === 1 ? `layer ${(c - 1) / 2} heads` : `layer ${(c - 2) / 2} MLP`;
    return `<text x="${c * colW + colW / 2}" y="14" text-anchor="middle" class="col-title">${text}</text>`;
  });
  return `<svg class="component-graph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="components and edges by ${source} score">${headers.join("")}${edges.join("")}${inputs.join("")}${nodes.join("")}<text x="${logits.x}" y="${logits.y + 4}" text-anchor="middle">logits</text></svg>`;
}

/** The components ranked by |exact| with each method's score, and the agreement figures. */
export function componentTableHtml(r: ComponentResult, top = 12): string {
  const order = r.components.map((_, i) => i).filter((i) => r.components[i]!.kind !== "embed").sort((a, b) => Math.abs(r.scores.exact[b]!) - Math.abs(r.scores.exact[a]!)).slice(0, top);
  const rows = order.map((i) => `<tr data-name="${escapeHtml(r.components[i]!.name)}"><th>${escapeHtml(r.components[i]!.name)}</th><td>${formatNumber(r.scores.gim[i]!)}</td><td>${formatNumber(r.scores.gradient[i]!)}</td><td>${formatNumber(r.scores.exact[i]!)}</td></tr>`);
  const agree = (a: { spearman: number; topOverlap: number } | undefined) => (a ? `Spearman ${formatNumber(a.spearman)}, top-k overlap ${formatNumber(a.topOverlap)}` : "n/a");
  return `<p>Metric: logit(${escapeHtml(JSON.stringify(r.answer))}) − logit(${escapeHtml(JSON.stringify(r.wrong))}) at the last token: ${formatNumber(r.metricClean)} clean, ${formatNumber(r.metricCorrupted)} corrupted.</p>
<ul class="agreement"><li>Heads and MLPs vs exact patching: GIM ${agree(r.agreement.gim)}; gradient ${agree(r.agreement.gradient)}.</li>
<li>Edges (${r.edges.length}) vs exact edge patching: GIM ${agree(r.edgeAgreement.gim)}; gradient ${agree(r.edgeAgreement.gradient)}.</li></ul>
<div class="tables"><table class="numbers"><tr><th>component (by |exact|)</th><th>GIM</th><th>gradient</th><th>exact</th></tr>${rows.join("")}</table>${edgeTableHtml(r, top)}</div>`;
}

/** The edges ranked by |exact edge patching| with each method's score. */
function edgeTableHtml(r: ComponentResult, top: number): string {
  const e = r.edgeScores;
  const order = e.exact.map((_, i) => i).sort((a, b) => Math.abs(e.exact[b]!) - Math.abs(e.exact[a]!)).slice(0, top);
  const rows = order.map((i) => `<tr data-name="${escapeHtml(r.edges[i]!.name)}"><th>${escapeHtml(r.edges[i]!.name)}</th><td>${formatNumber(e.gim[i]!)}</td><td>${formatNumber(e.gradient[i]!)}</td><td>${formatNumber(e.exact[i]!)}</td></tr>`);
  return `<table class="numbers"><tr><th>edge (by |exact|)</th><th>GIM</th><th>gradient</th><th>exact</th></tr>${rows.join("")}</table>`;
}
