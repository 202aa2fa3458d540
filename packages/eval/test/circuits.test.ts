/**
 * The circuit evaluation of `runEval`: the method grid (each part of GIM alone, GIM minus one
 * part, the TSG sweep) holds the rule sets it names; on a fixture GPT-2 (no gated MLP) the
 * gate/up-only variant is the plain method exactly, so its paired difference is exactly 0
 * while its unpaired intervals are not a point; f(full) = 1 for every method; IOI's MIB
 * counterfactual flips S2 to IO with the metric logit[IO] - logit[S]; scoring and evaluation
 * pairs are disjoint.
 */
import { describe, expect, it } from "vitest";
import { ioiExamples, ioiTokenizer } from "@gim/models";
import { buildEvalTask, circuitMethodGrid, evaluateCircuits, gimParts, tsgTemperatures, type EvalPair, type EvalResults } from "../src/index.js";
import { circuitSection } from "../src/report/circuits.js";
import { fixtureModel, ids } from "./helpers.js";

const model = fixtureModel("gpt2-f32");

const pair = (length: number, seed: number, at: number, answer: number): EvalPair => {
  const clean = ids(length, seed);
  return { clean, corrupted: clean.map((x, i) => (i === at ? 1 + ((x + 40) % 95) : x)), answer, wrong: answer + 1 };
};
const scorePairs = [pair(8, 1, 3, 10), pair(8, 2, 2, 12), pair(9, 3, 4, 14)];
const evalPairs = [pair(8, 4, 3, 10), pair(9, 5, 2, 16), pair(9, 6, 5, 18), pair(8, 7, 1, 20)];

describe("circuitMethodGrid", () => {
  const grid = circuitMethodGrid();
  const byName = new Map(grid.map((m) => [m.name, m]));
  const ruleNames = (name: string) => (byName.get(name)!.rules ?? []).map((r) => r.name).sort();

  it("has the headline, each part alone and GIM minus each part for EAP and EAP-IG, and the sweep without T = 2", () => {
    expect(grid.filter((m) => m.group === "headline").map((m) => m.name)).toEqual(["random", "eap", "gim-eap", "eap-ig", "gim-eap-ig", "exact"]);
    expect(grid.filter((m) => m.group === "ablation")).toHaveLength(2 * 2 * gimParts.length);
    expect(grid.filter((m) => m.group === "sweep").map((m) => m.temperature)).toEqual([...tsgTemperatures, ...tsgTemperatures].filter((t) => t !== 2));
    expect(new Set(grid.map((m) => m.name)).size).toBe(grid.length);
    expect(byName.get("eap-ig")!.kind).toBe("eap-ig-inputs");
    expect(byName.get("eap-ig")!.steps).toBe(5);
  });

  it("holds the rule sets it names", () => {
    expect(ruleNames("eap")).toEqual([]);
    expect(ruleNames("gim-eap")).toHaveLength(7);
    expect(ruleNames("eap+tsg")).toEqual(["gim.softmaxTemperature"]);
    expect(ruleNames("eap-ig+qkv-scale")).toEqual(["gim.kScale", "gim.qScale", "gim.vScale"]);
    expect(ruleNames("gim-eap-freeze-norm")).not.toContain("gim.freezeNorm");
    expect(ruleNames("gim-eap-freeze-norm")).toHaveLength(6);
    expect(ruleNames("gim-eap@T1")).toEqual(ruleNames("gim-eap-tsg"));
    expect(circuitMethodGrid({ ablation: false, sweep: false })).toHaveLength(6);
  });
});

describe("evaluateCircuits", () => {
  const methods = circuitMethodGrid({ sweep: false }).filter((m) => ["random", "eap", "gim-eap", "exact", "eap+gate-up-scale", "eap+tsg"].includes(m.name));
  const result = evaluateCircuits(model, scorePairs, evalPairs, { methods, resamples: 200 });
  const of = (name: string) => result.methods.find((m) => m.name === name)!;

  it("gives the gate/up scale alone, which has no place in GPT-2, exactly plain EAP: a paired difference of exactly 0", () => {
    expect(of("eap+gate-up-scale").scores).toEqual(of("eap").scores);
    const d = result.differences.find((x) => x.a === "eap+gate-up-scale" && x.statistic === "cpr")!;
    expect([d.interval.estimate, d.interval.low, d.interval.high]).toEqual([0, 0, 0]);
    expect(d.supported).toBe(false);
    // Unpaired, the same method's interval is wide: pairing is what makes the difference exact.
    expect(of("eap").cpr.high - of("eap").cpr.low).toBeGreaterThan(0);
  });

  it("reports every GIM variant against plain EAP and every headline method against random", () => {
    const pairs = result.differences.map((d) => `${d.a}-${d.b}:${d.statistic}`);
    for (const s of ["cpr", "cmd", "spearman"]) expect(pairs).toContain(`gim-eap-eap:${s}`);
    expect(pairs).toContain("exact-random:cpr");
    expect(pairs).not.toContain("eap-eap:cpr");
    expect(result.methods.filter((m) => m.name !== "random" && m.name !== "exact").every((m) => m.spearman !== undefined)).toBe(true);
  });

  it("has f(full) = 1 for every ranking, and the sizes of MIB's grid", () => {
    expect(result.sizes).toEqual(result.fractions.map((p) => Math.floor(p * result.edges)));
    for (const m of result.methods) {
      expect(m.faithfulness.signed[m.faithfulness.signed.length - 1]).toBe(1);
      expect(m.faithfulness.absolute[m.faithfulness.absolute.length - 1]).toBe(1);
    }
  });

  it("renders the circuit section with intervals and the ablation rows", () => {
    const results = { methods: [], seed: 0, igSteps: 32, seconds: 1, models: [{ name: "fixture", description: "", architecture: "gpt2, 2 layers", baseline: "", pairDescription: "", evidenceSets: [], tokens: { methods: [] }, circuits: result, seconds: { tokens: 0, components: 0, circuits: 1, selfRepair: 0 } }] } as unknown as EvalResults;
    const lines: string[] = [];
    circuitSection(results, { p: (...more) => void lines.push(...more), plot: () => "", meta: { date: "d", machine: { cpu: "c", cores: 2, node: "v", platform: "p" }, commands: [], plotDir: "plots" } });
    const markdown = lines.join("\n");
    expect(markdown).toContain("## Circuits on MIB's graph, held out");
    expect(markdown).toMatch(/\| exact edge patching \| -?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]/);
    expect(markdown).toContain("| gate/up scale only |");
    expect(markdown).toContain("*gate/up scale only* is the plain gradient");
  });

  it("refuses overlapping scoring and evaluation pairs", () => {
    expect(() => evaluateCircuits(model, scorePairs, [evalPairs[0]!, scorePairs[1]!], { methods: methods.slice(0, 2), resamples: 10 })).toThrow(/evaluation pair 1 has the clean prompt of scoring pair 1/);
  });

  it("states a difference's estimate as the difference of the two methods' estimates", () => {
    const d = result.differences.find((x) => x.a === "gim-eap" && x.statistic === "cmd")!;
    expect(d.interval.estimate).toBeCloseTo(of("gim-eap").cmd.estimate - of("eap").cmd.estimate, 12);
  });
});

describe("IOI counterfactuals", () => {
  const tokenizer = ioiTokenizer();
  const sizes = { examples: 4, pairs: 4, selfRepair: 2, circuitPairs: 6 };
  const drawn = ioiExamples("heldout", 6, 3_000_003, tokenizer);

  it("uses MIB's S2/IO flip by default: S2 becomes IO, answer IO, wrong S", () => {
    const task = buildEvalTask("ioi", model, tokenizer, { name: "t", sizes });
    task.pairs.forEach((p, i) => {
      const e = drawn[i]!;
      const differ = p.clean.flatMap((x, t) => (x !== p.corrupted[t] ? [t] : []));
      expect(differ).toEqual([e.positions.s2]);
      expect(p.corrupted[e.positions.s2]).toBe(e.target);
      expect([p.answer, p.wrong]).toEqual([e.target, e.subject]);
    });
    expect(task.pairDescription).toMatch(/S2\/IO flip/);
  });

  it("keeps the third-name counterfactual as an option", () => {
    const task = buildEvalTask("ioi", model, tokenizer, { name: "t", sizes, counterfactual: "third-name" });
    task.pairs.forEach((p, i) => {
      const e = drawn[i]!;
      expect(p.clean.flatMap((x, t) => (x !== p.corrupted[t] ? [t] : []))).toEqual([e.positions.io]);
      expect(p.wrong).toBe(p.corrupted[e.positions.io]);
    });
  });

  it("draws scoring pairs disjoint from the evaluation pairs, of the asked sizes", () => {
    const { circuitPairs } = buildEvalTask("ioi", model, tokenizer, { name: "t", sizes });
    expect(circuitPairs!.score).toHaveLength(6);
    expect(circuitPairs!.evaluate).toHaveLength(6);
    const evaluated = new Set(circuitPairs!.evaluate.map((p) => p.clean.join(",")));
    expect(circuitPairs!.score.some((p) => evaluated.has(p.clean.join(",")))).toBe(false);
    expect(new Set(circuitPairs!.score.map((p) => p.clean.join(","))).size).toBe(6);
  });
});
