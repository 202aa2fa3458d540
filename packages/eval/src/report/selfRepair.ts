import { formatDuration } from "@gim/report";
import type { RowGroupSummary, SelfRepairResult } from "../selfRepairEval.js";
import { formatShare, protocolMarkers, protocolShareGoal } from "./protocol.js";
import { formatValue, formatStat, percent, table } from "./format.js";
import { provenanceLines, replaceMarkedSection, type SectionProvenance } from "./sections.js";
import type { ReportWriter } from "./writer.js";

/** The markers around the self-repair section, so that `gim eval --only-self-repair` can replace it alone. */
export const selfRepairMarkers = { start: "<!-- self-repair:start -->", end: "<!-- self-repair:end -->" } as const;

/** The section's heading (also how {@link replaceSelfRepairSection} finds a copy from before the markers). */
const SELF_REPAIR_HEADING = "## Attention self-repair";

/** What the section reads of a model's results (a full evaluation's or `runProtocol`'s). */
export interface SelfRepairOfModel {
  readonly name: string;
  readonly selfRepair?: SelfRepairResult;
}

/**
 * Attention self-repair: the rows where two keys compensate for each other, and how each
 * method sees them, between {@link selfRepairMarkers}; with `provenance` (a section made on its
 * own) it says how it was made.
 */
export function selfRepairSection(results: { readonly models: readonly SelfRepairOfModel[] }, { p }: Pick<ReportWriter, "p">, provenance?: SectionProvenance): void {
  if (results.models.some((m) => m.selfRepair)) {
    const first = results.models.find((m) => m.selfRepair)!.selfRepair!;
    p(selfRepairMarkers.start, SELF_REPAIR_HEADING, "");
    if (provenance) p(...provenanceLines(provenance, formatDuration));
    p("### Definitions", "");
    p(
      "[GIM.md](GIM.md)'s reason for TSG: when several keys with large weight carry similar values, the softmax Jacobian term nearly cancels, so the scores that matter get almost no gradient. Measured here, on each model's held-out examples:",
      "",
      `- **Rows**: every attention row (layer, head, query position q ≥ 2) whose two heaviest keys j1, j2 both hold weight ≥ ${first.minWeight}; in the last layer only the row at the last position (nothing reads the others, so they cannot change f).`,
      "- **Masking** a set S of keys in one row: the row becomes the softmax over the remaining keys (zero their weights and renormalise), in that row of that head only; everything downstream recomputes. `E(S) = f(x) - f(x with S masked)`, f the target logit (as above).",
      `- **The pair matters** when E({j1, j2}) ≥ ${first.criteria.minJointEffect} · |f(x)|. **Self-repair** when, in addition, |E({j1})| + |E({j2})| ≤ ${first.criteria.maxAloneShare} · E({j1, j2}): each key alone is compensated by the other (absolute values, so that a helping and a hurting key do not pass by cancelling). Rows that matter but are not self-repair are the *additive* control group.`,
      "- **What a method says**: `g_j`, the method's gradient of f at the pre-softmax attention score of key j in that row (the `attn.scores` place), with its backward rules: plain gradient, TSG alone (T = 2), GIM. For the plain gradient, `Ê(S) = Σ_{j∈S} g_j / (1 - Σ_{j∈S} p_j)` is exactly the first-order estimate of E(S); the same formula is applied to the TSG and GIM gradients. Ranks are among the row's keys by g (largest first, 1 = top).",
      "- **Two views of the gradient.** The raw score gradient `g_j` is what flows on to the tokens and components upstream of the scores; when the two keys compensate for each other (weights p_j1 + p_j2 = P near 1, similar values) it is proportional to 1 - P and nearly vanishes: that is the self-repair GIM.md describes. The estimate `Ê` divides by 1 - P again, so for the plain gradient it recovers the first-order effect of masking, which is exact in the limit of small changes.",
      "- **Columns**: mean ranks of j1 and j2 by raw g; the share of rows where the two keys are the method's top two; the median of the pair's signed share of the row's gradient, `(g_j1 + g_j2) / Σ_k |g_k|` (scale-free, in [-1, 1]); the median of `(g_j1 + g_j2) / E({j1, j2})` (raw gradient per unit of joint effect); the median of `Ê({j1, j2}) / E({j1, j2})` (1 = the first-order estimate sees the whole joint effect) and of `(Ê({j1}) + Ê({j2})) / E({j1, j2})`; over every measured row, the Spearman correlation with E({j1, j2}) of `g_j1 + g_j2` and of `Ê({j1, j2})`.",
      "- **Answered**: the share of the examples whose most likely next token (over the whole vocabulary) is the target.",
      "- **Shares**: self-repair rows over the rows measured and over the rows where the pair matters, pooled over examples, with 95% percentile bootstrap intervals that resample whole examples (the rows of one example are not independent).",
      "- **Visibility** of a method: its median `(g_j1 + g_j2) / E({j1, j2})` over the self-repair rows divided by the same over the additive rows. Near 1: the gradient credits a pair's joint effect alike whether or not the keys compensate for each other; near 0: self-repair hides the pair from it. This compares a method with itself, so the different scales of the methods (TSG has no 1/T factor) do not matter.",
      "",
    );
    p(
      `Issue 11 asks that at least ${percent(protocolShareGoal)} of the measured rows show self-repair on the larger models:`,
      "",
      table(
        ["model", "examples", "answered", "rows measured", "pair matters", "self-repair rows", "of measured [95% CI]", `≥ ${percent(protocolShareGoal)}?`, "of pair matters [95% CI]", "by layer", "E(j1) / f(x)", "E(j2) / f(x)", "E(j1, j2) / f(x)"],
        results.models.flatMap((m) => {
          const s = m.selfRepair;
          if (!s) return [];
          return [
            [
              `\`${m.name}\``,
              String(s.examples),
              percent(s.answered),
              String(s.rowsMeasured),
              String(s.rowsThatMatter),
              String(s.selfRepair.rows),
              formatShare(s.shareOfMeasured),
              s.shareOfMeasured.estimate >= protocolShareGoal ? "yes" : "no",
              formatShare(s.shareOfMatter),
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
    p(selfRepairMarkers.end, "");
  }
}

/**
 * `markdown` with its self-repair section (between {@link selfRepairMarkers}, or an unmarked
 * one from before the markers, up to the next section) replaced by `section`; without one,
 * `section` goes before the protocol's section, else before the discussion, else at the end.
 */
export function replaceSelfRepairSection(markdown: string, section: string): string {
  return replaceMarkedSection(markdown, selfRepairMarkers, section, { before: [protocolMarkers.start], heading: SELF_REPAIR_HEADING });
}
