import { excludesZero, type Interval } from "@gim/rules";
import type { CircuitDifference, CircuitEvalResult, CircuitMethodResult } from "../circuitEval.js";
import type { EvalResults } from "../run.js";
import { formatValue, table } from "./format.js";
import type { ReportWriter } from "./writer.js";

/** `0.983 [0.972, 0.997]`, `–` when not finite. */
export function formatInterval(i: Interval | undefined): string {
  if (!i || !Number.isFinite(i.estimate)) return "–";
  return Number.isFinite(i.low) ? `${formatValue(i.estimate)} [${formatValue(i.low)}, ${formatValue(i.high)}]` : formatValue(i.estimate);
}

/** `+0.012 [+0.004, +0.020]`, in bold when the interval excludes 0. */
export function formatSignedInterval(i: Interval | undefined): string {
  if (!i || !Number.isFinite(i.estimate)) return "–";
  const signed = (v: number) => (v > 0 ? "+" : v < 0 ? "−" : "±") + formatValue(Math.abs(v));
  if (!Number.isFinite(i.low)) return signed(i.estimate);
  const text = `${signed(i.estimate)} [${signed(i.low)}, ${signed(i.high)}]`;
  return excludesZero(i) ? `**${text}**` : text;
}

/** `×1.25 [×1.02, ×1.61]` (with `mark` "×"): a ratio, in bold when the interval excludes 1. */
export function formatRatioInterval(i: Interval | undefined, mark: "×" | "" = "×"): string {
  if (!i || !Number.isFinite(i.estimate)) return "–";
  if (!Number.isFinite(i.low)) return `${mark}${formatValue(i.estimate)}`;
  const text = `${mark}${formatValue(i.estimate)} [${mark}${formatValue(i.low)}, ${mark}${formatValue(i.high)}]`;
  return i.low > 1 || i.high < 1 ? `**${text}**` : text;
}

/** A paired difference as {@link formatSignedInterval} writes it. */
export function formatDifference(d: CircuitDifference | undefined): string {
  return formatSignedInterval(d?.interval);
}

/** The paired difference `a - b` of one statistic, if the evaluation has it. */
export function differenceOf(c: CircuitEvalResult, a: string, b: string, statistic: CircuitDifference["statistic"]): CircuitDifference | undefined {
  return c.differences.find((d) => d.a === a && d.b === b && d.statistic === statistic);
}

/** Which way a supported difference goes for a statistic: CPR and Spearman up is better, CMD down. */
export function verdict(d: CircuitDifference | undefined): "better" | "worse" | "no difference" | "–" {
  if (!d || !Number.isFinite(d.interval.estimate)) return "–";
  if (!d.supported) return "no difference";
  const up = d.interval.estimate > 0;
  return (d.statistic === "cmd" ? !up : up) ? "better" : "worse";
}

const headlineLabels: Readonly<Record<string, string>> = {
  random: "random",
  eap: "EAP",
  "gim-eap": "GIM-EAP",
  "eap-ig": "EAP-IG",
  "gim-eap-ig": "GIM-EAP-IG",
  exact: "exact edge patching",
};

/** Circuits on MIB's graph with the held-out protocol: CPR, CMD and Spearman with intervals, GIM vs plain, the ablation grid and the TSG sweep. */
export function circuitSection(results: EvalResults, { p }: ReportWriter): void {
  const models = results.models.filter((m) => m.circuits);
  if (models.length === 0) return;
  const first = models[0]!.circuits!;
  const pct = Math.round(100 * first.level);
  p("## Circuits on MIB's graph, held out", "", "### Definitions", "");
  p(
    "- **Graph** (MIB's circuit track, as the EAP-IG code builds it): senders are the input embeddings, every attention head and every MLP; receivers are every head's **q, k and v input separately**, every MLP's input and the logits. Edges run from every sender to every receiver after it (110 edges for 2 layers of 4 heads, 262 for 3). Under grouped-query attention the k and v receivers are per query head, as the reference ungroups them. The model runs in the split q/k/v forward (every head reads its own copy of the residual stream), equal to the fused forward.",
    "- **Metric** M: logit[answer] − logit[wrong] at the last position, mean over pairs. IOI uses MIB's S2/IO-flip counterfactual: the second mention of S replaced by IO, answer IO, wrong S in every run (logit[IO] − logit[S]). Induction: the token after the earlier occurrence replaced by an unused symbol.",
    "- **Scores**: `score(u→v) = Σ (w_u(clean) − w_u(corrupted)) · ∂M/∂x_v`, with w_u the sender's write to the residual stream and x_v the receiver's input. **EAP**: the gradient once, at the clean run. **EAP-IG**: the gradient averaged over MIB's 5 points on the line from the corrupted to the clean input embeddings (k/5, k = 0..4, the reference's left Riemann sum). **GIM-**: the same with GIM's backward (norm freeze, TSG at T = 2, q/k 1/4 and v 1/2 gradient scales, gate/up 1/2 where the model has them). **exact edge patching**: `M(clean) − M(clean with that edge carrying the corrupted write)`, a forward per edge, used as a ranking too. **random**: standard normal scores, the curves averaged over 5 draws.",
    "- **Held-out protocol**: scores from one set of pairs, circuits evaluated on a disjoint set of as many (no clean prompt in both); both drawn from the held-out templates and names.",
    "- **Circuits** (MIB): for each p in MIB's grid {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1}, keep the top floor(p·E) edges (signed score for CPR, |score| for CMD), prune edges that cannot reach the logits or be reached from the input (as EAP-IG prunes), and let every other edge carry its corrupted-run write. `f(C) = (M(C) − M(∅)) / (M(full) − M(∅))`.",
    "- **CPR** ↑: area under f over p (signed ranking). **CMD** ↓: area of |1 − f| over p (|score| ranking). Trapezoids over p itself, as MIB computes them.",
    `- **Intervals**: ${pct}% percentile intervals from ${first.resamples} paired bootstrap resamples: of the evaluation pairs for CPR and CMD, of the scoring pairs for Spearman correlations with exact edge patching (the scores of each method recomputed on the resample). A difference between two methods is computed on the same resamples (paired); **bold** differences have intervals that exclude 0. The intervals cover the choice of pairs, not of the trained model or of the random baseline's draws.`,
    "",
  );

  // Headline across models: GIM vs plain, with intervals.
  const headRows: string[][] = [];
  for (const m of models) {
    const c = m.circuits!;
    for (const base of ["eap", "eap-ig"] as const) {
      const plain = c.methods.find((x) => x.name === base);
      const withGim = c.methods.find((x) => x.name === `gim-${base}`);
      if (!plain || !withGim) continue;
      headRows.push([
        `\`${m.name}\``,
        headlineLabels[base]!,
        `${formatValue(plain.cpr.estimate)} → ${formatValue(withGim.cpr.estimate)}`,
        formatDifference(differenceOf(c, `gim-${base}`, base, "cpr")),
        `${formatValue(plain.cmd.estimate)} → ${formatValue(withGim.cmd.estimate)}`,
        formatDifference(differenceOf(c, `gim-${base}`, base, "cmd")),
        `${formatValue(plain.spearman?.estimate ?? Number.NaN)} → ${formatValue(withGim.spearman?.estimate ?? Number.NaN)}`,
        formatDifference(differenceOf(c, `gim-${base}`, base, "spearman")),
      ]);
    }
  }
  p(
    "### Summary: GIM's backward vs the plain one",
    "",
    table(["model", "method", "CPR ↑", "Δ CPR", "CMD ↓", "Δ CMD", "Spearman with exact", "Δ Spearman"], headRows),
    "",
    `Δ is GIM − plain with its ${pct}% paired bootstrap interval; bold where the interval excludes 0 (for CMD lower is better).`,
    "",
  );

  for (const m of models) {
    const c = m.circuits!;
    p(`### \`${m.name}\``, "");
    p(
      `${c.scorePairs} scoring pairs, ${c.evalPairs} evaluation pairs; ${c.edges} edges, circuit sizes ${c.sizes.join(", ")}; on the evaluation pairs M(clean) = ${formatValue(c.metricClean)}, M(corrupted) = ${formatValue(c.metricCorrupted)}.`,
      "",
    );
    const headline = c.methods.filter((x) => x.group === "headline");
    p(
      table(
        ["ranking from", "CPR ↑", "CMD ↓", "Spearman with exact", "CPR − random", "CMD − random"],
        headline.map((x) => [
          headlineLabels[x.name] ?? x.name,
          formatInterval(x.cpr),
          formatInterval(x.cmd),
          formatInterval(x.spearman),
          x.name === "random" ? "–" : formatDifference(differenceOf(c, x.name, "random", "cpr")),
          x.name === "random" ? "–" : formatDifference(differenceOf(c, x.name, "random", "cmd")),
        ]),
      ),
      "",
    );
    p(
      "f per circuit size (signed ranking; columns are MIB's fractions p):",
      "",
      table(["ranking from", ...c.fractions.map((f) => `p = ${f}`)], headline.map((x) => [headlineLabels[x.name] ?? x.name, ...x.faithfulness.signed.map((v) => formatValue(v, 2))])),
      "",
    );
    for (const base of ["eap", "eap-ig"] as const) {
      const rows = (group: "ablation" | "sweep") => {
        const plain = c.methods.find((x) => x.name === base);
        const gimRow = c.methods.find((x) => x.name === `gim-${base}`);
        const list: CircuitMethodResult[] = group === "ablation" ? [gimRow!, ...c.methods.filter((x) => x.group === group && x.base === base)] : [...c.methods.filter((x) => x.group === group && x.base === base), gimRow!].sort((a, b) => (a.temperature ?? 2) - (b.temperature ?? 2));
        if (!plain || list.length <= 1 || list.some((x) => !x)) return [];
        return [
          [`plain ${headlineLabels[base]}`, formatInterval(plain.cpr), "–", formatInterval(plain.cmd), "–", formatInterval(plain.spearman), "–"],
          ...list.map((x) => [
            group === "sweep" ? `GIM, T = ${x.temperature ?? 2}` : x.variant === "gim" ? "GIM (all parts)" : x.variant,
            formatInterval(x.cpr),
            formatDifference(differenceOf(c, x.name, base, "cpr")),
            formatInterval(x.cmd),
            formatDifference(differenceOf(c, x.name, base, "cmd")),
            formatInterval(x.spearman),
            formatDifference(differenceOf(c, x.name, base, "spearman")),
          ]),
        ];
      };
      const header = ["backward", "CPR ↑", "Δ CPR vs plain", "CMD ↓", "Δ CMD vs plain", "Spearman with exact", "Δ Spearman vs plain"];
      const ablation = rows("ablation");
      if (ablation.length) p(`Ablation grid, ${headlineLabels[base]} (each part of GIM alone, and GIM minus one part):`, "", table(header, ablation), "");
      const sweep = rows("sweep");
      if (sweep.length) p(`TSG temperature sweep, GIM-${headlineLabels[base]} (every other part of GIM on; T = 1 is GIM without TSG):`, "", table(header, sweep), "");
    }
    const gateUp = c.methods.some((x) => x.variant.startsWith("gate/up") && x.base === "eap");
    if (gateUp && m.architecture.startsWith("gpt2")) p("GPT-2 has no gated MLP: *gate/up scale only* is the plain gradient and *GIM − gate/up scale* is GIM, exactly.", "");
  }
}
