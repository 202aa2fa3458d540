/** What the sections of the report write into. */
import type { ReportMeta } from "./meta.js";

/** Markdown lines and plots as a section adds them. */
export interface ReportWriter {
  /** Appends markdown lines. */
  p(...lines: string[]): void;
  /** Adds a plot (`file` inside the plot folder) and returns its link from the report. */
  plot(file: string, svg: string): string;
  readonly meta: ReportMeta;
}
