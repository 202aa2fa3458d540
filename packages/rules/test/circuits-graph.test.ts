/**
 * MIB's graph, edge scores on it and exact edge patching, on the fixture models (random
 * weights: the code paths are the real ones). References come from `run` with hand-made
 * patches, the layout's projection and plain loops, and from the coarse edge scores of
 * `components/edges.ts` (a different graph over the same model), never from the code under test.
 */
import { grad } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { placeVars, run, type CausalLM } from "@gim/transformer";
import { loadModel } from "@gim/transformer/node";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  bindRules, circuitMetrics, edgeAttributionFromRuns, formatTrace, edgeScores, exactEdgePatching, gim, listEdges, logitDiff, mibEdgeCount, mibGraph, mibGraphOfShape, prepareEdgeRuns,
  pruneCircuit, receiverGradients, scoresFromGradients, topEdgeCircuit, placeGradientsOf, receiverPlaces, type MibGraph,
} from "../src/index.js";
import { fixtureModel } from "./helpers.js";

/** A clean prompt and its corruption (two tokens changed), seeded, ids below `vocab`. */
function promptPair(vocab: number, length: number, seed: number): { clean: number[]; corrupted: number[] } {
  const rng = new T.Rng(seed);
  const clean = Array.from({ length }, () => rng.int(vocab));
  const corrupted = [...clean];
  corrupted[2] = (clean[2]! + 7) % vocab;
  corrupted[length - 3] = (clean[length - 3]! + 11) % vocab;
  return { clean, corrupted };
}

/** Edges counted by brute force: (sender, receiver) pairs where the sender writes before the receiver reads. */
function bruteForceEdges(layers: number, heads: number): number {
  // Time of a write/read along the forward: input 0; block l's heads write at 3l + 1 and its MLP at 3l + 2; its q/k/v read at 3l + 0.5, its MLP at 3l + 1.5; logits at 3L.
  const writes = [0, ...Array.from({ length: layers }, (_, l) => [...Array.from({ length: heads }, () => 3 * l + 1), 3 * l + 2]).flat()];
  const reads = [...Array.from({ length: layers }, (_, l) => [...Array.from({ length: 3 * heads }, () => 3 * l + 0.5), 3 * l + 1.5]).flat(), 3 * layers];
  return writes.reduce((n, w) => n + reads.filter((r) => r > w).length, 0);
}

describe("MIB's graph", () => {
  it("has the closed-form number of edges for every shipped and fixture model and for GPT-2 small's shape", () => {
    const expected: [string, number][] = [
      ["ioi-gpt2", 110],
      ["induction-gpt2", 110],
      ["ioi-llama", 262],
    ];
    for (const [name, count] of expected) {
      const graph = mibGraph(loadModel(path.join(path.dirname(fileURLToPath(import.meta.url)), "../../models/models", name)));
      expect(graph.edges.length, name).toBe(count);
      expect(mibEdgeCount(graph), name).toBe(count);
    }
    for (const name of ["gpt2-f32", "llama-gqa-sharded"]) {
      const graph = mibGraph(fixtureModel(name));
      expect(graph.edges.length).toBe(bruteForceEdges(graph.layers, graph.heads));
    }
    expect(mibGraphOfShape({ layers: 12, heads: 12 }).edges.length).toBe(32491);
    expect(mibEdgeCount({ layers: 12, heads: 12 })).toBe(32491);
    for (const [layers, heads] of [[1, 1], [2, 4], [3, 4], [5, 3], [12, 12]] as const) expect(mibEdgeCount({ layers, heads })).toBe(bruteForceEdges(layers, heads));
  });

  it("names nodes and edges as EAP-IG does, with the reference's indices", () => {
    const g = mibGraphOfShape({ layers: 2, heads: 4 });
    expect(g.senders.map((s) => s.name)).toEqual(["input", "a0.h0", "a0.h1", "a0.h2", "a0.h3", "m0", "a1.h0", "a1.h1", "a1.h2", "a1.h3", "m1"]);
    expect(g.receivers.slice(0, 13).map((r) => r.name)).toEqual([...["q", "k", "v"].flatMap((x) => [0, 1, 2, 3].map((h) => `a0.h${h}<${x}>`)), "m0"]);
    expect(g.receivers.length).toBe(2 * (3 * 4 + 1) + 1);
    for (const name of ["a0.h1->a1.h2<q>", "m0->logits", "input->a0.h0<k>", "a1.h3->m1", "m1->logits", "a0.h0->m0"]) expect(g.edgeIndex.has(name), name).toBe(true);
    for (const name of ["a1.h0->a1.h2<q>", "m1->a1.h0<q>", "m0->m0", "m0->a0.h1<v>", "logits->m0"]) expect(g.edgeIndex.has(name), name).toBe(false);
    // The first edges are the reference's: every q, k, v input of each head for one sender, then the next head.
    expect(g.edges.slice(0, 4).map((e) => e.name)).toEqual(["input->a0.h0<q>", "input->a0.h0<k>", "input->a0.h0<v>", "input->a0.h1<q>"]);
    expect(g.edges.at(-1)!.name).toBe("m1->logits");
  });

  it("prunes edges whose sender has no input or whose receiver reaches no logits, to a fixed point", () => {
    const g = mibGraphOfShape({ layers: 2, heads: 4 });
    const keep = (...names: string[]) => g.edges.map((e) => names.includes(e.name));
    const kept = (c: { edges: readonly boolean[] }) => g.edges.filter((_, i) => c.edges[i]).map((e) => e.name);
    // m0 writes nowhere: its input edge goes too.
    expect(kept(pruneCircuit(g, keep("a0.h1->m0")))).toEqual([]);
    // a0.h1 reads nothing: its edge to the logits goes.
    expect(kept(pruneCircuit(g, keep("a0.h1->logits")))).toEqual([]);
    // A path from the input to the logits stays, a dangling branch of it goes (in two rounds).
    const c = pruneCircuit(g, keep("input->a0.h1<q>", "a0.h1->logits", "a0.h1->a1.h0<k>", "a1.h0->m1"));
    expect(kept(c)).toEqual(["input->a0.h1<q>", "a0.h1->logits"]);
    expect(g.senders.filter((_, u) => c.nodes[u]).map((s) => s.name)).toEqual(["input", "a0.h1"]);
    // top-n by signed and by absolute score.
    const scores = g.edges.map((e) => (e.name === "input->logits" ? -5 : e.name === "input->m0" ? 3 : e.name === "m0->logits" ? 2 : 0.001 * e.from));
    expect(kept(topEdgeCircuit(g, scores, 1, "absolute"))).toEqual(["input->logits"]);
    expect(kept(topEdgeCircuit(g, scores, 2, "signed"))).toEqual(["input->m0", "m0->logits"]);
  });
});

/** The write of sender `name` from clean and corrupted caches, independently: resid.pre, mlp.output, or z_h @ W_h with loops. */
function writeDelta(model: CausalLM, name: string, clean: number[], corrupted: number[]): Float64Array {
  const { layout } = model;
  const key = name === "input" ? layout.blocks[0]!.residPre : name.startsWith("m") ? layout.blocks[Number(name.slice(1))]!.mlp.output : layout.blocks[Number(name.slice(1, name.indexOf(".")))]!.attention.z;
  const a = run(model, { ids: [clean] }, { cache: [key], record: false }).cache.require(key);
  const b = run(model, { ids: [corrupted] }, { cache: [key], record: false }).cache.require(key);
  if (!name.startsWith("a")) return Float64Array.from(a.toFlat(), (x, i) => x - b.toFlat()[i]!);
  const layer = Number(name.slice(1, name.indexOf(".")));
  const head = Number(name.slice(name.indexOf(".h") + 2));
  const attention = layout.blocks[layer]!.attention;
  const { perHead } = attention.outputProjection(); // [H, dh, d]
  const [, , steps, dh] = a.shape as [number, number, number, number];
  const d = model.hiddenSize;
  const out = new Float64Array(steps * d);
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < dh; k++) s += (a.get(0, head, t, k) - b.get(0, head, t, k)) * perHead.get(head, k, j);
      out[t * d + j] = s;
    }
  }
  return out;
}

/** The place and head of a receiver by name. */
function receiverOf(model: CausalLM, graph: MibGraph, name: string): { place: string; head?: number } {
  const r = graph.receivers.find((x) => x.name === name)!;
  const b = model.layout.blocks[r.layer];
  if (r.kind === "logits") return { place: model.layout.finalNorm.input };
  if (r.kind === "mlp") return { place: b!.mlpNorm.input };
  const a = b!.attention;
  return { place: r.kind === "q" ? a.qInput : r.kind === "k" ? a.kInput : a.vInput, head: r.head! };
}

/** M of the clean prompt (split q/k/v forward) with `delta` [T * d] added to a receiver's input (one head's slice of it). */
function metricWithShift(model: CausalLM, ids: number[], place: string, head: number | undefined, delta: Float64Array, scale: number, answer: number, wrong: number): number {
  const value = (current: Tensor) => {
    const out = T.clone(current);
    const width = delta.length;
    const at = head === undefined ? 0 : head * width;
    for (let i = 0; i < width; i++) out.data[at + i]! += scale * delta[i]!;
    return out;
  };
  const logits = run(model, { ids: [ids] }, { patches: [{ place, value }], record: false, splitQkv: true }).logits.value; // [1, T, V]
  const last = ids.length - 1;
  return logits.get(0, last, answer) - logits.get(0, last, wrong);
}

const [answer, wrong] = [5, 9];
const metric = logitDiff({ answer, wrong });

describe.each(["gpt2-f32", "llama-gqa-sharded"])("edge scores on MIB's graph of %s", (name) => {
  const model = fixtureModel(name, "float64");
  const { clean, corrupted } = promptPair(model.vocabSize, 9, 3);
  const graph = mibGraph(model);
  const runs = prepareEdgeRuns(model, [clean], [corrupted], metric, { gradientRules: [[], gim()] });
  const [plain, modified] = edgeAttributionFromRuns(runs, [[], gim()]);

  it("plain EAP of an edge is d/da M(x_v + a * delta_u) at a = 0 (float64 central differences)", () => {
    const rng = new T.Rng(11);
    const picks = [graph.edgeIndex.get("input->a0.h0<q>")!, graph.edgeIndex.get(`a0.h1->a1.h${graph.heads - 1}<k>`)!, graph.edgeIndex.get("m0->a1.h2<v>")!, graph.edgeIndex.get("a1.h0->m1")!, graph.edgeIndex.get("m1->logits")!];
    for (let i = 0; i < 4; i++) picks.push(rng.int(graph.edges.length));
    for (const e of picks) {
      const edge = graph.edges[e]!;
      const delta = writeDelta(model, graph.senders[edge.from]!.name, clean, corrupted);
      const { place, head } = receiverOf(model, graph, graph.receivers[edge.to]!.name);
      const eps = 1e-4;
      const derivative = (metricWithShift(model, clean, place, head, delta, eps, answer, wrong) - metricWithShift(model, clean, place, head, delta, -eps, answer, wrong)) / (2 * eps);
      expect(Math.abs(plain!.scores[e]! - derivative), edge.name).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(derivative), 1e-3));
    }
  });

  it("per-head q/k/v edge scores of one sender into one block sum to the coarse edge score (plain and GIM)", () => {
    const coarseEdges = listEdges(model);
    const coarseName = (sender: string, layer: number, kind: "attn" | "mlp" | "logits") => {
      const { layout } = model;
      const from = sender === "input" ? "embed" : sender.startsWith("m") ? layout.blocks[Number(sender.slice(1))]!.mlp.path : `${layout.blocks[Number(sender.slice(1, sender.indexOf(".")))]!.attention.path}.head${sender.slice(sender.indexOf(".h") + 2)}`;
      const to = kind === "logits" ? "logits" : kind === "mlp" ? layout.blocks[layer]!.mlp.path : layout.blocks[layer]!.attention.path;
      return `${from} -> ${to}`;
    };
    for (const [rules, mib] of [[[], plain], [gim(), modified]] as const) {
      const coarse = edgeScores(model, clean, corrupted, { metric, rules });
      const byName = new Map(coarseEdges.map((e, i) => [e.name, coarse.scores[i]!]));
      let compared = 0;
      for (const s of graph.senders) {
        for (let l = 0; l < graph.layers; l++) {
          const into = graph.edges.map((e, i) => [e, i] as const).filter(([e]) => e.from === s.index && graph.receivers[e.to]!.layer === l && graph.receivers[e.to]!.kind !== "mlp");
          if (into.length === 0) continue;
          expect(into.length).toBe(3 * graph.heads);
          const total = into.reduce((sum, [, i]) => sum + mib!.scores[i]!, 0);
          const expected = byName.get(coarseName(s.name, l, "attn"))!;
          expect(Math.abs(total - expected), `${s.name} -> block ${l}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
          compared++;
        }
        // MLP inputs and the logits are the same receivers in both graphs.
        const logitsEdge = graph.edgeIndex.get(`${s.name}->logits`)!;
        expect(mib!.scores[logitsEdge]).toBeCloseTo(byName.get(coarseName(s.name, graph.layers, "logits"))!, 9);
      }
      expect(compared).toBeGreaterThan(graph.layers);
    }
    // GIM changes the q/k edges more than a rounding error.
    const qk = graph.edges.map((e, i) => [e, i] as const).filter(([e]) => ["q", "k"].includes(graph.receivers[e.to]!.kind));
    expect(Math.max(...qk.map(([, i]) => Math.abs(plain!.scores[i]! - modified!.scores[i]!)))).toBeGreaterThan(1e-3 * Math.max(...plain!.scores.map(Math.abs)));
  });

  it("EAP-IG with one step is EAP with the gradient taken at the step's point (the corrupted run)", () => {
    const oneStep = edgeAttributionFromRuns(runs, [[], gim()], { method: "eap-ig-inputs", steps: 1 });
    const corruptedRun = run(model, { ids: [corrupted] }, { splitQkv: true });
    const atCorrupted = placeGradientsOf(corruptedRun, model, metric, receiverPlaces(runs.places), [[], gim()]);
    for (const r of [0, 1]) {
      const expected = scoresFromGradients(runs, [atCorrupted[r]!]).scores;
      oneStep[r]!.scores.forEach((s, i) => expect(Math.abs(s - expected[i]!)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(expected[i]!))));
    }
    // and differs from EAP at the clean run.
    expect(oneStep[0]!.scores.some((s, i) => Math.abs(s - plain!.scores[i]!) > 1e-6)).toBe(true);
  });

  it("completeness: plain EAP-IG scores of the edges leaving the input sum to M(clean) - M(corrupted) within 1%", () => {
    const [ig] = edgeAttributionFromRuns(runs, [[]], { method: "eap-ig-inputs", steps: 256 });
    const total = graph.edges.reduce((sum, e, i) => sum + (e.from === 0 ? ig!.scores[i]! : 0), 0);
    const effect = runs.metricClean[0]! - runs.metricCorrupted[0]!;
    expect(Math.abs(effect)).toBeGreaterThan(1e-3);
    expect(Math.abs(total - effect)).toBeLessThan(0.01 * Math.abs(effect));
  });

  it("EAP-IG on activations averages the gradients of runs with one layer-level node interpolated", () => {
    const [acts] = edgeAttributionFromRuns(runs, [[]], { method: "eap-ig-activations", steps: 2 });
    // By hand: every node list (input, each block's heads, each MLP) at alpha = 1/2 and 1.
    const lists = [runs.places.input, ...runs.places.z.flatMap((z, l) => [z, runs.places.mlpOutput[l]!])];
    const gradients = lists.flatMap((place) =>
      [0.5, 1].map((alpha) => {
        const c = runs.cleanCache.require(place);
        const x = runs.corruptedCache.require(place);
        const value = T.add(T.mul(c, alpha), T.mul(x, 1 - alpha));
        return receiverGradients(runs, run(model, { ids: [clean] }, { patches: [{ place, value }], splitQkv: true }), [[]])[0]!;
      }),
    );
    const expected = scoresFromGradients(runs, gradients).scores;
    acts!.scores.forEach((s, i) => expect(s).toBeCloseTo(expected[i]!, 12));
  });

  it("exact edge patching is M(clean) - M(clean with that receiver seeing the sender's corrupted write)", () => {
    const exact = exactEdgePatching(runs, { batchSize: 13 });
    const reference = runs.metricClean[0]!;
    for (const name of ["input->a0.h1<q>", "a0.h2->m0", `m0->a1.h${graph.heads - 1}<v>`, "m1->logits"]) {
      const e = graph.edges[graph.edgeIndex.get(name)!]!;
      const delta = writeDelta(model, graph.senders[e.from]!.name, clean, corrupted);
      const { place, head } = receiverOf(model, graph, graph.receivers[e.to]!.name);
      const patched = metricWithShift(model, clean, place, head, delta, -1, answer, wrong);
      expect(exact.scores[graph.edgeIndex.get(name)!]).toBeCloseTo(reference - patched, 10);
    }
  });

  it("removing every edge gives the corrupted run, removing none the clean run", () => {
    const none = graph.edges.map(() => false);
    const all = graph.edges.map(() => true);
    const [empty, full] = circuitMetrics(runs, [none, all], { batchSize: 1 });
    expect(empty![0]).toBeCloseTo(runs.metricCorrupted[0]!, 10);
    expect(full![0]).toBe(runs.metricClean[0]!);
  });

  it("a mean over one reference prompt per position is the patching of that prompt; a mean over positions keeps the position embeddings", () => {
    const positional = prepareEdgeRuns(model, [clean], [corrupted], metric, { ablation: "mean-positional", meanPrompts: [corrupted] });
    positional.replacement.forEach((r, u) => expect(Array.from(r)).toEqual(Array.from(runs.replacement[u]!)));
    // One token everywhere: the token part of the input's mean is that token's embedding, so the input carries the all-that-token run's embeddings.
    const same = Array.from({ length: clean.length }, () => 4);
    const mean = prepareEdgeRuns(model, [clean], [corrupted], metric, { ablation: "mean", meanPrompts: [same] });
    const key = model.layout.blocks[0]!.residPre;
    const expected = run(model, { ids: [same] }, { cache: [key], record: false }).cache.require(key).toFlat();
    Array.from(mean.replacement[0]!).forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 12));
  });
});

describe("GIM in the split q/k/v forward", () => {
  it("fires at the same places as in the fused forward", () => {
    for (const name of ["gpt2-f32", "llama-gqa-sharded"]) {
      const model = fixtureModel(name, "float64");
      const { clean } = promptPair(model.vocabSize, 7, 5);
      const traceOf = (splitQkv: boolean) => {
        const y = run(model, { ids: [clean] }, { splitQkv }).logit(-1, answer);
        const key = model.layout.blocks[0]!.residPre;
        return formatTrace(grad(y, [placeVars(y, [key]).get(key)!], { rules: bindRules(model, gim()).rules, trace: true }).trace);
      };
      expect(traceOf(true)).toBe(traceOf(false));
      expect(traceOf(true)).toContain("gim.kScale");
    }
  });
});
