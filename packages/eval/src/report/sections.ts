/**
 * Sections of the report that `gim eval` can regenerate on their own (`--only-self-repair`,
 * `--only-protocol`): each sits between two markers, says how it was made when made alone, and
 * is swapped into an existing report without touching the rest.
 */
import { InputError } from "@gim/tensor";

/** The HTML comments around a section that can be regenerated on its own. */
export interface SectionMarkers {
  readonly start: string;
  readonly end: string;
}

/** How a section made on its own came about, written under its heading. */
export interface SectionProvenance {
  readonly date: string;
  readonly machine: string;
  readonly commands: readonly string[];
  readonly seconds: number;
}

/** The lines saying a section was regenerated on its own, when, where and by which commands. */
export function provenanceLines(provenance: SectionProvenance, duration: (seconds: number) => string): string[] {
  return [
    `*This section was regenerated on its own (${provenance.date}, ${provenance.machine}, ${duration(provenance.seconds)}) by the commands below; the rest of the report is from the run under [Reproducing](#reproducing), and its models may differ.*`,
    "",
    "```sh",
    ...provenance.commands,
    "```",
    "",
  ];
}

/** Where {@link replaceMarkedSection} puts a section the report does not hold yet, and how it finds an unmarked old one. */
export interface SectionPlace {
  /** Text that starts a later part (another section's start marker): the section goes before the first found. */
  readonly before?: readonly string[];
  /** The section's heading (`## Attention self-repair`), to find a copy written before the markers existed. */
  readonly heading?: string;
}

/**
 * `markdown` with the section between `markers` replaced by `section`. A report without those
 * markers may hold the section from before they existed, under `place.heading`: that copy is
 * replaced, up to the next `## ` heading or the first of `place.before`. Otherwise `section`
 * goes before the first of `place.before` found, else before the discussion, else at the end.
 * Throws when only one of the markers is there (a hand edit broke them: mend it first).
 */
export function replaceMarkedSection(markdown: string, markers: SectionMarkers, section: string, place: SectionPlace = {}): string {
  const block = section.replace(/\n*$/, "\n\n");
  const start = markdown.indexOf(markers.start);
  const end = start >= 0 ? markdown.indexOf(markers.end, start) : markdown.indexOf(markers.end);
  if (start >= 0 && end > start) {
    let after = end + markers.end.length;
    while (markdown[after] === "\n") after++;
    return markdown.slice(0, start) + block + markdown.slice(after);
  }
  if (start >= 0 || end >= 0) {
    throw new InputError(`the report has ${start >= 0 ? markers.start : markers.end} without ${start >= 0 ? `${markers.end} after it` : markers.start}; mend the markers before replacing the section`);
  }
  const before = place.before ?? [];
  const old = place.heading === undefined ? -1 : headingAt(markdown, place.heading);
  if (old >= 0) {
    const from = old + place.heading!.length;
    const ends = [markdown.indexOf("\n## ", from) + 1, ...before.map((text) => markdown.indexOf(text, from))].filter((i) => i > 0);
    return markdown.slice(0, old) + block + markdown.slice(ends.length > 0 ? Math.min(...ends) : markdown.length);
  }
  for (const text of before) {
    const at = markdown.indexOf(text);
    if (at >= 0) return markdown.slice(0, at) + block + markdown.slice(at);
  }
  const discussion = markdown.indexOf("\n## Discussion\n");
  if (discussion >= 0) return markdown.slice(0, discussion + 1) + block + markdown.slice(discussion + 1);
  return `${markdown.replace(/\n*$/, "\n\n")}${block}`;
}

/** Where the line `heading` starts in `markdown`, or -1. */
function headingAt(markdown: string, heading: string): number {
  if (markdown.startsWith(`${heading}\n`)) return 0;
  const at = markdown.indexOf(`\n${heading}\n`);
  return at < 0 ? -1 : at + 1;
}
