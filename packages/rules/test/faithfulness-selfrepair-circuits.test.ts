/**
 * The self-repair / circuit-error link (selfRepairCircuitError.ts) on hand-made edge scores of
 * MIB's graph of 2 blocks x 2 heads, with the ratios, gaps, difference in differences and ratio
 * of ratios worked out by hand, and the pairing of the bootstrap checked (a method equal to the baseline has a
 * difference in differences of exactly 0 on every resample, though its gap varies).
 */
import { describe, expect, it } from "vitest";
import { headsOf, mibGraphOfShape, selfRepairCircuitErrorLink, type MibEdgeScores, type MibGraph } from "../src/index.js";

const graph: MibGraph = mibGraphOfShape({ layers: 2, heads: 2 });
const isQk = (e: number) => ["q", "k"].includes(graph.receivers[graph.edges[e]!.to]!.kind);
const intoHigh = (e: number) => {
  const r = graph.receivers[graph.edges[e]!.to]!;
  return isQk(e) && r.layer === 1 && r.head === 0;
};
/** Per-prompt scores: `value(edge, prompt)` for every edge. */
const scores = (value: (e: number, prompt: number) => number, prompts = 2): MibEdgeScores => {
  const perPrompt = Array.from({ length: prompts }, (_, p) => Float64Array.from(graph.edges, (_, e) => value(e, p)));
  return { graph, perPrompt, scores: graph.edges.map((_, e) => perPrompt.reduce((s, row) => s + row[e]!, 0) / prompts) };
};

describe("selfRepairCircuitErrorLink", () => {
  // Exact effects: 1 on prompt 0 and 3 on prompt 1 for every edge (mean 2).
  const exact = scores((_, p) => (p === 0 ? 1 : 3));
  // Plain EAP: into the high head 0.2 then 1.4 (mean 0.8, ratio 0.4); elsewhere -1.8 both times (|mean| 1.8, ratio 0.9).
  const plain = scores((e, p) => (intoHigh(e) ? (p === 0 ? 0.2 : 1.4) : -1.8));
  // TSG: into the high head 1.6 both times (ratio 0.8); elsewhere 2 (ratio 1).
  const tsg = scores((e) => (intoHigh(e) ? 1.6 : 2));
  const heads = headsOf([{ layer: 1, head: 0 }, { layer: 1, head: 0 }]);
  // Plain EAP's scores times 3: the same misjudgement at another scale.
  const scaled = scores((e, p) => 3 * plain.perPrompt[p]![e]!);
  const link = selfRepairCircuitErrorLink(exact, { plain, tsg, same: plain, scaled }, heads, { resamples: 400, seed: 3 });

  it("splits the q/k edges by receiving head and leaves v, MLP and logit edges out", () => {
    // Block 1 reads input, a0.h0, a0.h1 and m0: 4 senders x {q, k} into a1.h0; block 0 reads the input.
    expect(link.highEdges.length).toBe(8);
    expect(link.otherEdges.length).toBe(2 * 2 * 1 + 2 * 4); // block 0: 2 heads x q/k x 1 sender; a1.h1: q/k x 4 senders
    for (const e of link.highEdges) expect(graph.edges[e]!.name).toMatch(/->a1\.h0<[qk]>$/);
    for (const e of link.otherEdges) expect(graph.edges[e]!.name).toMatch(/<[qk]>$/);
    expect(link.prompts).toBe(2);
  });

  it("gives the hand-computed pooled ratios, gaps and difference in differences", () => {
    const p = link.methods["plain"]!;
    const t = link.methods["tsg"]!;
    expect(p.high.estimate).toBeCloseTo(0.4, 12);
    expect(p.other.estimate).toBeCloseTo(0.9, 12); // |mean|, not a signed ratio
    expect(p.gap.estimate).toBeCloseTo(-0.5, 12);
    expect(t.high.estimate).toBeCloseTo(0.8, 12);
    expect(t.other.estimate).toBeCloseTo(1, 12);
    expect(t.differenceInDifferences!.estimate).toBeCloseTo(-0.2 - -0.5, 12);
    expect(p.differenceInDifferences).toBeUndefined();
    expect(link.baseline).toBe("plain");
  });

  it("gives the hand-computed ratio of ratios, which a method's scale leaves alone while it moves the gap", () => {
    expect(link.methods["plain"]!.ratioOfRatios.estimate).toBeCloseTo(0.4 / 0.9, 12);
    expect(link.methods["plain"]!.ratioOfRatiosVsBaseline).toBeUndefined();
    expect(link.methods["tsg"]!.ratioOfRatios.estimate).toBeCloseTo(0.8, 12);
    expect(link.methods["tsg"]!.ratioOfRatiosVsBaseline!.estimate).toBeCloseTo(0.8 / (0.4 / 0.9), 12);
    const scaledLink = link.methods["scaled"]!;
    expect(scaledLink.differenceInDifferences!.estimate).toBeCloseTo(3 * -0.5 - -0.5, 12);
    // Paired: on every resample the scale cancels, so the interval collapses to 1.
    for (const v of [scaledLink.ratioOfRatiosVsBaseline!.estimate, scaledLink.ratioOfRatiosVsBaseline!.low, scaledLink.ratioOfRatiosVsBaseline!.high]) expect(v).toBeCloseTo(1, 12);
  });

  it("bootstraps over prompts, paired across methods", () => {
    const p = link.methods["plain"]!;
    // Resamples {0,0}, {0,1}/{1,0} and {1,1} give plain high ratios 0.2, 0.4 and 1.4/3.
    expect(p.high.low).toBeCloseTo(0.2, 12);
    expect(p.high.high).toBeCloseTo(1.4 / 3, 12);
    expect(p.high.resamples).toBe(400);
    // TSG scores both prompts alike but the exact effects differ (1.6/1 on {0,0}, 1.6/3 on {1,1}): its ratio varies too.
    expect(link.methods["tsg"]!.high.high).toBeGreaterThan(link.methods["tsg"]!.high.low);
    // The same scores as the baseline: every resample's difference in differences is 0 (paired), though the gap varies.
    const same = link.methods["same"]!;
    expect(same.gap.high).toBeGreaterThan(same.gap.low);
    expect(same.differenceInDifferences).toEqual({ estimate: 0, low: 0, high: 0, resamples: 400 });
  });

  it("refuses mismatched scores, an unknown baseline and an empty group with one-line errors", () => {
    expect(() => selfRepairCircuitErrorLink(exact, { plain: scores(() => 1, 3) }, heads)).toThrow(/method "plain" has scores of 3 prompts, the exact scores of 2/);
    expect(() => selfRepairCircuitErrorLink(exact, { plain }, heads, { baseline: "gim" })).toThrow(/baseline "gim" is not one of the methods \(plain\)/);
    expect(() => selfRepairCircuitErrorLink(exact, { plain }, [{ layer: 5, head: 0 }])).toThrow(/0 into the given heads and 20 others/);
    expect(() => selfRepairCircuitErrorLink(exact, {}, heads)).toThrow(/at least one method/);
  });
});
