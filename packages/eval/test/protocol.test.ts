/**
 * The GIM paper's self-repair protocol in the evaluation (selfRepairProtocolEval.ts), on a
 * fixture model with a threshold low enough that rows qualify: every number equals what the
 * library functions give when called directly (the protocol per example, its pooled summary,
 * the circuit-error link on EAP and exact scores of the same pairs); the intervals hold their
 * estimates; runEval carries it into the JSON and the report, with one plot point per row.
 */
import { describe, expect, it } from "vitest";
import { edgeScoresByPair, headsOf, selfRepairCircuitErrorLink, selfRepairProtocol, summariseSelfRepairProtocol } from "@gim/rules";
import { evaluateSelfRepairProtocol, formatRatioInterval, linkRuleSets, protocolPlotFiles, renderReport, resultsJson, runEval, type EvalTask } from "../src/index.js";
import { fixtureModel, ids } from "./helpers.js";

const model = fixtureModel("gpt2-f32");

const examples = [ids(9, 1), ids(9, 2), ids(12, 3), ids(7, 4), ids(10, 5), ids(11, 6)].map((x, i) => ({ ids: x, target: 10 + i, evidence: { one: [2] } }));
const linkPairs = [6, 7, 8, 9].map((seed, i) => {
  const clean = ids(8 + (i % 2), seed);
  return { clean, corrupted: [...clean.slice(0, 3), 70 + i, ...clean.slice(4)], answer: 11 + i, wrong: 20 + i };
});
const threshold = 0.02;

describe("evaluateSelfRepairProtocol", () => {
  const result = evaluateSelfRepairProtocol(model, examples, { threshold, linkPairs, resamples: 200, seed: 1 });
  const direct = examples.map((e) => selfRepairProtocol(model, e.ids, { target: e.target, threshold }));
  const pooled = summariseSelfRepairProtocol(direct);
  const pooledExact = summariseSelfRepairProtocol(direct, { effects: "exact" });

  it("counts the rows as the protocol does per example, with the share's interval around its estimate", () => {
    expect(result.rowCount).toBe(direct.reduce((s, r) => s + r.rowCount, 0));
    expect(result.rowsWithKeyAbove).toBe(direct.reduce((s, r) => s + r.rowsWithKeyAbove, 0));
    expect(result.measured).toBe(pooled.measured);
    expect(result.measured).toBeGreaterThan(20); // the test is about something
    expect(result.share.estimate).toBeCloseTo(result.measured / result.rowCount, 14);
    expect(result.share.low).toBeLessThanOrEqual(result.share.estimate);
    expect(result.share.high).toBeGreaterThanOrEqual(result.share.estimate);
    expect(result.share.high).toBeGreaterThan(result.share.low); // examples differ, so resamples do
  });

  it("counts the rows at the lower thresholds as the protocol does, fewer at higher ones", () => {
    expect(result.sensitivity.map((x) => x.threshold)).toEqual([1, 0.5, 0.25, 0.1]);
    const at = (t: number) => examples.map((e) => selfRepairProtocol(model, e.ids, { target: e.target, threshold: t, exact: false }));
    const direct01 = at(0.1);
    const x = result.sensitivity[3]!;
    expect(x.measured).toBe(direct01.reduce((s, r) => s + r.rows.length, 0));
    expect(x.rowsWithKeyAbove).toBe(direct01.reduce((s, r) => s + r.rowsWithKeyAbove, 0));
    expect(x.share.estimate).toBeCloseTo(x.measured / result.rowCount, 14);
    const counts = [...result.sensitivity.map((y) => y.measured), result.measured];
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(counts[0]).toBeLessThan(counts[counts.length - 1]!);
  });

  it("selects the high-interaction rows as summariseSelfRepairProtocol does, on both kinds of effects", () => {
    expect(result.linearised.quantile).toBe(pooled.quantile);
    expect(result.linearised.highRows).toBe(pooled.highInteraction.length);
    expect(result.linearised.meanHighInteraction).toBeCloseTo(pooled.meanHighInteraction!, 14);
    expect(result.exact!.highRows).toBe(pooledExact.highInteraction.length);
    expect(result.exact!.quantile).toBe(pooledExact.quantile);
    const key = (r: { layer: number; head: number; query: number; keys: readonly number[] }) => `${r.layer}.${r.head}.${r.query}.${r.keys.join(",")}`;
    const highDirect = new Set(pooled.highInteraction.map(key));
    expect(result.points.filter((p) => p.high).map(key).sort()).toEqual([...highDirect].sort());
    expect(result.highByLayer.reduce((a, b) => a + b, 0)).toBe(pooled.highInteraction.length);
    expect(result.highHeads.map(({ layer, head }) => ({ layer, head }))).toEqual(headsOf(pooled.highInteraction));
    // Each point carries its row's values: the top-2 sums of the plain and TSG backward.
    const rows = direct.flatMap((r) => r.rows);
    result.points.forEach((p, i) => {
      expect(p.linearised).toEqual(rows[i]!.linearised);
      expect(p.gradientSum).toBe(rows[i]!.gradient[0] + rows[i]!.gradient[1]);
      expect(p.tsgSum).toBe(rows[i]!.tsg[0] + rows[i]!.tsg[1]);
    });
    const median = [...rows.map((r) => r.linearised.interaction)].sort((a, b) => a - b);
    const mid = median.length >> 1;
    expect(result.linearised.medianInteraction.estimate).toBeCloseTo(median.length % 2 ? median[mid]! : (median[mid - 1]! + median[mid]!) / 2, 14);
  });

  it("measures the link as selfRepairCircuitErrorLink does on EAP and exact scores of the same pairs", () => {
    expect(result.link, result.linkNote).toBeDefined();
    const rules = linkRuleSets();
    const scored = edgeScoresByPair(model, linkPairs, Object.values(rules), { exact: true });
    const methods = Object.fromEntries(Object.keys(rules).map((name, i) => [name, scored.eap[i]!]));
    const direct = selfRepairCircuitErrorLink(scored.exact!, methods, headsOf(pooled.highInteraction), { baseline: "plain", resamples: 200, seed: 1 });
    expect(result.link!.methods).toEqual(direct.methods);
    expect([result.link!.highEdges, result.link!.otherEdges]).toEqual([direct.highEdges.length, direct.otherEdges.length]);
    expect(result.link!.prompts).toBe(4);
    expect(result.link!.sharedPrompts).toBe(0);
    expect(Object.keys(result.link!.methods)).toEqual(["plain", "tsg", "gim"]);
    expect(result.link!.methods["plain"]!.differenceInDifferences).toBeUndefined();
    // TSG and GIM change EAP's scores, so their gaps differ from plain's.
    expect(result.link!.methods["gim"]!.differenceInDifferences!.estimate).not.toBe(0);
  });

  it("says why there is no link when it cannot measure one", () => {
    const none = evaluateSelfRepairProtocol(model, examples.slice(0, 1), { threshold: 1e6, linkPairs, resamples: 20 });
    expect(none.measured).toBe(0);
    expect(none.link).toBeUndefined();
    expect(none.linkNote).toBe("no high-interaction rows, so no heads to compare");
    expect(Number.isNaN(none.linearised.quantile)).toBe(true);
    expect(evaluateSelfRepairProtocol(model, examples.slice(0, 1), { threshold, resamples: 20 }).linkNote).toBe("no circuit pairs to measure the link on");
    expect(() => evaluateSelfRepairProtocol(model, [])).toThrow(/at least one example/);
    // The main threshold is not repeated among the others.
    expect(evaluateSelfRepairProtocol(model, examples.slice(0, 1), { threshold: 0.5, resamples: 20 }).sensitivity.map((y) => y.threshold)).toEqual([1, 0.25, 0.1]);
  });
});

describe("the protocol in runEval, the JSON and the report", () => {
  const task: EvalTask = {
    name: "fixture",
    description: "a random GPT-2 fixture.",
    model,
    baseline: 0,
    baselineDescription: "id 0",
    evidenceSets: [{ name: "one", description: "position 2" }],
    examples: examples.slice(0, 1),
    selfRepairExamples: examples.slice(0, 1),
    protocolExamples: examples,
    pairs: [],
    pairDescription: "one token replaced.",
    circuitPairs: { score: linkPairs, evaluate: linkPairs.map((p) => ({ ...p, clean: p.clean.map((x) => 1 + ((x + 1) % 95)) })) },
  };
  const progress: number[] = [];
  const results = runEval([task], { methods: ["random"], components: false, circuits: false, selfRepair: false, protocolThreshold: threshold, resamples: 200, onProgress: (p) => progress.push(p.done) });
  const m = results.models[0]!;

  it("runs the protocol on the task's protocol examples and the link on its scoring pairs, with progress for both", () => {
    expect(m.protocol!.examples).toBe(examples.length);
    expect(m.protocol!.link!.prompts).toBe(linkPairs.length);
    expect(progress[progress.length - 1]).toBe(1 + examples.length + linkPairs.length);
    expect(m.seconds.protocol).toBeGreaterThan(0);
    expect(runEval([task], { methods: ["random"], components: false, circuits: false, selfRepair: false, protocol: false }).models[0]!.protocol).toBeUndefined();
  });

  it("writes JSON with the protocol's counts, intervals, points and link, and no NaN", () => {
    const json = JSON.parse(resultsJson(results)) as { models: Record<string, any>[] };
    const p = json.models[0]!["protocol"];
    expect(Object.keys(p)).toEqual(expect.arrayContaining(["examples", "threshold", "rowCount", "measured", "share", "sensitivity", "linearised", "exact", "highHeads", "points", "link"]));
    expect(p.points).toHaveLength(m.protocol!.measured);
    expect(Object.keys(p.link.methods.tsg)).toEqual(["high", "other", "gap", "differenceInDifferences", "ratioOfRatios", "ratioOfRatiosVsBaseline"]);
    expect(resultsJson(results)).not.toMatch(/NaN/);
  });

  it("reports the section with its tables and the two scatter plots, one dot per measured row", () => {
    const { markdown, plots } = renderReport(results, { date: "d", machine: { cpu: "c", cores: 2, node: "v", platform: "p" }, commands: [], plotDir: "plots" });
    expect(markdown).toContain("## The GIM paper's self-repair protocol, and circuit error");
    // The introduction lists the measurements this run made, and only those.
    expect(markdown).toContain("? Two measurements, all on held-out data:\n\n1. **Token attributions**: ");
    expect(markdown).toContain("\n2. **The GIM paper's self-repair protocol**: ");
    expect(markdown).not.toContain("**Components**: ");
    expect(markdown).toContain("**How this differs from the measurement in the section above.**");
    expect(markdown).toMatch(/\| `fixture` \| 6 \| \d+ \| \d+ \| \d+ \| [\d.]+% \[[\d.]+%, [\d.]+%\] \| (yes|no) \|/);
    expect(markdown).toContain("| `fixture` | ");
    // The link table with the scale-free columns, GIM's row against plain's.
    expect(markdown).toContain("| DiD vs plain | Q = R(high) / R(other) | Q / Q(plain) |");
    const gimLink = m.protocol!.link!.methods["gim"]!;
    expect(markdown).toContain(`| ${formatRatioInterval(gimLink.ratioOfRatios, "")} | ${formatRatioInterval(gimLink.ratioOfRatiosVsBaseline)} |`);
    expect(formatRatioInterval(gimLink.ratioOfRatiosVsBaseline)).toMatch(/^(\*\*)?×[\d.]+ \[×[\d.]+, ×[\d.]+\]/);
    const files = protocolPlotFiles(m);
    expect(files).toEqual(["self-repair-protocol-fixture-ablation.svg", "self-repair-protocol-fixture-tsg.svg"]);
    for (const f of files) {
      const svg = plots.find((x) => x.file === f)!.svg;
      expect(markdown).toContain(`(plots/${f})`);
      expect(svg).toContain('class="diagonal"');
      // Every row is a dot unless it falls outside the shared axes (the legend says how many did).
      const dots = (svg.match(/<circle class="point"/g) ?? []).length;
      const hidden = [...svg.matchAll(/; (\d+) outside the axes/g)].reduce((s, x) => s + Number(x[1]), 0);
      expect(dots + hidden).toBe(m.protocol!.measured);
    }
  });
});
