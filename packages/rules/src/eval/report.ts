/**
 * The markdown report of `gim eval` (`docs/results.md`) and its SVG plots, from the results
 * of `runEval`. Everything but the discussion is generated; the discussion, written by a
 * person after reading the numbers, sits between two markers and is carried over from the
 * previous report when the report is regenerated.
 */
import type { CurveSummary, LevelResult } from "./components.js";
import { lineChartSvg, palette, type LineSeries } from "./plot.js";
import type { EvalResults, ModelEvalResult } from "./run.js";
import type { RowGroupSummary } from "./selfRepair.js";
import type { MeanStat } from "./stats.js";
import type { EvalMethod } from "./task.js";
import type { TokenMethodResult } from "./tokens.js";

/** Where and how the evaluation ran. */
export interface ReportMeta {
  /** ISO date and time of the run. */
  readonly date: string;
  readonly machine: {
    /** CPU model (from /proc/cpuinfo). */
    readonly cpu: string;
    /** Logical cores (nproc). */
    readonly cores: number;
    /** Node version (`v20.20.2`). */
    readonly node: string;
    /** `linux x64`. */
    readonly platform: string;
  };
  /** The exact commands that produced the report, in order. */
  readonly commands: readonly string[];
  /** The folder of the plots, relative to the report (`plots`). */
  readonly plotDir: string;
  /** The discussion to keep (see {@link extractDiscussion}). */
  readonly discussion?: string;
}

/** A generated plot: its file name (inside the plot folder) and SVG text. */
export interface ReportPlot {
  readonly file: string;
  readonly svg: string;
}

/** The start and end markers of the hand-written discussion. */
export const discussionMarkers = { start: "<!-- discussion:start -->", end: "<!-- discussion:end -->" } as const;

/** The hand-written discussion of an existing report (between the markers), or undefined. */
export function extractDiscussion(markdown: string): string | undefined {
  const start = markdown.indexOf(discussionMarkers.start);
  const end = markdown.indexOf(discussionMarkers.end);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start + discussionMarkers.start.length, end).trim();
}

/** How each method is named in the report. */
export const methodLabels: Readonly<Record<EvalMethod, string>> = {
  gradient: "gradient × input",
  gim: "GIM",
  freezeNorm: "GIM: norm freeze only",
  softmaxTemperature: "GIM: TSG only (T = 2)",
  qkvScale: "GIM: q/k/v scale only",
  gateUpScale: "GIM: gate/up scale only",
  integratedGradients: "integrated gradients",
  occlusion: "occlusion",
  random: "random ranking",
};

/** A number with 3 significant decimals, `–` when not finite. */
export function formatValue(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return "–";
  return (v + 0).toFixed(digits);
}

function formatStat(s: MeanStat): string {
  if (s.count === 0) return "–";
  return Number.isFinite(s.se) ? `${formatValue(s.mean)} ± ${formatValue(s.se)}` : formatValue(s.mean);
}

/** A mean difference with a sign and its standard error: `+0.012 ± 0.004`. */
function formatSigned(s: MeanStat): string {
  if (s.count === 0 || !Number.isFinite(s.mean)) return "–";
  const sign = s.mean > 0 ? "+" : s.mean < 0 ? "−" : "±";
  const body = `${sign}${formatValue(Math.abs(s.mean))}`;
  return Number.isFinite(s.se) ? `${body} ± ${formatValue(s.se)}` : body;
}

function percent(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–";
}

function table(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  // A "|" inside a cell would end it: escape it.
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** Marks the best value of a column in bold (largest or smallest), ties included. */
function boldBest(cells: string[], values: readonly number[], best: "max" | "min"): string[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return cells;
  const target = best === "max" ? Math.max(...finite) : Math.min(...finite);
  return cells.map((c, i) => (values[i] === target ? `**${c}**` : c));
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function methodColor(method: string, index: number): string {
  const fixed: Record<string, string> = { gradient: "#1f77b4", gim: "#d62728", exact: "#2ca02c", random: "#7f7f7f" };
  return fixed[method] ?? palette[(index + 3) % palette.length]!;
}

/** The report's markdown and plots. */
export function renderReport(results: EvalResults, meta: ReportMeta): { markdown: string; plots: ReportPlot[] } {
  const plots: ReportPlot[] = [];
  const plot = (file: string, svg: string): string => {
    plots.push({ file, svg });
    return `${meta.plotDir}/${file}`;
  };
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines);

  p(
    "# Faithfulness results",
    "",
    `<!-- Generated by \`gim eval\` (${meta.date}). Everything outside the discussion markers is overwritten when the report is regenerated. -->`,
    "",
    "How faithful are GIM's attributions, compared with plain gradients and the usual references, on the small models trained in this repository (`@gim/models`)? Three measurements, all on held-out data:",
    "",
    "1. **Token attributions**: comprehensiveness and sufficiency as GIM.md defines them, and how often the top-ranked token is a ground-truth evidence token.",
    "2. **Components**: attribution-patching scores of heads, MLPs and edges (plain gradient vs GIM) against exact activation patching, and the faithfulness of the circuits they pick (MIB's circuit-localization metrics).",
    "3. **Attention self-repair**: attention rows where two keys matter together but little alone, and how plain gradients, TSG and GIM see those keys.",
    "",
    `Generated ${meta.date} on ${meta.machine.cpu} (${meta.machine.cores} cores, Node ${meta.machine.node}, ${meta.machine.platform}) in ${formatDuration(results.seconds)}; the commands are at the [end](#reproducing).`,
    "",
  );

  // Models.
  p("## Models and data", "");
  p(
    table(
      ["model", "architecture", "token examples", "f(x) mean", "argmax = answer", "rankable tokens n", "pairs", "self-repair examples"],
      results.models.map((m) => [
        `\`${m.name}\``,
        m.architecture,
        String(m.tokens.examples),
        formatValue(m.tokens.meanLogit, 2),
        `${m.tokens.argmaxIsTarget}/${m.tokens.examples}`,
        m.tokens.rankable.min === m.tokens.rankable.max ? String(m.tokens.rankable.min) : `${m.tokens.rankable.min}–${m.tokens.rankable.max}`,
        m.components ? String(m.components.pairs) : "–",
        m.selfRepair ? String(m.selfRepair.examples) : "–",
      ]),
    ),
    "",
  );
  for (const m of results.models) p(`- \`${m.name}\`: ${m.description} Baseline token: ${m.baseline}. Corrupted prompts: ${m.pairDescription}`);
  p("");

  // Headline.
  p("## Headline", "");
  const headRows: string[][] = [];
  for (const m of results.models) {
    const by = new Map(m.tokens.methods.map((x) => [x.method, x]));
    const g = by.get("gradient");
    const gm = by.get("gim");
    const bestOf = (key: "comprehensiveness" | "sufficiency", best: "max" | "min") => {
      const ranked = m.tokens.methods.filter((x) => x[key].count > 0).sort((a, b) => (best === "max" ? b[key].mean - a[key].mean : a[key].mean - b[key].mean));
      return ranked.length ? `${methodLabels[ranked[0]!.method]} (${formatValue(ranked[0]![key].mean)})` : "–";
    };
    const headline = m.evidenceSets[0]?.name;
    const hit = (x: TokenMethodResult | undefined) => (x && headline ? percent(x.evidence[headline]!.rate) : "–");
    const gimRank = (key: "comprehensiveness" | "sufficiency", best: "max" | "min") => {
      if (!gm || gm[key].count === 0) return "–";
      const better = m.tokens.methods.filter((x) => x.method !== "gim" && x[key].count > 0 && (best === "max" ? x[key].mean > gm[key].mean : x[key].mean < gm[key].mean)).length;
      return `${better + 1} of ${m.tokens.methods.filter((x) => x[key].count > 0).length}`;
    };
    headRows.push([
      `\`${m.name}\``,
      g && gm ? `${formatValue(g.comprehensiveness.mean)} → ${formatValue(gm.comprehensiveness.mean)}` : "–",
      gm?.versusGradient ? formatSigned(gm.versusGradient.comprehensiveness) : "–",
      gimRank("comprehensiveness", "max"),
      bestOf("comprehensiveness", "max"),
      g && gm ? `${formatValue(g.sufficiency.mean)} → ${formatValue(gm.sufficiency.mean)}` : "–",
      gm?.versusGradient ? formatSigned(gm.versusGradient.sufficiency) : "–",
      gimRank("sufficiency", "min"),
      bestOf("sufficiency", "min"),
      `${hit(g)} → ${hit(gm)}`,
    ]);
  }
  p(
    "Token attributions, gradient × input → GIM (rank of GIM among all methods, 1 = best):",
    "",
    table(["model", "comprehensiveness ↑", "GIM − gradient", "GIM rank", "best", "sufficiency ↓", "GIM − gradient", "GIM rank", "best", "top token = evidence"], headRows),
    "",
    "*GIM − gradient* is the mean ± standard error of the per-example difference (paired over the same examples).",
    "",
  );
  const compRows = results.models.flatMap((m) => {
    if (!m.components) return [];
    const s = new Map(m.components.sources.map((x) => [x.name, x]));
    const g = s.get("gradient");
    const gm = s.get("gim");
    if (!g || !gm) return [];
    return [
      [
        `\`${m.name}\``,
        `${formatValue(g.nodes.agreement!.spearman)} → ${formatValue(gm.nodes.agreement!.spearman)}`,
        `${formatValue(g.edges.agreement!.spearman)} → ${formatValue(gm.edges.agreement!.spearman)}`,
        `${formatValue(g.edges.signed.mib.area)} → ${formatValue(gm.edges.signed.mib.area)}`,
        `${formatValue(g.edges.absolute.mib.areaFromOne)} → ${formatValue(gm.edges.absolute.mib.areaFromOne)}`,
      ],
    ];
  });
  if (compRows.length) {
    p(
      "Components, plain gradient → GIM (attribution patching over the held-out pairs):",
      "",
      table(["model", "Spearman with exact, nodes", "Spearman with exact, edges", "edge CPR ↑ (MIB)", "edge CMD ↓ (MIB)"], compRows),
      "",
    );
  }

  // Token attributions.
  p("## Token attributions", "", "### Definitions", "");
  p(
    "- **f** is the target logit: the logit of the example's correct answer (IOI: the indirect object's name; induction: the token after the earlier occurrence of the last token) at the last position. The correct answer is used rather than the model's argmax so that the ground-truth evidence is the evidence for f; the table above gives how often the two agree.",
    "- **Attributions** are `explain()`'s: `attr[t] = sum_d dL/de[t,d] (e[t,d] - e_b[d])` with L = f and `e_b` the embedding of the baseline token, with the method's backward rules; integrated gradients (midpoint rule, " +
      `${results.igSteps} steps) and occlusion (\`f(x) - f(x with token t replaced by the baseline)\`) as references.`,
    "- **Ranking**: tokens are ranked by attribution, largest (most supporting) first, ties by position; the first and the last token are excluded. **n** is the number of rankable tokens, `length - 2`.",
    "- **Masking** replaces a token id by the baseline token id (the same baseline as the attributions).",
    `- **Comprehensiveness** ↑: mask the top-1, top-2, …, top-K tokens cumulatively, K = min(${results.models[0]?.tokens.maxSteps ?? 50}, n); the score of an example is the mean over the K steps of \`(f(x) - f(x_masked)) / f(x)\`.`,
    `- **Sufficiency** ↓: for r in {${(results.models[0]?.tokens.ratios ?? []).join(", ")}}, mask the \`floor(r · n)\` least important tokens; the score is the mean over the ratios of \`(f(x) - f(x_masked)) / f(x)\`.`,
    "- **f(x) ≤ 0**: dividing by f(x) would flip or explode the sign, so such examples are left out of both means and counted below (they still count for the evidence hit rate).",
    `- **Random ranking**: a uniformly random order of the rankable tokens, one per example, from a generator seeded with (seed ${results.seed}, example index).`,
    "- **Evidence hit rate**: the share of examples whose top-ranked token (same ranking, so the first and last tokens are never on top) is a ground-truth evidence token. Random ranking's expected rate is |evidence| / n.",
    "- Values are mean ± standard error over examples. The best value of each column is in bold. *Δ vs gradient* is the mean ± standard error of the per-example difference from gradient × input (paired: the same examples).",
    "- **cos(∂f/∂e, e − e_b)** (gradient methods): the mean over examples of the cosine, at the headline evidence token (IO, s+1), between the gradient at the token's embedding and the token's displacement from the baseline, the vector gradient × input multiplies it with. A norm's exact Jacobian removes the gradient's component along the norm's input (norms are scale-invariant), so where a token's embedding dominates the residual stream entering the first norm, the plain gradient is nearly orthogonal to it.",
    "- A single GIM rule that has no place in a model (the gate/up scale on GPT-2, which has no gated MLP) gives exactly the plain gradient; the table says so.",
    "",
  );
  for (const m of results.models) {
    p(`### \`${m.name}\``, "");
    const methods = m.tokens.methods;
    const comp = boldBest(methods.map((x) => formatStat(x.comprehensiveness)), methods.map((x) => x.comprehensiveness.mean), "max");
    const suff = boldBest(methods.map((x) => formatStat(x.sufficiency)), methods.map((x) => x.sufficiency.mean), "min");
    const hits = m.evidenceSets.map((set) => boldBest(methods.map((x) => percent(x.evidence[set.name]!.rate)), methods.map((x) => x.evidence[set.name]!.rate), "max"));
    p(
      table(
        ["method", "comprehensiveness ↑", "sufficiency ↓", "Δ vs gradient (comp. / suff.)", ...m.evidenceSets.map((s) => `top token ∈ ${s.description}`), `cos(∂f/∂e, e − e_b) at ${m.evidenceSets[0]?.description ?? "every token"}`, "note"],
        methods.map((x, i) => [
          methodLabels[x.method],
          comp[i]!,
          suff[i]!,
          x.versusGradient && x.method !== "gradient" ? `${formatSigned(x.versusGradient.comprehensiveness)} / ${formatSigned(x.versusGradient.sufficiency)}` : "",
          ...hits.map((h) => h[i]!),
          x.alignment ? formatValue(x.alignment.mean) : "",
          x.note ?? "",
        ]),
      ),
      "",
    );
    const undefinedNote = m.tokens.undefinedExamples > 0 ? `${m.tokens.undefinedExamples} of ${m.tokens.examples} examples have f(x) ≤ 0 and are left out of comprehensiveness and sufficiency.` : `All ${m.tokens.examples} examples have f(x) > 0.`;
    const unreachable = m.evidenceSets.map((s) => [s, methods[0]?.evidence[s.name]?.unreachable ?? 0] as const).filter(([, u]) => u > 0);
    p(undefinedNote + (unreachable.length ? ` Evidence only at an excluded position (counted as a miss): ${unreachable.map(([s, u]) => `${u} examples for ${s.description}`).join("; ")}.` : ""), "");
    const curveSteps = m.tokens.stepCounts.filter((n) => 2 * n >= (m.tokens.stepCounts[0] ?? 0)).length;
    const compPlot = plot(
      `tokens-${slug(m.name)}-comprehensiveness.svg`,
      lineChartSvg({
        title: `${m.name}: comprehensiveness by number of masked tokens`,
        xLabel: "k (top-k tokens masked)",
        xMin: 0,
        left: { label: "(f(x) - f(x masked)) / f(x)" },
        guides: [0, 1],
        series: methods.map((x, i) => ({
          label: methodLabels[x.method],
          color: methodColor(x.method, i),
          dashed: !["gradient", "gim", "random"].includes(x.method),
          // Up to the k that at least half of the examples reach: beyond it the mean is over a few long examples.
          points: x.comprehensivenessCurve.slice(0, curveSteps).map((v, k) => [k + 1, v] as const),
        })),
      }),
    );
    const suffPlot = plot(
      `tokens-${slug(m.name)}-sufficiency.svg`,
      lineChartSvg({
        title: `${m.name}: sufficiency by share of least important tokens masked`,
        xLabel: "r (share of rankable tokens masked, least important first)",
        xMin: 0.5,
        xMax: 1,
        left: { label: "(f(x) - f(x masked)) / f(x)" },
        guides: [0],
        series: methods.map((x, i) => ({
          label: methodLabels[x.method],
          color: methodColor(x.method, i),
          dashed: !["gradient", "gim", "random"].includes(x.method),
          markers: true,
          points: x.sufficiencyCurve.map((v, j) => [m.tokens.ratios[j]!, v] as const),
        })),
      }),
    );
    p(
      `![comprehensiveness curves of ${m.name}](${compPlot})`,
      "",
      `Mean of \`(f(x) - f(x with the top k masked)) / f(x)\` over the examples with at least k rankable tokens, up to k = ${curveSteps} (reached by at least half of them); comprehensiveness is the mean of an example's curve.`,
      "",
      `![sufficiency curves of ${m.name}](${suffPlot})`,
      "",
    );
  }

  // Components.
  if (results.models.some((m) => m.components)) {
    p("## Components: attribution patching vs exact activation patching", "", "### Definitions", "");
    p(
      "- **Nodes**: the embeddings, every attention head (its slice of `attn.z`) and every MLP (`mlp.output`). **Edges**: from each node's write to the residual stream to each later sublayer input (attention, MLP, logits), as in `docs/components.md`.",
      "- **Metric** M: logit[answer] - logit[wrong] at the last position, where `wrong` is the answer the corrupted prompt supports; averaged over the held-out pairs.",
      "- **Scores**: attribution patching, `sum dM/da · (a_clean - a_corrupt)`, with the plain backward (gradient) or GIM's; **exact** activation (and edge) patching, `M(clean) - M(clean with a patched from the corrupted run)`, is the ground truth. Scores are summed over the pair set (pairs of one length share forward passes; the set's scores are the groups' weighted by size, which is exact because every score is linear in M).",
      "- **Agreement**: Spearman rank correlation with exact patching (nodes: heads and MLPs; the embeddings' exact score is the whole effect by construction), and top-k overlap by |score|.",
      "- **Circuit faithfulness** (MIB, Mueller et al. 2025): the circuit `C_k` keeps the top-k nodes (edges) and patches every other one from the corrupted run; `f(k) = (M(C_k) - M(C_0)) / (M(C_N) - M(C_0))`, so f(0) = 0 and f(N) = 1. *CPR-like*: area under f over k/N with the signed ranking (↑). *CMD-like*: area of |1 - f| with the |score| ranking (↓). *MIB CPR / CMD*: the same on MIB's grid of circuit sizes `floor(p · N)`, p ∈ {0.001, …, 0.5, 1}, trapezoid over p. With so few nodes, MIB's small fractions give k = 0, so the full curves are the more informative.",
      "- **exact** is listed as a ranking source too: the circuits that exact patching's own ranking picks, a reference for what a ranking can reach.",
      "",
    );
    for (const m of results.models) {
      const c = m.components;
      if (!c) continue;
      p(`### \`${m.name}\``, "");
      p(
        `${c.pairs} pairs (${c.groups.map((g) => `${g.pairs} of length ${g.length}`).join(", ")}); M(clean) = ${formatValue(c.metricClean)}, M(corrupted) = ${formatValue(c.metricCorrupted)}; ${c.nodes.length} nodes, ${c.edges.length} edges.`,
        "",
      );
      const methods = c.sources.filter((s) => s.name !== "exact");
      p(
        table(
          ["method", "nodes: Spearman", `nodes: top-${c.topNodes} overlap`, "edges: Spearman", `edges: top-${c.topEdges} overlap`],
          methods.map((s) => [s.name, formatValue(s.nodes.agreement!.spearman), formatValue(s.nodes.agreement!.topKOverlap, 2), formatValue(s.edges.agreement!.spearman), formatValue(s.edges.agreement!.topKOverlap, 2)]),
        ),
        "",
      );
      const circuitRow = (name: string, l: LevelResult) => [name, formatValue(l.signed.area), formatValue(l.absolute.areaFromOne), formatValue(l.signed.mib.area), formatValue(l.absolute.mib.areaFromOne), smallestK(l.signed)];
      p(
        table(
          ["ranking from", "level", "area f, signed ↑", "area |1-f|, abs ↓", "MIB CPR ↑", "MIB CMD ↓", "smallest k with f ≥ 0.9"],
          c.sources.flatMap((s) => [
            [s.name, "nodes", ...circuitRow(s.name, s.nodes).slice(1)],
            [s.name, "edges", ...circuitRow(s.name, s.edges).slice(1)],
          ]),
        ),
        "",
      );
      const top = (l: LevelResult, names: readonly string[], k: number) =>
        l.scores
          .map((v, i) => [v, i] as const)
          .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
          .slice(0, k)
          .map(([, i]) => `\`${names[i]}\``)
          .join(", ");
      p("Top nodes by |score|:", "");
      for (const s of c.sources) p(`- ${s.name}: ${top(s.nodes, c.nodes, 4)}`);
      p("");
      for (const level of ["nodes", "edges"] as const) {
        const series: LineSeries[] = c.sources.flatMap((s, i) => {
          const l = s[level];
          const color = methodColor(s.name, i);
          return [
            { label: `${s.name}, signed`, color, points: l.signed.ks.map((k, j) => [k / l.signed.total, l.signed.faithfulness[j]!] as const) },
            { label: `${s.name}, |score|`, color, dashed: true, points: l.absolute.ks.map((k, j) => [k / l.absolute.total, l.absolute.faithfulness[j]!] as const) },
          ];
        });
        const file = plot(
          `circuits-${slug(m.name)}-${level}.svg`,
          lineChartSvg({ title: `${m.name}: circuit faithfulness (${level})`, xLabel: `k / N (share of ${level} kept)`, xMin: 0, xMax: 1, left: { label: "f(k)" }, guides: [0, 1], series }),
        );
        p(`![circuit faithfulness of ${m.name}, ${level}](${file})`, "");
      }
    }
  }

  // Self-repair.
  if (results.models.some((m) => m.selfRepair)) {
    const first = results.models.find((m) => m.selfRepair)!.selfRepair!;
    p("## Attention self-repair", "", "### Definitions", "");
    p(
      "GIM.md's reason for TSG: when several keys with large weight carry similar values, the softmax Jacobian term nearly cancels, so the scores that matter get almost no gradient. Measured here, on each model's held-out examples:",
      "",
      `- **Rows**: every attention row (layer, head, query position q ≥ 2) whose two heaviest keys j1, j2 both hold weight ≥ ${first.minWeight}; in the last layer only the row at the last position (nothing reads the others, so they cannot change f).`,
      "- **Masking** a set S of keys in one row: the row becomes the softmax over the remaining keys (zero their weights and renormalise), in that row of that head only; everything downstream recomputes. `E(S) = f(x) - f(x with S masked)`, f the target logit (as above).",
      `- **The pair matters** when E({j1, j2}) ≥ ${first.criteria.minJointEffect} · |f(x)|. **Self-repair** when, in addition, |E({j1})| + |E({j2})| ≤ ${first.criteria.maxAloneShare} · E({j1, j2}): each key alone is compensated by the other (absolute values, so that a helping and a hurting key do not pass by cancelling). Rows that matter but are not self-repair are the *additive* control group.`,
      "- **What a method says**: `g_j`, the method's gradient of f at the pre-softmax attention score of key j in that row (the `attn.scores` place), with its backward rules: plain gradient, TSG alone (T = 2), GIM. For the plain gradient, `Ê(S) = Σ_{j∈S} g_j / (1 - Σ_{j∈S} p_j)` is exactly the first-order estimate of E(S); the same formula is applied to the TSG and GIM gradients. Ranks are among the row's keys by g (largest first, 1 = top).",
      "- **Two views of the gradient.** The raw score gradient `g_j` is what flows on to the tokens and components upstream of the scores; when the two keys compensate for each other (weights p_j1 + p_j2 = P near 1, similar values) it is proportional to 1 - P and nearly vanishes: that is the self-repair GIM.md describes. The estimate `Ê` divides by 1 - P again, so for the plain gradient it recovers the first-order effect of masking, which is exact in the limit of small changes.",
      "- **Columns**: mean ranks of j1 and j2 by raw g; the share of rows where the two keys are the method's top two; the median of the pair's signed share of the row's gradient, `(g_j1 + g_j2) / Σ_k |g_k|` (scale-free, in [-1, 1]); the median of `(g_j1 + g_j2) / E({j1, j2})` (raw gradient per unit of joint effect); the median of `Ê({j1, j2}) / E({j1, j2})` (1 = the first-order estimate sees the whole joint effect) and of `(Ê({j1}) + Ê({j2})) / E({j1, j2})`; over every measured row, the Spearman correlation with E({j1, j2}) of `g_j1 + g_j2` and of `Ê({j1, j2})`.",
      "- **Visibility** of a method: its median `(g_j1 + g_j2) / E({j1, j2})` over the self-repair rows divided by the same over the additive rows. Near 1: the gradient credits a pair's joint effect alike whether or not the keys compensate for each other; near 0: self-repair hides the pair from it. This compares a method with itself, so the different scales of the methods (TSG has no 1/T factor) do not matter.",
      "",
    );
    p(
      table(
        ["model", "examples", "rows measured", "pair matters", "self-repair rows", "by layer", "E(j1) / f(x)", "E(j2) / f(x)", "E(j1, j2) / f(x)"],
        results.models.flatMap((m) => {
          const s = m.selfRepair;
          if (!s) return [];
          return [
            [
              `\`${m.name}\``,
              String(s.examples),
              String(s.rowsMeasured),
              String(s.rowsThatMatter),
              String(s.selfRepair.rows),
              s.selfRepairByLayer.map((n, l) => `L${l}: ${n}`).join(", "),
              formatStat(s.selfRepair.effects.first),
              formatStat(s.selfRepair.effects.second),
              formatStat(s.selfRepair.effects.both),
            ],
          ];
        }),
      ),
      "",
    );
    p(
      "How each method sees the pairs, per model:",
      "",
      table(
        ["model", "method", "visibility", "Spearman g vs E, all rows", "Spearman Ê vs E, all rows"],
        results.models.flatMap((m) =>
          m.selfRepair
            ? m.selfRepair.selfRepair.methods.map((x) => [
                `\`${m.name}\``,
                x.name,
                formatValue(m.selfRepair!.visibility[x.name] ?? Number.NaN),
                formatValue(m.selfRepair!.gradientSpearman[x.name] ?? Number.NaN),
                formatValue(m.selfRepair!.jointSpearman[x.name] ?? Number.NaN),
              ])
            : [],
        ),
      ),
      "",
    );
    const groupRows = (model: string, group: string, g: RowGroupSummary) =>
      g.methods.map((x) => [
        `\`${model}\``,
        group,
        String(g.rows),
        x.name,
        `${formatValue(x.meanRanks[0], 2)} / ${formatValue(x.meanRanks[1], 2)} of ${formatValue(g.meanKeys, 1)}`,
        percent(x.bothTopTwo),
        formatValue(x.medianPairShare),
        formatValue(x.medianGradientPerEffect),
        formatValue(x.medianJointRatio),
        formatValue(x.medianAloneRatio),
      ]);
    p(
      "By row group:",
      "",
      table(
        ["model", "rows", "n", "method", "mean rank j1 / j2", "both top two", "median pair share of |g|", "median (g_j1+g_j2)/E(j1,j2)", "median Ê(j1,j2)/E(j1,j2)", "median (Ê(j1)+Ê(j2))/E(j1,j2)"],
        results.models.flatMap((m) => (m.selfRepair ? [...groupRows(m.name, "self-repair", m.selfRepair.selfRepair), ...groupRows(m.name, "additive", m.selfRepair.additive)] : [])),
      ),
      "",
    );
    const strong = results.models.flatMap((m) => (m.selfRepair ? m.selfRepair.strongest.slice(0, 4).map((r) => ({ m, r })) : []));
    if (strong.length) {
      p("The strongest self-repair rows (largest joint effect):", "");
      p(
        table(
          ["model", "example", "layer.head", "query", "keys (weights)", "E(j1)", "E(j2)", "E(j1, j2)", "f(x)", ...first.selfRepair.methods.map((x) => `ranks, ${x.name}`)],
          strong.map(({ m, r }) => [
            `\`${m.name}\``,
            String(r.example),
            `${r.layer}.${r.head}`,
            r.labels.query,
            `${r.labels.keys[0]} (${formatValue(r.weights[0], 2)}), ${r.labels.keys[1]} (${formatValue(r.weights[1], 2)})`,
            formatValue(r.effects.first),
            formatValue(r.effects.second),
            formatValue(r.effects.both),
            formatValue(r.logit, 2),
            ...first.selfRepair.methods.map((x) => (r.methods[x.name] ? `${r.methods[x.name]!.ranks[0]}, ${r.methods[x.name]!.ranks[1]} of ${r.keyCount}` : "–")),
          ]),
        ),
        "",
      );
    }
  }

  // Discussion.
  p("## Discussion", "", discussionMarkers.start, meta.discussion?.trim() || "_Not written yet: read the numbers above and write it here (this section is kept when the report is regenerated)._", discussionMarkers.end, "");

  // Reproducing.
  p("## Reproducing", "", "```sh", ...meta.commands, "```", "");
  p(
    `- Machine: ${meta.machine.cpu}, ${meta.machine.cores} logical cores (nproc), Node ${meta.machine.node}, ${meta.machine.platform}.`,
    `- Date: ${meta.date}. Random baseline seed: ${results.seed}. Integrated gradients: ${results.igSteps} steps.`,
    `- Wall-clock time: ${formatDuration(results.seconds)} in total.`,
    "",
    table(
      ["model", "token attributions", "components", "self-repair"],
      results.models.map((m) => [`\`${m.name}\``, formatDuration(m.seconds.tokens), m.components ? formatDuration(m.seconds.components) : "–", m.selfRepair ? formatDuration(m.seconds.selfRepair) : "–"]),
    ),
    "",
  );
  return { markdown: out.join("\n"), plots };
}

function smallestK(c: CurveSummary): string {
  const i = c.faithfulness.findIndex((f) => f >= 0.9);
  return i < 0 ? "–" : `${c.ks[i]} of ${c.total}`;
}

/** Seconds as `42.1s`, `2m05s` or `1h02m` (`?` when not a duration). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 59.95) return `${seconds.toFixed(1)}s`; // 59.95 would print as 60.0s
  const s = Math.round(seconds); // round once, so 119.6 s is 2m00s, not 1m60s
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** Results as JSON text: NaN and infinities become null; Maps become objects. */
export function resultsJson(results: EvalResults): string {
  return JSON.stringify(results, (_, v: unknown) => {
    if (typeof v === "number" && !Number.isFinite(v)) return null;
    if (v instanceof Map) return Object.fromEntries(v);
    return v;
  });
}

/** The plot of one model (for tests and tools): the file names `renderReport` writes for it. */
export function plotFiles(model: ModelEvalResult): string[] {
  const files = [`tokens-${slug(model.name)}-comprehensiveness.svg`, `tokens-${slug(model.name)}-sufficiency.svg`];
  if (model.components) files.push(`circuits-${slug(model.name)}-nodes.svg`, `circuits-${slug(model.name)}-edges.svg`);
  return files;
}
