/**
 * The report of `gim eval`: markdown whose tables have as many cells as headers, links to
 * every plot it writes, keeps the hand-written discussion; SVG plots that are well-formed
 * (balanced tags, quoted attributes, escaped text); JSON without NaN.
 */
import { describe, expect, it } from "vitest";
import { checkXml } from "../../report/test/xml.js";
import { discussionMarkers, extractDiscussion, formatShare, plotFiles, protocolMarkers, renderReport, replaceProtocolSection, replaceSelfRepairSection, resultsJson, runEval, selfRepairMarkers, type EvalTask, type ReportMeta } from "../src/index.js";
import { fixtureModel } from "./helpers.js";

/** The tables of a markdown text: lists of rows, each a list of cells (escaped pipes kept inside cells). */
function tables(markdown: string): string[][][] {
  const out: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("|")) {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim());
      (current ??= []).push(cells);
    } else if (current) {
      out.push(current);
      current = undefined;
    }
  }
  if (current) out.push(current);
  return out;
}

const model = fixtureModel("gpt2-f32");
const task: EvalTask = {
  name: "fixture model",
  description: "a random GPT-2 fixture.",
  model,
  baseline: 0,
  baselineDescription: "id 0",
  evidenceSets: [{ name: "e", description: "position 2 | or 3" }],
  examples: [
    { ids: [4, 9, 17, 3, 22, 8, 5], target: 7, evidence: { e: [2, 3] }, tokens: ["a", "<b>", "c&d", "d", "e", "f", "g"] },
    { ids: [14, 19, 27, 13, 2, 18], target: 9, evidence: { e: [2] } },
  ],
  selfRepairExamples: [{ ids: [4, 9, 17, 3, 22, 8, 5], target: 7, evidence: { e: [2, 3] }, tokens: ["a", "<b>", "c&d", "d", "e", "f", "g"] }],
  pairs: [{ clean: [4, 9, 17, 3, 22, 8], corrupted: [4, 9, 30, 3, 22, 8], answer: 5, wrong: 6 }],
  pairDescription: "one token replaced.",
};
const results = runEval([task], { igSteps: 4, minWeight: 0.1, criteria: { minJointEffect: 0, maxAloneShare: 10 } });
const meta: ReportMeta = {
  date: "2026-01-02T03:04:05.000Z",
  machine: { cpu: "Test CPU", cores: 2, node: "v20.0.0", platform: "linux x64" },
  commands: ["pnpm gim eval --report docs/results.md"],
  plotDir: "plots",
};

describe("renderReport", () => {
  const { markdown, plots } = renderReport(results, meta);

  it("writes tables with as many cells as their header, and a separator row", () => {
    const all = tables(markdown);
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const t of all) {
      const width = t[0]!.length;
      expect(t[1]!.every((c) => /^-{3,}:?$/.test(c))).toBe(true);
      for (const row of t) expect(row).toHaveLength(width);
    }
    // The evidence set's "|" is escaped, not a column break.
    expect(markdown).toContain("top token ∈ position 2 \\| or 3");
  });

  it("has the sections, the machine, the date and the commands", () => {
    for (const heading of ["# Faithfulness results", "## Models and data", "## Headline", "## Token attributions", "## Components: attribution patching vs exact activation patching", "## Attention self-repair", "## Discussion", "## Reproducing"]) {
      expect(markdown).toContain(`\n${heading}\n`.slice(heading.startsWith("# ") ? 1 : 0));
    }
    expect(markdown).toContain("Test CPU, 2 logical cores (nproc), Node v20.0.0");
    expect(markdown).toContain("2026-01-02T03:04:05.000Z");
    expect(markdown).toContain("```sh\npnpm gim eval --report docs/results.md\n```");
  });

  it("links every plot it returns, and returns the files plotFiles names", () => {
    expect(plots.map((p) => p.file).sort()).toEqual(plotFiles(results.models[0]!).sort());
    for (const p of plots) expect(markdown).toContain(`](plots/${p.file})`);
  });

  it("writes well-formed SVG", () => {
    for (const p of plots) {
      const names = checkXml(p.svg);
      expect(names[0]).toBe("svg");
      expect(names).toContain("path");
    }
  });

  it("keeps a discussion between the markers", () => {
    expect(extractDiscussion(markdown)).toMatch(/^_Not written yet/);
    const again = renderReport(results, { ...meta, discussion: "GIM wins here | because ..." }).markdown;
    expect(extractDiscussion(again)).toBe("GIM wins here | because ...");
    expect(again.indexOf(discussionMarkers.start)).toBeLessThan(again.indexOf(discussionMarkers.end));
    expect(extractDiscussion("no markers")).toBeUndefined();
  });

  it("escapes token text in the self-repair rows", () => {
    expect(results.models[0]!.selfRepair!.strongest.length).toBeGreaterThan(0);
    expect(markdown).toMatch(/"(a|<b>|c&d|d|e|f|g)"@\d/);
  });
});

describe("resultsJson", () => {
  it("turns NaN into null and parses back", () => {
    const text = resultsJson(results);
    expect(text).not.toMatch(/NaN|Infinity/);
    const back = JSON.parse(text) as { models: { tokens: { methods: { method: string }[] } }[] };
    expect(back.models[0]!.tokens.methods.map((m) => m.method)).toEqual(results.methods);
  });
});

describe("replaceProtocolSection", () => {
  const section = `${protocolMarkers.start}\n## P\nnew\n${protocolMarkers.end}\n`;

  it("replaces the marked section, puts a missing one before the discussion, or at the end without one", () => {
    const marked = `# R\n\n${protocolMarkers.start}\n## P\nold\n${protocolMarkers.end}\n\n## Discussion\nkept\n`;
    // The section is followed by one blank line.
    expect(replaceProtocolSection(marked, section)).toBe(`# R\n\n${section}\n## Discussion\nkept\n`);
    expect(replaceProtocolSection("# R\n\n## Discussion\nkept\n", section)).toBe(`# R\n\n${section}\n## Discussion\nkept\n`);
    expect(replaceProtocolSection("# R\ntext", section)).toBe(`# R\ntext\n\n${section}\n`);
    // Replacing twice gives the same text as once.
    expect(replaceProtocolSection(replaceProtocolSection(marked, section), section)).toBe(replaceProtocolSection(marked, section));
  });
});

describe("replaceSelfRepairSection", () => {
  const section = `${selfRepairMarkers.start}\n## S\nnew\n${selfRepairMarkers.end}\n`;
  const protocol = `${protocolMarkers.start}\n## P\nkept\n${protocolMarkers.end}\n`;

  it("replaces its own marked section only, and puts a missing one before the protocol's", () => {
    const marked = `# R\n\n${selfRepairMarkers.start}\n## S\nold\n${selfRepairMarkers.end}\n\n${protocol}\n## Discussion\nkept\n`;
    expect(replaceSelfRepairSection(marked, section)).toBe(`# R\n\n${section}\n${protocol}\n## Discussion\nkept\n`);
    // A section from before the markers is replaced, up to the next section, not kept beside the new one.
    expect(replaceSelfRepairSection(`# R\n\n## Attention self-repair\n\nold rows\n\n### Definitions\nold\n\n${protocol}`, section)).toBe(`# R\n\n${section}\n${protocol}`);
    expect(replaceSelfRepairSection(`# R\n\n## Attention self-repair\nold\n\n## Discussion\nkept\n`, section)).toBe(`# R\n\n${section}\n## Discussion\nkept\n`);
    expect(replaceSelfRepairSection(`# R\n\n## Other\n\n${protocol}`, section)).toBe(`# R\n\n## Other\n\n${section}\n${protocol}`);
    expect(replaceSelfRepairSection("# R\n\n## Discussion\nkept\n", section)).toBe(`# R\n\n${section}\n## Discussion\nkept\n`);
    expect(replaceSelfRepairSection(replaceSelfRepairSection(marked, section), section)).toBe(replaceSelfRepairSection(marked, section));
  });

  it("refuses a report where only one of its markers is left (a broken hand edit), rather than adding a second section", () => {
    expect(() => replaceSelfRepairSection(`# R\n${selfRepairMarkers.start}\n## S\nold\n\n${protocol}`, section)).toThrow(
      `the report has ${selfRepairMarkers.start} without ${selfRepairMarkers.end} after it; mend the markers before replacing the section`,
    );
    expect(() => replaceSelfRepairSection(`# R\n## S\nold\n${selfRepairMarkers.end}\n`, section)).toThrow(`the report has ${selfRepairMarkers.end} without ${selfRepairMarkers.start}`);
    expect(() => replaceSelfRepairSection(`# R\n${selfRepairMarkers.end}\n${selfRepairMarkers.start}\n`, section)).toThrow(/without/);
  });

  it("is what a full report holds between the self-repair markers", () => {
    const markdown = renderReport(results, meta).markdown;
    const start = markdown.indexOf(selfRepairMarkers.start);
    expect(start).toBeGreaterThan(0);
    expect(markdown.indexOf("## Attention self-repair")).toBeGreaterThan(start);
    expect(markdown.indexOf(selfRepairMarkers.end)).toBeGreaterThan(markdown.indexOf("## Attention self-repair"));
    expect(markdown.indexOf(selfRepairMarkers.end)).toBeLessThan(markdown.indexOf(protocolMarkers.start));
  });
});

describe("formatShare", () => {
  it("gives the three values with one number of decimals, enough for the largest", () => {
    const i = (estimate: number, low: number, high: number) => ({ estimate, low, high, resamples: 10 });
    expect(formatShare(i(0.0521, 0.04, 0.061))).toBe("5.2% [4.0%, 6.1%]");
    expect(formatShare(i(0.0013, 0.001, 0.0018))).toBe("0.13% [0.10%, 0.18%]");
    expect(formatShare(i(0.000012, 0, 0.00004))).toBe("0.001% [0.000%, 0.004%]");
    expect(formatShare(i(0, 0, 0))).toBe("0.0% [0.0%, 0.0%]");
    expect(formatShare(i(Number.NaN, 0, 0))).toBe("–");
  });
});
