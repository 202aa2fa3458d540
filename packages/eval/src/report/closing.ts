import { formatDuration } from "@gim/report";
import type { EvalResults } from "../run.js";
import { table } from "./format.js";
import { discussionMarkers } from "./meta.js";
import type { ReportWriter } from "./writer.js";

/** The hand-written discussion (kept across regenerations) and how to reproduce the report. */
export function closingSections(results: EvalResults, { p, meta }: ReportWriter): void {
  p("## Discussion", "", discussionMarkers.start, meta.discussion?.trim() || "_Not written yet: read the numbers above and write it here (this section is kept when the report is regenerated)._", discussionMarkers.end, "");

  p("## Reproducing", "", "```sh", ...meta.commands, "```", "");
  p(
    `- Machine: ${meta.machine.cpu}, ${meta.machine.cores} logical cores (nproc), Node ${meta.machine.node}, ${meta.machine.platform}.`,
    `- Date: ${meta.date}. Random baseline seed: ${results.seed}. Integrated gradients: ${results.igSteps} steps.`,
    `- Wall-clock time: ${formatDuration(results.seconds)} in total.`,
    "",
    table(
      ["model", "token attributions", "components", "circuits (held out)", "self-repair", "self-repair protocol"],
      results.models.map((m) => [
        `\`${m.name}\``,
        formatDuration(m.seconds.tokens),
        m.components ? formatDuration(m.seconds.components) : "–",
        m.circuits ? formatDuration(m.seconds.circuits) : "–",
        m.selfRepair ? formatDuration(m.seconds.selfRepair) : "–",
        m.protocol && m.seconds.protocol !== undefined ? formatDuration(m.seconds.protocol) : "–",
      ]),
    ),
    "",
  );
}
