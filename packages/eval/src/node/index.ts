/**
 * `@gim/eval/node`: what the evaluation needs from the machine it runs on: a description of
 * the machine for the report, and writing the report and its plots to disk.
 *
 * @packageDocumentation
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { InputError } from "@gim/tensor";
import { extractDiscussion, renderReport, renderSection, replaceProtocolSection, replaceSelfRepairSection, type ReportMeta, type SectionAlone } from "../report/index.js";
import type { EvalResults, ProtocolResults } from "../run.js";

/** The machine, from /proc/cpuinfo and Node. */
export function machineInfo(): ReportMeta["machine"] {
  let cpu = os.cpus()[0]?.model ?? "unknown CPU";
  try {
    const line = fs
      .readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line) cpu = line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // Not Linux: keep Node's name for it.
  }
  return { cpu, cores: os.availableParallelism(), node: process.version, platform: `${os.platform()} ${os.arch()}` };
}

/**
 * Writes the report to `file` and its plots to `plots/` next to it, keeping the hand-written
 * discussion of the report already there. Returns the plot folder and how many plots it wrote.
 */
export function writeReport(file: string, results: EvalResults, meta: Omit<ReportMeta, "discussion" | "plotDir">): { plotDir: string; plots: number } {
  const previous = fs.existsSync(file) ? extractDiscussion(fs.readFileSync(file, "utf8")) : undefined;
  const { markdown, plots } = renderReport(results, { ...meta, plotDir: "plots", ...(previous !== undefined ? { discussion: previous } : {}) });
  const plotDir = nodePath.join(nodePath.dirname(file), "plots");
  fs.mkdirSync(plotDir, { recursive: true });
  for (const p of plots) fs.writeFileSync(nodePath.join(plotDir, p.file), p.svg);
  fs.writeFileSync(file, markdown);
  return { plotDir, plots: plots.length };
}

/**
 * Replaces sections of the report in `file` (which must exist) with ones made from `results`
 * (`self-repair` and/or `protocol`, see `renderSection`), and writes their plots to `plots/`
 * next to it; the rest of the report is kept as it is. Everything is rendered before anything
 * is written, so a section without results leaves the report untouched. Returns the plot
 * folder and how many plots it wrote.
 */
export function updateSections(sections: readonly SectionAlone[], file: string, results: ProtocolResults, meta: Omit<ReportMeta, "discussion" | "plotDir">): { plotDir: string; plots: number } {
  const flags = sections.map((x) => `--only-${x}`).join(" and ");
  if (!fs.existsSync(file)) throw new InputError(`${file} does not exist: ${flags} replace${sections.length === 1 ? "s" : ""} sections of an existing report (make one with gim eval --report first)`);
  const rendered = sections.map((section) => ({ section, ...renderSection(section, results, { ...meta, plotDir: "plots" }) }));
  const empty = rendered.find((r) => r.markdown === "");
  if (empty) throw new InputError(`no model has ${empty.section === "protocol" ? "protocol" : "self-repair"} results to write into ${file}`);
  let markdown = fs.readFileSync(file, "utf8");
  for (const r of rendered) markdown = (r.section === "protocol" ? replaceProtocolSection : replaceSelfRepairSection)(markdown, r.markdown);
  const plots = rendered.flatMap((r) => r.plots);
  const plotDir = nodePath.join(nodePath.dirname(file), "plots");
  fs.mkdirSync(plotDir, { recursive: true });
  for (const p of plots) fs.writeFileSync(nodePath.join(plotDir, p.file), p.svg);
  fs.writeFileSync(file, markdown);
  return { plotDir, plots: plots.length };
}
