/**
 * Sections of the report that `gim eval` can regenerate on their own (`--only-self-repair`,
 * `--only-protocol`): each sits between two markers, says how it was made when made alone, and
 * is swapped into an existing report without touching the rest.
 */

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

/**
 * `markdown` with the section between `markers` replaced by `section`. Without those markers,
 * `section` goes before the first of `before` found in it (text that starts a later part,
 * such as another section's start marker), else before the discussion, else at the end.
 */
export function replaceMarkedSection(markdown: string, markers: SectionMarkers, section: string, before: readonly string[] = []): string {
  const block = section.replace(/\n*$/, "\n\n");
  const start = markdown.indexOf(markers.start);
  const end = markdown.indexOf(markers.end);
  if (start >= 0 && end > start) {
    let after = end + markers.end.length;
    while (markdown[after] === "\n") after++;
    return markdown.slice(0, start) + block + markdown.slice(after);
  }
  for (const text of before) {
    const at = markdown.indexOf(text);
    if (at >= 0) return markdown.slice(0, at) + block + markdown.slice(at);
  }
  const discussion = markdown.indexOf("\n## Discussion\n");
  if (discussion >= 0) return markdown.slice(0, discussion + 1) + block + markdown.slice(discussion + 1);
  return `${markdown.replace(/\n*$/, "\n\n")}${block}`;
}
