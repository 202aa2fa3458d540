/** Where and how a report was made, its plots, and the hand-written discussion it keeps. */

/** Where and how the evaluation ran. */
export interface ReportMeta {
  /** ISO date and time of the run. */
  readonly date: string;
  readonly machine: {
    /** CPU model (from /proc/cpuinfo). */
    readonly cpu: string;
    /** Logical cores (nproc). */
    readonly cores: number;
    /** Node version (`v20.20.2`). */
    readonly node: string;
    /** `linux x64`. */
    readonly platform: string;
  };
  /** The exact commands that produced the report, in order. */
  readonly commands: readonly string[];
  /** The folder of the plots, relative to the report (`plots`). */
  readonly plotDir: string;
  /** The discussion to keep (see {@link extractDiscussion}). */
  readonly discussion?: string;
}

/** A generated plot: its file name (inside the plot folder) and SVG text. */
export interface ReportPlot {
  readonly file: string;
  readonly svg: string;
}

/** The start and end markers of the hand-written discussion. */
export const discussionMarkers = { start: "<!-- discussion:start -->", end: "<!-- discussion:end -->" } as const;

/** The hand-written discussion of an existing report (between the markers), or undefined. */
export function extractDiscussion(markdown: string): string | undefined {
  const start = markdown.indexOf(discussionMarkers.start);
  const end = markdown.indexOf(discussionMarkers.end);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start + discussionMarkers.start.length, end).trim();
}
