import type { EvalResults } from "../run.js";
import { formatValue, table } from "./format.js";
import type { ReportWriter } from "./writer.js";

/** The models and their held-out data. */
export function modelsSection(results: EvalResults, { p }: ReportWriter): void {
  p("## Models and data", "");
  p(
    table(
      ["model", "architecture", "token examples", "f(x) mean", "argmax = answer", "rankable tokens n", "pairs", "circuit pairs (score / evaluate)", "self-repair examples"],
      results.models.map((m) => [
        `\`${m.name}\``,
        m.architecture,
        String(m.tokens.examples),
        formatValue(m.tokens.meanLogit, 2),
        `${m.tokens.argmaxIsTarget}/${m.tokens.examples}`,
        m.tokens.rankable.min === m.tokens.rankable.max ? String(m.tokens.rankable.min) : `${m.tokens.rankable.min}–${m.tokens.rankable.max}`,
        m.components ? String(m.components.pairs) : "–",
        m.circuits ? `${m.circuits.scorePairs} / ${m.circuits.evalPairs}` : "–",
        m.selfRepair ? String(m.selfRepair.examples) : "–",
      ]),
    ),
    "",
  );
  for (const m of results.models) p(`- \`${m.name}\`: ${m.description} Baseline token: ${m.baseline}. Corrupted prompts: ${m.pairDescription}`);
  p("");
}
