import type { Interval } from "@gim/rules";
import { palette, scatterChartSvg, type ScatterSeries } from "@gim/report";
import { formatDuration } from "@gim/report";
import type { ProtocolResults } from "../run.js";
import type { ProtocolEvalResult, ProtocolPoint } from "../selfRepairProtocolEval.js";
import { formatInterval, formatRatioInterval, formatSignedInterval } from "./circuits.js";
import { formatValue, percent, slug, table } from "./format.js";
import { provenanceLines, replaceMarkedSection, type SectionProvenance } from "./sections.js";
import type { ReportWriter } from "./writer.js";

/** The share of measured rows the issue asks for on the larger models. */
export const protocolShareGoal = 0.05;

/** `0.12% [0.05%, 0.20%]`: a share with its interval, as percentages. */
export function formatShare(i: Interval): string {
  if (!Number.isFinite(i.estimate)) return "–";
  // One number of decimals for the three values: enough to show the largest of them.
  const top = Math.max(Math.abs(i.estimate), Number.isFinite(i.high) ? Math.abs(i.high) : 0);
  const digits = top >= 0.01 || top === 0 ? 1 : top >= 0.001 ? 2 : 3;
  const pct = (v: number) => `${(100 * v).toFixed(digits)}%`;
  return Number.isFinite(i.low) ? `${pct(i.estimate)} [${pct(i.low)}, ${pct(i.high)}]` : pct(i.estimate);
}

/** The section's heading (also how {@link replaceProtocolSection} finds a copy without markers). */
const PROTOCOL_HEADING = "## The GIM paper's self-repair protocol, and circuit error";

/** The markers around the protocol's section, so that `gim eval --only-protocol` can replace it alone. */
export const protocolMarkers = { start: "<!-- self-repair-protocol:start -->", end: "<!-- self-repair-protocol:end -->" } as const;

/** What the section reads of a model's results (a full evaluation's or {@link ProtocolResults}'). */
export interface ProtocolOfModel {
  readonly name: string;
  readonly protocol?: ProtocolEvalResult;
}

/** The two plot files of a model's protocol (only when it measured rows). */
export function protocolPlotFiles(model: ProtocolOfModel): string[] {
  if (!model.protocol || model.protocol.measured === 0) return [];
  return [`self-repair-protocol-${slug(model.name)}-ablation.svg`, `self-repair-protocol-${slug(model.name)}-tsg.svg`];
}

/** The reference's two scatter plots of one model: joint vs summed single ablation effects, and TSG vs plain on the top-2 keys. */
export function protocolPlots(name: string, p: ProtocolEvalResult): { ablation: string; tsg: string } {
  const groups = (get: (r: ProtocolPoint) => readonly [number, number]): ScatterSeries[] => [
    { label: "other measured rows", color: palette[0]!, points: p.points.filter((r) => !r.high).map(get), radius: 2.5 },
    { label: `top ${Math.round(100 * p.top)}% interaction`, color: palette[1]!, points: p.points.filter((r) => r.high).map(get), radius: 3.5 },
  ];
  const ablation = scatterChartSvg({
    title: `${name}: joint vs single ablations (linearised, c > ${p.threshold})`,
    xLabel: "sum of the single ablation effects, E(j1) + E(j2)",
    yLabel: "joint ablation effect, E(j1, j2)",
    diagonal: true,
    series: groups((r) => [r.linearised.first + r.linearised.second, r.linearised.both]),
  });
  const tsg = scatterChartSvg({
    title: `${name}: TSG (T = ${p.temperature}) vs plain gradient, top-2 scores`,
    xLabel: "plain softmax backward, summed over j1, j2",
    yLabel: `TSG backward (T = ${p.temperature}), summed over j1, j2`,
    diagonal: true,
    series: groups((r) => [r.gradientSum, r.tsgSum]),
  });
  return { ablation, tsg };
}

/**
 * The GIM paper's self-repair protocol and its link to circuit error (issue 11), between
 * {@link protocolMarkers}; with `provenance` (a section made on its own) it says how it was made.
 */
export function protocolSection(results: { readonly models: readonly ProtocolOfModel[] }, { p, plot }: Pick<ReportWriter, "p" | "plot">, provenance?: SectionProvenance): void {
  const models = results.models.filter((m) => m.protocol);
  if (models.length === 0) return;
  const first = models[0]!.protocol!;
  p(protocolMarkers.start, PROTOCOL_HEADING, "");
  if (provenance) p(...provenanceLines(provenance, formatDuration));
  p("### Definitions", "");
  p(
    "The protocol of the GIM paper's experiment code (JoakimEdin/gim, `src/evaluation/evaluate_self_repair.py`, read at commit 38c8472; implemented in `@gim/rules`' `selfRepairProtocol`), on each model's held-out examples:",
    "",
    "- **Rows**: every layer, head and query position of every example. With A the attention pattern, s the scores and `g_k = dL/dA[q,k]` from one plain backward of L, the target logit at the last position, the per-key contribution is `c_k = A[q,k] · g_k` (Σ_k c_k is the linearised head-output change the row carries).",
    `- **Measured rows** (the criterion): at least two keys with c_k > C, C = ${first.threshold} logit unit${first.threshold === 1 ? "" : "s"} (the reference's \`sum(dl_ds_s > 1) > 1\`). Their top-2 keys j1, j2 by c.`,
    "- **Ablation** of a set S ⊆ {j1, j2}: the scores of S set to the row's mean finite score over the keys the query sees. The **linearised** effect (the reference's) keeps g fixed and recomputes only that row's softmax: `E(S) = Σ_k (A_k - A'_k) g_k`. The **exact** effect is `f(x) - f(x with the row's scores patched)` from a forward pass (ours, added to check the linearisation).",
    "- **Interaction** `= (E(j1, j2) - E(j1) - E(j2)) / E(j1, j2)` (0 when the joint effect is 0): near 1 when the keys compensate for each other (each alone does little, both a lot). The **high-interaction rows** are those above the pooled 0.95 quantile of the interaction (linear interpolation, as torch.quantile), selected on the linearised effects as the reference does.",
    `- **Plot (b)**: for the two keys, the plain softmax backward \`A (g - A·g)\` and TSG's \`softmax(s/T) (g - softmax(s/T)·g)\` at T = ${first.temperature}, summed over j1 and j2 (the reference's \`grad_vs_tsg\` plot).`,
    "- **Link to circuit error**: the q/k edges of MIB's graph (the circuit section's graph) into the heads that hold high-interaction rows, against the other q/k edges. For each method m (EAP with the plain gradient, with TSG alone at T = 2, with GIM) the pooled ratio `R_m(group) = Σ_e |EAP_m,e| / Σ_e |exact_e|` (edge scores: means over the circuit section's scoring pairs; exact = exact edge patching), its gap `D_m = R_m(high) - R_m(other)`, and the difference in differences `DiD_m = D_m - D_plain`; since D and DiD grow with a method's scale (GIM's scores are smaller than plain EAP's), also the scale-free ratio of ratios `Q_m = R_m(high) / R_m(other)` (1: the high edges misjudged no more and no less than the others) and `Q_m / Q_plain` (a method that moves Q toward 1 closes the gap whatever its scale); all with 95% paired percentile bootstrap intervals over the scoring pairs (every method and the exact scores on the same resampled pairs). Heads are chosen on the protocol's examples, ratios measured on the scoring pairs; the table says how many scoring pairs are also protocol examples.",
    "- **Intervals over examples** (the share of measured rows, the median interaction, the superadditive share) resample whole examples (2000 resamples, 95% percentile intervals): the rows of one example are not independent.",
    "",
    "**How this differs from the measurement in the section above.** Both ablate two keys of one attention row, alone and together. The section above picks rows and keys by **weight** (the two heaviest keys, both with weight ≥ the minimum), ablates by **masking** (weight 0, the rest renormalised), measures **exact** effects only, and calls a row self-repair by **absolute** criteria (the pair matters, ≥ 5% of |f(x)|, while the single effects add up to at most half of the joint one). The protocol picks rows and keys by **contribution** c = A·g, ablates to the row's **mean score** (the key keeps some weight), uses the **linearised** effect, and ranks rows by a **relative** interaction whose top 5% always holds 5% of the measured rows, whether or not any of them compensate. So the first counts rows that show self-repair; the second counts rows where two keys both carry more than C of the output, and orders them by how non-additive the pair is.",
    "",
  );
  p(
    `Rows meeting the criterion (two keys with c > C), per model; the issue asks for at least ${percent(protocolShareGoal)} of measured rows on the larger models:`,
    "",
    table(
      ["model", "examples", "rows looked at", "rows with one key c > C", "rows measured (two keys)", "share measured [95% CI]", `≥ ${percent(protocolShareGoal)}?`],
      models.map((m) => {
        const x = m.protocol!;
        return [`\`${m.name}\``, String(x.examples), String(x.rowCount), String(x.rowsWithKeyAbove), String(x.measured), formatShare(x.share), x.share.estimate >= protocolShareGoal ? "yes" : "no"];
      }),
    ),
    "",
  );
  const thresholds = [...new Set(models.flatMap((m) => m.protocol!.sensitivity.map((x) => x.threshold)))];
  if (thresholds.length > 0) {
    p(
      "The same count at other thresholds C (logit units; only the count of rows is measured at these, nothing else in this section). The reference's C = 1 was set for LLMs whose logits and per-key contributions are on another scale than these small models':",
      "",
      table(
        ["model", ...thresholds.map((t) => `C = ${t}: rows measured, share [95% CI]`)],
        models.map((m) => [
          `\`${m.name}\``,
          ...thresholds.map((t) => {
            const x = m.protocol!.sensitivity.find((y) => y.threshold === t);
            return x ? `${x.measured}, ${formatShare(x.share)}` : "–";
          }),
        ]),
      ),
      "",
    );
  }
  const withRows = models.filter((m) => m.protocol!.measured > 0);
  if (withRows.length > 0) {
    p(
      `The top-${Math.round(100 * first.top)}% interaction rows. *q95*: the quantile the rows must exceed; *superadditive*: share of measured rows whose joint effect exceeds the sum of the single ones (interaction > 0, joint > 0); *in both*: high-interaction rows by the linearised effects that are also high by the exact ones:`,
      "",
      table(
        ["model", "effects", "rows measured", "q95", "rows above", "mean interaction above", "median interaction [95% CI]", "superadditive [95% CI]", "in both", "above, by layer", "heads (rows)"],
        withRows.flatMap((m) => {
          const x = m.protocol!;
          const row = (effects: "linearised" | "exact") => {
            const s = x[effects]!;
            return [
              `\`${m.name}\``,
              effects,
              String(x.measured),
              formatValue(s.quantile),
              String(s.highRows),
              formatValue(s.meanHighInteraction),
              formatInterval(s.medianInteraction),
              formatShare(s.superadditive),
              effects === "exact" && x.highInBoth !== undefined ? String(x.highInBoth) : "",
              effects === "linearised" ? x.highByLayer.map((n, l) => `L${l}: ${n}`).join(", ") : "",
              effects === "linearised" ? x.highHeads.map((h) => `${h.layer}.${h.head} (${h.rows})`).join(", ") : "",
            ];
          };
          return x.exact ? [row("linearised"), row("exact")] : [row("linearised")];
        }),
      ),
      "",
    );
  }
  const linked = models.filter((m) => m.protocol!.link);
  p("The link to circuit error: |EAP| / |exact| on q/k edges into the high-interaction heads vs the other q/k edges (bold: the interval excludes 0, or 1 for the ratios Q and Q / Q(plain); DiD > 0 means the method's ratio rises more on the high-interaction heads than plain EAP's does):", "");
  if (linked.length > 0) {
    p(
      table(
        ["model", "heads", "q/k edges high / other", "scoring pairs (shared)", "method", "R(high)", "R(other)", "gap R(high) − R(other)", "DiD vs plain", "Q = R(high) / R(other)", "Q / Q(plain)"],
        linked.flatMap((m) => {
          const l = m.protocol!.link!;
          return Object.entries(l.methods).map(([name, x]) => [
            `\`${m.name}\``,
            l.heads.map((h) => `${h.layer}.${h.head}`).join(", "),
            `${l.highEdges} / ${l.otherEdges}`,
            `${l.prompts} (${l.sharedPrompts})`,
            name === "plain" ? "EAP (plain)" : name === "tsg" ? "EAP, TSG alone (T = 2)" : name === "gim" ? "EAP, GIM" : name,
            formatInterval(x.high),
            formatInterval(x.other),
            formatSignedInterval(x.gap),
            name === l.baseline ? "(baseline)" : formatSignedInterval(x.differenceInDifferences),
            formatRatioInterval(x.ratioOfRatios, ""),
            name === l.baseline ? "(baseline)" : formatRatioInterval(x.ratioOfRatiosVsBaseline),
          ]);
        }),
      ),
      "",
    );
  }
  const unlinked = models.filter((m) => !m.protocol!.link);
  if (unlinked.length > 0) p(...unlinked.map((m) => `- \`${m.name}\`: no link measured (${m.protocol!.linkNote ?? "not asked for"}).`), "");
  for (const m of withRows) {
    const { ablation, tsg } = protocolPlots(m.name, m.protocol!);
    const [fa, ft] = protocolPlotFiles(m);
    p(`![${m.name}: joint vs summed single ablation effects](${plot(fa!, ablation)}) ![${m.name}: TSG vs plain gradient on the top-2 scores](${plot(ft!, tsg)})`, "");
  }
  p(protocolMarkers.end, "");
}

/**
 * `markdown` with its protocol section (between {@link protocolMarkers}, or an unmarked one
 * under its heading, up to the next section) replaced by `section`, or `section` put before the
 * discussion when it has none (at the end without a discussion).
 */
export function replaceProtocolSection(markdown: string, section: string): string {
  return replaceMarkedSection(markdown, protocolMarkers, section, { heading: PROTOCOL_HEADING });
}
