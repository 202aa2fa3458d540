/**
 * MIB's faithfulness, CPR and CMD on MIB's graph, the bootstrap, and the held-out protocol.
 * Areas are checked against values computed by hand; the rest on the fixture models.
 */
import * as T from "@gim/tensor";
import { describe, expect, it } from "vitest";
import {
  bootstrapInterval, bootstrapSamples, graphFromJson, graphToJson, mibGraphOfShape, topEdgeCircuit, checkDisjoint, edgeAttribution, edgeScoresByPair, evaluatePlans, exactEdgePatching, gim, heldOutCircuits, heldOutDifference, logitDiff, mibAreas,
  mibCircuitPlan, mibFractions, mibGraph, prepareEdgeRuns, quantile, summarizeCurve, type CircuitCurve, type CircuitPair,
} from "../src/index.js";
import { fixtureModel } from "./helpers.js";

describe("MIB's areas", () => {
  // f at p = 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.
  const f = [0, 0, 0, 0.1, 0.2, 0.5, 0.8, 0.9, 1, 1];

  it("equal the trapezoids computed by hand", () => {
    // Under f: 0.005*(0+0.1)/2 + 0.01*(0.1+0.2)/2 + 0.03*(0.2+0.5)/2 + 0.05*(0.5+0.8)/2 + 0.1*(0.8+0.9)/2 + 0.3*(0.9+1)/2 + 0.5*(1+1)/2
    //        = 0.00025 + 0.0015 + 0.0105 + 0.0325 + 0.085 + 0.285 + 0.5 = 0.91475.
    // Of |1 - f|: 0.001*1 + 0.003*1 + 0.005*(1+0.9)/2 + 0.01*(0.9+0.8)/2 + 0.03*(0.8+0.5)/2 + 0.05*(0.5+0.2)/2 + 0.1*(0.2+0.1)/2 + 0.3*(0.1+0)/2
    //        = 0.001 + 0.003 + 0.00475 + 0.0085 + 0.0195 + 0.0175 + 0.015 + 0.015 = 0.08425.
    const { areaUnder, areaFromOne } = mibAreas(mibFractions, f);
    expect(areaUnder).toBeCloseTo(0.91475, 14);
    expect(areaFromOne).toBeCloseTo(0.08425, 14);
  });

  it("come from the mean metric over prompts, normalised by the empty circuit and the full model", () => {
    // Two prompts: f = (mean m - mean empty) / (mean full - mean empty) with empty means 1, full means 11.
    const curve: CircuitCurve = {
      ranking: "signed",
      fractions: mibFractions,
      sizes: mibFractions.map((p) => Math.floor(p * 1000)),
      edgeCounts: mibFractions.map((p) => Math.floor(p * 1000)),
      metrics: f.map((x) => [1 + 10 * x - 3, 1 + 10 * x + 3]),
      empty: [0, 2],
      full: [12, 10],
    };
    const s = summarizeCurve(curve);
    s.faithfulness.forEach((x, i) => expect(x).toBeCloseTo(f[i]!, 14));
    expect(s.areaUnder).toBeCloseTo(0.91475, 14);
    // On a resample of prompt 0 twice: empty 0, full 12, m = 10x - 2.
    expect(summarizeCurve(curve, [0, 0]).faithfulness[9]).toBeCloseTo((10 - 2) / 12, 14);
    // Equal full and empty: undefined.
    expect(summarizeCurve({ ...curve, full: curve.empty }).defined).toBe(false);
  });
});

describe("the bootstrap", () => {
  it("draws seeded resamples and takes percentile intervals", () => {
    const a = bootstrapSamples(5, { resamples: 10, seed: 3 });
    const b = bootstrapSamples(5, { resamples: 10, seed: 3 });
    expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
    expect(a.every((s) => s.length === 5 && Array.from(s).every((i) => i >= 0 && i < 5))).toBe(true);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 14);
    // The mean of constant values has a zero-width interval; of varied values, one around the mean.
    const values = [1, 2, 3, 4, 5, 6, 7, 8];
    const samples = bootstrapSamples(values.length, { resamples: 500, seed: 1 });
    const mean = (s?: ArrayLike<number>) => (s ? Array.from(s, (i) => values[i]!) : values).reduce((x, y) => x + y, 0) / values.length;
    const i = bootstrapInterval(mean, samples);
    expect(i.estimate).toBe(4.5);
    expect(i.low).toBeLessThan(4.5);
    expect(i.high).toBeGreaterThan(4.5);
    expect(i.high - i.low).toBeLessThan(4);
    const flat = bootstrapInterval(() => 2, samples);
    expect([flat.low, flat.high]).toEqual([2, 2]);
  });
});

/** Seeded pairs of two lengths (a random fixture model has no task: any answer ids will do). */
function pairs(vocab: number, count: number, seed: number): CircuitPair[] {
  const rng = new T.Rng(seed);
  return Array.from({ length: count }, (_, n) => {
    const length = n % 2 === 0 ? 8 : 10;
    const clean = Array.from({ length }, () => rng.int(vocab));
    const corrupted = [...clean];
    corrupted[3] = (clean[3]! + 1 + rng.int(vocab - 1)) % vocab;
    return { clean, corrupted, answer: 5, wrong: 9 };
  });
}

describe("circuits on MIB's graph", () => {
  const model = fixtureModel("gpt2-f32", "float64");
  const graph = mibGraph(model);

  it("f is 0 for the empty circuit and 1 for the full model, exactly; the empty circuit is the corrupted run", () => {
    const [p] = pairs(model.vocabSize, 1, 4);
    const runs = prepareEdgeRuns(model, [p!.clean], [p!.corrupted], logitDiff({ answer: 5, wrong: 9 }));
    const scores = edgeAttribution(model, [p!.clean], [p!.corrupted], { metric: logitDiff({ answer: 5, wrong: 9 }) }).scores;
    const [signed, absolute] = evaluatePlans(runs, [mibCircuitPlan(graph, scores, "signed"), mibCircuitPlan(graph, scores, "absolute")], { batchSize: 5 });
    for (const curve of [signed!, absolute!]) {
      expect(curve.sizes).toEqual([0, 0, 0, 1, 2, 5, 11, 22, 55, 110]);
      const f = summarizeCurve(curve).faithfulness;
      expect(f[0]).toBe(0);
      expect(f[9]).toBe(1);
      expect(curve.full[0]).toBe(runs.metricClean[0]);
      expect(curve.empty[0]).toBeCloseTo(runs.metricCorrupted[0]!, 10);
      expect(curve.edgeCounts.every((c, i) => c <= curve.sizes[i]!)).toBe(true);
    }
  });

  it("the held-out protocol scores on one set, evaluates on a disjoint one, with intervals", () => {
    const scorePairs = pairs(model.vocabSize, 4, 10);
    const evalPairs = pairs(model.vocabSize, 4, 20);
    expect(() => checkDisjoint(scorePairs, [evalPairs[0]!, scorePairs[2]!])).toThrow(/evaluation pair 1 has the clean prompt of scoring pair 2/);
    const result = heldOutCircuits(model, {
      scorePairs,
      evalPairs,
      methods: [
        { name: "eap", kind: "eap" },
        { name: "gim-eap", kind: "eap", rules: gim() },
        { name: "eap-ig", kind: "eap-ig-inputs", steps: 2 },
        { name: "exact", kind: "exact" },
        { name: "random", kind: "random", draws: 3 },
      ],
      bootstrap: { resamples: 200 },
    });
    const byName = new Map(result.methods.map((m) => [m.spec.name, m]));
    // Scores are the mean over all scoring pairs of the per-group scores (two lengths).
    const metric = (ps: CircuitPair[]) => logitDiff({ answer: ps.map((p) => p.answer), wrong: ps.map((p) => p.wrong) });
    const even = scorePairs.filter((_, i) => i % 2 === 0);
    const odd = scorePairs.filter((_, i) => i % 2 === 1);
    const part = (ps: CircuitPair[], rules = gim()) => edgeAttribution(model, ps.map((p) => p.clean), ps.map((p) => p.corrupted), { metric: metric(ps), rules }).scores;
    const [a, b] = [part(even), part(odd)];
    byName.get("gim-eap")!.scores.forEach((s, i) => expect(s).toBeCloseTo((a[i]! + b[i]!) / 2, 10));
    const runs = prepareEdgeRuns(model, even.map((p) => p.clean), even.map((p) => p.corrupted), metric(even));
    const exactEven = exactEdgePatching(runs).scores;
    expect(byName.get("exact")!.perPair.length).toBe(4);
    byName.get("exact")!.perPair[0]!.forEach((x, i) => expect(x).toBeCloseTo(exactEdgePatching(prepareEdgeRuns(model, [even[0]!.clean], [even[0]!.corrupted], logitDiff({ answer: 5, wrong: 9 }))).scores[i]!, 10));
    expect(exactEven.length).toBe(graph.edges.length);
    // Every curve is over the evaluation pairs; intervals hold their estimates; a method minus itself is exactly 0.
    for (const m of result.methods) {
      expect(m.signed.full.length).toBe(4);
      expect(m.cpr.low).toBeLessThanOrEqual(m.cpr.estimate + 1e-12);
      expect(m.cpr.high).toBeGreaterThanOrEqual(m.cpr.estimate - 1e-12);
      expect(m.cmd.estimate).toBeCloseTo(summarizeCurve(m.absolute).areaFromOne, 14);
    }
    expect(byName.get("eap")!.spearman).toBeDefined();
    expect(byName.get("exact")!.spearman).toBeUndefined();
    const same = heldOutDifference(result, "eap", "eap", "cpr");
    expect([same.estimate, same.low, same.high]).toEqual([0, 0, 0]);
    const d = heldOutDifference(result, "gim-eap", "eap", "cmd");
    expect(d.estimate).toBeCloseTo(byName.get("gim-eap")!.cmd.estimate - byName.get("eap")!.cmd.estimate, 14);
    const rho = heldOutDifference(result, "gim-eap", "eap", "spearman");
    expect(rho.estimate).toBeCloseTo(byName.get("gim-eap")!.spearman!.estimate - byName.get("eap")!.spearman!.estimate, 14);
  });

  it("edgeScoresByPair gives the held-out protocol's per-pair EAP and exact scores, pairs in the same order", () => {
    const scorePairs = pairs(model.vocabSize, 4, 30);
    const evalPairs = pairs(model.vocabSize, 2, 40);
    const held = heldOutCircuits(model, { scorePairs, evalPairs, methods: [{ name: "eap", kind: "eap" }, { name: "gim-eap", kind: "eap", rules: gim() }, { name: "exact", kind: "exact" }], bootstrap: { resamples: 10 } });
    const byPair = edgeScoresByPair(model, scorePairs, [[], gim()], { exact: true });
    expect(byPair.eap.length).toBe(2);
    const same = (a: readonly Float64Array[], b: readonly Float64Array[]) => {
      expect(a.length).toBe(4);
      a.forEach((row, p) => row.forEach((x, e) => expect(x).toBeCloseTo(b[p]![e]!, 10)));
    };
    same(byPair.eap[0]!.perPrompt, held.methods[0]!.perPair);
    same(byPair.eap[1]!.perPrompt, held.methods[1]!.perPair);
    same(byPair.exact!.perPrompt, held.methods[2]!.perPair);
    // GIM's scores differ from plain EAP's somewhere (else the comparison above could not fail on a swap).
    expect(byPair.eap[1]!.scores.some((x, e) => Math.abs(x - byPair.eap[0]!.scores[e]!) > 1e-6)).toBe(true);
    expect(edgeScoresByPair(model, scorePairs, [[]]).exact).toBeUndefined();
    expect(() => edgeScoresByPair(model, [], [[]])).toThrow(/at least one clean\/corrupted pair/);
  });
});

describe("graph files in EAP-IG's layout", () => {
  const graph = mibGraphOfShape({ layers: 2, heads: 4 });
  const scores = graph.edges.map((_, i) => Math.sin(i) * 3);

  it("write cfg, every node and every edge with score and in_graph, and read back the same scores and circuit", () => {
    const circuit = topEdgeCircuit(graph, scores, 12, "absolute");
    const json = graphToJson(graph, scores, { dModel: 64, circuit, metadata: { method: "gim-eap" } });
    expect(json.cfg).toEqual({ n_layers: 2, n_heads: 4, parallel_attn_mlp: false, d_model: 64 });
    expect(Object.keys(json.nodes as object)).toEqual([...graph.senders.map((s) => s.name), "logits"]);
    const edges = json.edges as Record<string, { score: number; in_graph: boolean }>;
    expect(Object.keys(edges).length).toBe(110);
    expect(edges["a0.h1->a1.h2<q>"]!.score).toBe(scores[graph.edgeIndex.get("a0.h1->a1.h2<q>")!]);
    const back = graphFromJson(graph, JSON.stringify(json), "g.json");
    expect(back.scores).toEqual(scores);
    expect(back.circuit.edges).toEqual(circuit.edges);
    expect(back.circuit.nodes).toEqual(circuit.nodes);
    expect(back.metadata).toEqual({ method: "gim-eap" });
    // Without a circuit every edge is out, as EAP-IG's score files are.
    const bare = graphToJson(graph, scores, { dModel: 64 });
    expect(Object.values(bare.edges as Record<string, { in_graph: boolean }>).every((e) => !e.in_graph)).toBe(true);
    expect((bare.nodes as Record<string, { in_graph: boolean }>).logits!.in_graph).toBe(true);
  });

  it("reads a file as EAP-IG writes it (its key order, Python's JSON), and refuses bad ones naming the problem", () => {
    // Edges in another order, node scores and extra cfg keys, as a Python-written file may have them.
    const edges = Object.fromEntries([...graph.edges].reverse().map((e, i) => [e.name, { score: i / 10, in_graph: i < 3 }]));
    const file = JSON.stringify({ cfg: { n_layers: 2, n_heads: 4, parallel_attn_mlp: false, d_model: 64, dtype: "float32" }, nodes: { input: { in_graph: true, score: 1 } }, edges });
    const read = graphFromJson(graph, file, "py.json");
    expect(read.scores[graph.edges.length - 1]).toBe(0);
    expect(read.scores[0]).toBeCloseTo((graph.edges.length - 1) / 10, 12);
    const bad = (text: string) => () => graphFromJson(graph, text, "bad.json");
    expect(bad("{")).toThrow(/^bad\.json: not valid JSON/);
    expect(bad(JSON.stringify({ cfg: {}, nodes: {} }))).toThrow(/bad\.json: "edges" is missing/);
    expect(bad(file.replace('"n_layers":2', '"n_layers":3'))).toThrow(/bad\.json is a graph of 3 layers of 4 heads; the model has 2 layers of 4 heads/);
    expect(bad(file.replace("m1->logits", "m2->logits"))).toThrow(/edge "m2->logits" is not an edge/);
    const missing = JSON.parse(file);
    delete missing.edges["input->a0.h0<q>"];
    expect(bad(JSON.stringify(missing))).toThrow(/edge "input->a0.h0<q>" is missing/);
    expect(bad(file.replace('"score":0,', '"score":"x",'))).toThrow(/needs a finite number "score"/);
    expect(bad(file.replace('"parallel_attn_mlp":false', '"parallel_attn_mlp":true'))).toThrow(/parallel_attn_mlp/);
  });
});
