import type { TokenMethodResult } from "../tokenEval.js";
import type { EvalResults } from "../run.js";
import { differenceOf, formatDifference } from "./circuits.js";
import { methodLabels, formatValue, formatSigned, percent, table } from "./format.js";
import type { ReportWriter } from "./writer.js";

/** The headline: gradient x input -> GIM per model, for tokens and components. */
export function headlineSection(results: EvalResults, { p }: ReportWriter): void {
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
  const circuitRows = results.models.flatMap((m) => {
    const c = m.circuits;
    if (!c) return [];
    return [[`\`${m.name}\``, ...(["eap", "eap-ig"] as const).flatMap((b) => (["cpr", "cmd", "spearman"] as const).map((s) => formatDifference(differenceOf(c, `gim-${b}`, b, s))))]];
  });
  if (circuitRows.length) {
    p(
      `Circuits on MIB's graph (held out), GIM − plain with ${Math.round(100 * results.models.find((m) => m.circuits)!.circuits!.level)}% paired bootstrap intervals (bold: the interval excludes 0; CPR and Spearman: higher is better, CMD: lower is better):`,
      "",
      table(["model", "EAP: Δ CPR", "EAP: Δ CMD", "EAP: Δ Spearman", "EAP-IG: Δ CPR", "EAP-IG: Δ CMD", "EAP-IG: Δ Spearman"], circuitRows),
      "",
    );
    return; // the coarse, in-sample component numbers below carry no intervals: the circuit table replaces them here
  }
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
}
