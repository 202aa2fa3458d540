/**
 * `runEval` end to end on a fixture model with a small synthetic task: progress, the random
 * baseline's seed, a rule with no place giving exactly the plain gradient, token summaries
 * against per-example recomputation, and the component evaluation over pairs of two lengths
 * against exact patching of every pair on its own.
 */
import { describe, expect, it } from "vitest";
import { circuitFaithfulness, exactComponentScores, explainMethods, logitDiff, rankTokens, targetLogitFunction, tokenFaithfulness } from "@gim/rules";
import { evaluateComponents, evaluateSelfRepair, runEval, runProtocol, type EvalProgress, type EvalTask } from "../src/index.js";
import { fixtureModel, ids } from "./helpers.js"; // ids in 1..95: never the baseline 0

const model = fixtureModel("gpt2-f32");
const BASELINE = 0;

const examples = [ids(9, 1), ids(9, 2), ids(12, 3), ids(7, 4)].map((x, i) => ({ ids: x, target: 10 + i, evidence: { one: [2], two: [2, 3] } }));
const pairs = [
  { clean: ids(8, 5), corrupted: [...ids(8, 5).slice(0, 3), 77, ...ids(8, 5).slice(4)], answer: 11, wrong: 12 },
  { clean: ids(8, 6), corrupted: [...ids(8, 6).slice(0, 2), 66, ...ids(8, 6).slice(3)], answer: 13, wrong: 14 },
  { clean: ids(10, 7), corrupted: [...ids(10, 7).slice(0, 5), 55, ...ids(10, 7).slice(6)], answer: 15, wrong: 16 },
];
const task: EvalTask = {
  name: "fixture",
  description: "a random GPT-2 fixture.",
  model,
  baseline: BASELINE,
  baselineDescription: "id 0",
  evidenceSets: [
    { name: "one", description: "position 2" },
    { name: "two", description: "{2, 3}" },
  ],
  examples,
  selfRepairExamples: examples.slice(0, 2),
  pairs,
  pairDescription: "one token replaced.",
};

describe("runEval", () => {
  const progress: EvalProgress[] = [];
  const results = runEval([task], { seed: 5, onProgress: (p) => progress.push(p) });
  const m = results.models[0]!;
  const method = (name: string) => m.tokens.methods.find((x) => x.method === name)!;

  it("reports progress up to the total, in order", () => {
    const total = examples.length + pairs.length + 2 + 2; // the protocol runs on the 2 self-repair examples (no circuit pairs, so no link)
    expect(progress.every((p) => p.total === total)).toBe(true);
    expect(progress[progress.length - 1]!.done).toBe(total);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
    expect(new Set(progress.map((p) => p.stage))).toEqual(new Set(["tokens", "components", "self-repair", "self-repair protocol"]));
  });

  it("evaluates every method; the gate/up scale has no place in GPT-2 and equals the gradient exactly", () => {
    expect(m.tokens.methods.map((x) => x.method)).toEqual(["gradient", "gim", "freezeNorm", "softmaxTemperature", "qkvScale", "gateUpScale", "integratedGradients", "occlusion", "random"]);
    expect(method("gateUpScale").note).toMatch(/equals gradient/);
    expect(method("gateUpScale").comprehensiveness).toEqual(method("gradient").comprehensiveness);
    expect(method("gateUpScale").sufficiencyCurve).toEqual(method("gradient").sufficiencyCurve);
    expect(method("gim").note).toBeUndefined();
    expect(m.tokens.examples).toBe(4);
    expect(m.tokens.rankable).toEqual({ min: 5, max: 10 });
  });

  it("averages the per-example metrics of the definition", () => {
    const perExample = examples.map((e) => {
      const [gim] = explainMethods(model, e.ids, ["gim"], { target: e.target, baseline: BASELINE });
      const [r] = tokenFaithfulness(e.ids, [rankTokens(gim!.attributions)], targetLogitFunction(model, { target: e.target }), { baseline: BASELINE });
      return { r: r!, top: rankTokens(gim!.attributions)[0]! };
    });
    const defined = perExample.filter((x) => x.r.defined);
    expect(m.tokens.undefinedExamples).toBe(examples.length - defined.length);
    const mean = defined.reduce((s, x) => s + x.r.comprehensiveness, 0) / defined.length;
    expect(method("gim").comprehensiveness.mean).toBeCloseTo(mean, 6);
    expect(method("gim").comprehensiveness.count).toBe(defined.length);
    // Alignment: the cosine of the gradient at the evidence token's embedding (position 2) with e_t - e_b, by loops.
    const cosines = examples.map((e) => {
      const [gim] = explainMethods(model, e.ids, ["gim"], { target: e.target, baseline: BASELINE });
      const g = gim!.gradient!;
      const emb = model.embedTokens(e.ids);
      const base = model.embedTokens([BASELINE]);
      let sum = 0;
      for (const t of [2]) {
        let gx = 0;
        let gg = 0;
        let xx = 0;
        for (let i = 0; i < model.hiddenSize; i++) {
          const x = emb.get(t, i) - base.get(0, i);
          gx += g.get(t, i) * x;
          gg += g.get(t, i) ** 2;
          xx += x * x;
        }
        sum += gx / Math.sqrt(gg * xx);
      }
      return sum; // at the first evidence set's position, 2
    });
    expect(method("gim").alignment!.mean).toBeCloseTo(cosines.reduce((a, b) => a + b, 0) / cosines.length, 6);
    expect(method("random").alignment).toBeUndefined();
    expect(method("occlusion").alignment).toBeUndefined();
    const hits = perExample.filter((x) => x.top === 2).length;
    expect(method("gim").evidence["one"]!.hits).toBe(hits);
    // The comprehensiveness curve has one value per k up to the longest example's n (rankable: 7, 7, 10, 5),
    // each over the examples with f(x) > 0 that have k rankable tokens.
    expect(method("gim").comprehensivenessCurve).toHaveLength(10);
    const rankable = [7, 7, 10, 5].filter((_, i) => perExample[i]!.r.defined);
    expect(m.tokens.stepCounts).toEqual(Array.from({ length: Math.max(...rankable) }, (_, i) => rankable.filter((n) => n > i).length));
  });

  it("seeds the random baseline", () => {
    const again = runEval([task], { seed: 5, methods: ["random"], components: false, selfRepair: false }).models[0]!.tokens.methods[0]!;
    const other = runEval([task], { seed: 6, methods: ["random"], components: false, selfRepair: false }).models[0]!.tokens.methods[0]!;
    expect(again.comprehensiveness).toEqual(method("random").comprehensiveness);
    expect(other.comprehensivenessCurve).not.toEqual(method("random").comprehensivenessCurve);
  });

  it("measures self-repair rows with every method", () => {
    const s = m.selfRepair!;
    expect(s.examples).toBe(2);
    expect(s.rowsMeasured).toBeGreaterThan(0);
    expect(s.rowsThatMatter).toBe(s.selfRepair.rows + s.additive.rows);
    expect(Object.keys(s.jointSpearman)).toEqual(["gradient", "softmax-temperature", "gim"]);
    expect(Object.keys(s.gradientSpearman)).toEqual(["gradient", "softmax-temperature", "gim"]);
    expect(Object.keys(s.visibility)).toEqual(["gradient", "softmax-temperature", "gim"]);
    // Each strongest row is a self-repair row by the criteria, labelled by position.
    for (const r of s.strongest) {
      expect(Math.abs(r.effects.first) + Math.abs(r.effects.second)).toBeLessThanOrEqual(s.criteria.maxAloneShare * r.effects.both);
      expect(r.labels.keys[0]).toBe(`@${r.keys[0]}${[2, 3].includes(r.keys[0]) ? ` (${r.keys[0] === 2 ? "one, two" : "two"})` : ""}`);
    }
  });

  it("gives the self-repair shares pooled over examples, with intervals that resample examples", () => {
    const lax = evaluateSelfRepair(model, examples, { methods: [{ name: "gradient", rules: [] }], criteria: { minJointEffect: 0, maxAloneShare: 0.9 }, resamples: 200 });
    expect(lax.selfRepair.rows).toBeGreaterThan(0);
    expect(lax.shareOfMeasured.estimate).toBeCloseTo(lax.selfRepair.rows / lax.rowsMeasured, 12);
    expect(lax.shareOfMatter.estimate).toBeCloseTo(lax.selfRepair.rows / lax.rowsThatMatter, 12);
    for (const i of [lax.shareOfMeasured, lax.shareOfMatter]) {
      expect(i.low).toBeLessThanOrEqual(i.estimate);
      expect(i.high).toBeGreaterThanOrEqual(i.estimate);
      expect(i.high).toBeGreaterThan(i.low); // four examples with different rows: the resamples differ
    }
    // One example: every resample is that example, so the interval is a point.
    const one = evaluateSelfRepair(model, examples.slice(0, 1), { methods: [{ name: "gradient", rules: [] }], criteria: { minJointEffect: 0, maxAloneShare: 0.9 }, resamples: 50 });
    expect([one.shareOfMeasured.low, one.shareOfMeasured.high]).toEqual([one.shareOfMeasured.estimate, one.shareOfMeasured.estimate]);
  });

  it("runs the self-repair parts alone: the measurement, the protocol, or both, as the whole run does", () => {
    const alone = runProtocol([task], { selfRepair: true, protocol: false, seed: 5 }).models[0]!;
    expect(alone.protocol).toBeUndefined();
    expect(alone.selfRepair!.rowsMeasured).toBe(m.selfRepair!.rowsMeasured);
    expect(alone.selfRepair!.selfRepair.rows).toBe(m.selfRepair!.selfRepair.rows);
    expect(alone.selfRepair!.jointSpearman).toEqual(m.selfRepair!.jointSpearman);
    const protocolOnly = runProtocol([task]).models[0]!;
    expect(protocolOnly.selfRepair).toBeUndefined();
    expect(protocolOnly.protocol!.rowCount).toBe(m.protocol!.rowCount);
    expect(() => runProtocol([task], { selfRepair: false, protocol: false })).toThrow(/neither the self-repair measurement nor the protocol/);
  });

  it("refuses an empty task list or method list, and a task without pairs", () => {
    expect(() => runEval([])).toThrow(/no models to evaluate/);
    expect(() => runEval([task], { methods: [] })).toThrow(/no methods/);
    expect(() => runEval([{ ...task, pairs: [] }])).toThrow(/fixture: no clean\/corrupted pairs/);
  });
});

describe("evaluateComponents over pairs of two lengths", () => {
  const methods = [{ name: "gradient", rules: [] }];
  const result = evaluateComponents(model, pairs, { methods });
  const exact = result.sources.find((s) => s.name === "exact")!;

  it("sums exact patching as the mean over pairs, each patched on its own", () => {
    const perPair = pairs.map((p) => exactComponentScores(model, p.clean, p.corrupted, { metric: logitDiff({ answer: p.answer, wrong: p.wrong }) }).scores);
    const mean = perPair[0]!.map((_, c) => perPair.reduce((s, x) => s + x[c]!, 0) / pairs.length);
    exact.nodes.scores.forEach((v, c) => expect(v).toBeCloseTo(mean[c]!, 5));
    expect(result.groups).toEqual([
      { length: 8, pairs: 2 },
      { length: 10, pairs: 1 },
    ]);
  });

  it("has faithfulness 0 for the empty circuit and 1 for the full one", () => {
    for (const s of result.sources) {
      for (const curve of [s.nodes.signed, s.nodes.absolute, s.edges.signed, s.edges.absolute]) {
        expect(curve.defined).toBe(true);
        expect(curve.faithfulness[0]).toBeCloseTo(0, 12);
        expect(curve.faithfulness[curve.faithfulness.length - 1]).toBeCloseTo(1, 12);
        expect(curve.ks).toEqual(Array.from({ length: curve.total + 1 }, (_, k) => k));
      }
    }
  });

  it("equals the library's circuit curve when all pairs have one length", () => {
    const same = pairs.slice(0, 2);
    const one = evaluateComponents(model, same, { methods });
    const scores = one.sources[0]!.nodes.scores;
    const metric = logitDiff({ answer: same.map((p) => p.answer), wrong: same.map((p) => p.wrong) });
    const direct = circuitFaithfulness(model, same.map((p) => p.clean), same.map((p) => p.corrupted), scores, { metric, ks: one.sources[0]!.nodes.signed.ks });
    one.sources[0]!.nodes.signed.faithfulness.forEach((f, i) => expect(f).toBeCloseTo(direct.faithfulness[i]!, 6));
    expect(one.sources[0]!.nodes.signed.area).toBeCloseTo(direct.area, 6);
  });

  it("names a pair whose prompts differ in length", () => {
    expect(() => evaluateComponents(model, [{ clean: [1, 2, 3], corrupted: [1, 2], answer: 1, wrong: 2 }], { methods })).toThrow(/pair 0: the clean prompt has 3 tokens, the corrupted one 2/);
    expect(() => evaluateComponents(model, [], { methods })).toThrow(/at least one clean\/corrupted pair/);
  });
});

describe("runEval on a Llama (grouped-query attention, gated MLP)", () => {
  const llama = fixtureModel("llama-gqa-sharded");
  const llamaTask: EvalTask = { ...task, name: "llama", model: llama, examples: examples.slice(0, 2), selfRepairExamples: examples.slice(0, 1), pairs: pairs.slice(0, 2) };
  const m = runEval([llamaTask], { methods: ["gradient", "gateUpScale", "softmaxTemperature"], igSteps: 2 }).models[0]!;

  it("applies the gate/up scale (no note) and compares it with the gradient per example", () => {
    const gateUp = m.tokens.methods.find((x) => x.method === "gateUpScale")!;
    expect(gateUp.note).toBeUndefined();
    expect(gateUp.versusGradient!.comprehensiveness.count).toBe(m.tokens.examples - m.tokens.undefinedExamples);
    expect(m.architecture).toBe("llama, 3 layers, 4 heads (2 kv), width 32, vocab 100");
  });

  it("scores every head of every layer, and splits the measured attention rows consistently", () => {
    expect(m.components!.nodes).toHaveLength(1 + 3 * 4 + 3);
    const s = m.selfRepair!;
    expect(s.rowsMeasured).toBeGreaterThan(0);
    expect(s.rowsThatMatter).toBeLessThanOrEqual(s.rowsMeasured);
    expect(s.selfRepair.rows + s.additive.rows).toBe(s.rowsThatMatter);
    expect(s.selfRepairByLayer.length).toBeLessThanOrEqual(3);
    expect(s.selfRepairByLayer.reduce((a, b) => a + b, 0)).toBe(s.selfRepair.rows);
  });
});
