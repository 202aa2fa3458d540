/**
 * The markdown report of `gim eval` (`docs/results.md`) and its SVG plots, from the results
 * of `runEval`: one function per section, in {@link reportSections}' order. Everything but the
 * discussion is generated; the discussion, written by a person after reading the numbers, sits
 * between two markers and is carried over from the previous report when the report is
 * regenerated.
 */
import type { EvalResults, ModelEvalResult, ProtocolResults } from "../run.js";
import { circuitSection } from "./circuits.js";
import { closingSections } from "./closing.js";
import { componentSection } from "./components.js";
import { slug } from "./format.js";
import { headlineSection } from "./headline.js";
import { introSection } from "./intro.js";
import type { ReportMeta, ReportPlot } from "./meta.js";
import { modelsSection } from "./models.js";
import { protocolPlotFiles, protocolSection } from "./protocol.js";
import { selfRepairSection } from "./selfRepair.js";
import { tokenSection } from "./tokens.js";
import type { ReportWriter } from "./writer.js";

export { discussionMarkers, extractDiscussion, type ReportMeta, type ReportPlot } from "./meta.js";
export { formatValue, methodLabels } from "./format.js";
export { formatInterval, formatDifference, formatRatioInterval, formatSignedInterval, differenceOf, verdict } from "./circuits.js";
export { replaceSelfRepairSection, selfRepairMarkers, selfRepairSection, type SelfRepairOfModel } from "./selfRepair.js";
export { provenanceLines, replaceMarkedSection, type SectionMarkers, type SectionPlace, type SectionProvenance } from "./sections.js";
export { formatShare, protocolMarkers, protocolPlotFiles, protocolPlots, protocolSection, protocolShareGoal, replaceProtocolSection, type ProtocolOfModel } from "./protocol.js";
export type { ReportWriter } from "./writer.js";

/** A section of the report: it appends its markdown (and plots) for the results. */
export type ReportSection = (results: EvalResults, out: ReportWriter) => void;

/** The sections of the report, in order. */
export const reportSections: readonly ReportSection[] = [
  introSection,
  modelsSection,
  headlineSection,
  tokenSection,
  componentSection,
  circuitSection,
  (results, out) => selfRepairSection(results, out),
  (results, out) => protocolSection(results, out),
  closingSections,
];

/** The report's markdown and plots. */
export function renderReport(results: EvalResults, meta: ReportMeta): { markdown: string; plots: ReportPlot[] } {
  const { lines, plots, p, plot } = collect(meta.plotDir);
  const out: ReportWriter = { p, plot, meta };
  for (const section of reportSections) section(results, out);
  return { markdown: lines.join("\n"), plots };
}

/** A writer's `p` and `plot` that collect the lines and plots (plots linked under `plotDir`). */
function collect(plotDir: string): { lines: string[]; plots: ReportPlot[] } & Pick<ReportWriter, "p" | "plot"> {
  const lines: string[] = [];
  const plots: ReportPlot[] = [];
  return {
    lines,
    plots,
    p: (...more) => void lines.push(...more),
    plot: (file, svg) => {
      plots.push({ file, svg });
      return `${plotDir}/${file}`;
    },
  };
}

/** The report's sections that can be made on their own from {@link ProtocolResults}. */
export type SectionAlone = "self-repair" | "protocol";

/**
 * One section alone (for {@link replaceSelfRepairSection} or {@link replaceProtocolSection}),
 * saying how it was made, and its plots; empty when no model has its results.
 */
export function renderSection(section: SectionAlone, results: ProtocolResults, meta: Pick<ReportMeta, "date" | "machine" | "commands" | "plotDir">): { markdown: string; plots: ReportPlot[] } {
  const { lines, plots, ...out } = collect(meta.plotDir);
  const machine = `${meta.machine.cpu}, ${meta.machine.cores} cores, Node ${meta.machine.node}`;
  const provenance = { date: meta.date, machine, commands: meta.commands, seconds: results.seconds };
  if (section === "self-repair") selfRepairSection(results, out, provenance);
  else protocolSection(results, out, provenance);
  return { markdown: lines.join("\n"), plots };
}

/** Results as JSON text: NaN and infinities become null; Maps become objects. */
export function resultsJson(results: EvalResults | ProtocolResults): string {
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
  return [...files, ...protocolPlotFiles(model)];
}
