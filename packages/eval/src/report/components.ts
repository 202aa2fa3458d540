import { lineChartSvg, type LineSeries } from "@gim/report";
import type { CurveSummary, LevelResult } from "../componentEval.js";
import type { EvalResults } from "../run.js";
import { formatValue, table, slug, methodColor } from "./format.js";
import type { ReportWriter } from "./writer.js";

/** Components: attribution patching against exact activation patching, and circuit faithfulness. */
export function componentSection(results: EvalResults, { p, plot }: ReportWriter): void {
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
}

function smallestK(c: CurveSummary): string {
  const i = c.faithfulness.findIndex((f) => f >= 0.9);
  return i < 0 ? "–" : `${c.ks[i]} of ${c.total}`;
}
