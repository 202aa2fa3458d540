import { lineChartSvg } from "@gim/report";
import type { EvalResults } from "../run.js";
import { methodLabels, formatValue, formatStat, formatSigned, percent, table, boldBest, slug, methodColor } from "./format.js";
import type { ReportWriter } from "./writer.js";

/** Token attributions: definitions, then per model the table and the comprehensiveness and sufficiency curves. */
export function tokenSection(results: EvalResults, { p, plot }: ReportWriter): void {
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
}
