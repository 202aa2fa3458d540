/**
 * Component attribution on the fixture models (random weights: the numbers mean nothing, the
 * code paths are the real ones). References are built from `run`/`patchHead`/`placeVars` of
 * @gim/transformer and plain loops, never from the component code under test; the plain
 * gradient is also checked against float64 central differences of the metric.
 */
import { grad, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { patchHead, placeVars, run, type CausalLM } from "@gim/transformer";
import { describe, expect, it } from "vitest";
import {
  bindRules,
  componentGraph, componentScores, edgeScores, exactComponentScores, exactEdgeScores, gim, graphPlaces, headContributions, listComponents, listEdges, logitDiff,
  placeGradients, preparePair, runPatched, targetLogit, type Metric,
} from "../src/index.js";
import { expectClose, fixtureModel } from "./helpers.js";

const models = ["gpt2-f32", "llama-gqa-sharded"] as const;

/** A clean prompt and its corruption (two tokens changed), seeded, ids below `vocab`. */
function promptPair(vocab: number, length: number, seed: number): { clean: number[]; corrupted: number[] } {
  const rng = new T.Rng(seed);
  const clean = Array.from({ length }, () => Math.floor(rng.uniform() * vocab));
  const corrupted = [...clean];
  corrupted[2] = (clean[2]! + 7) % vocab;
  corrupted[length - 3] = (clean[length - 3]! + 11) % vocab;
  return { clean, corrupted };
}

/** logit[a] - logit[w] at the last position of sequence 0, read straight from the logits. */
function logitDiffOf(logits: Tensor, a: number, w: number): number {
  const last = logits.shape[logits.ndim - 2]! - 1;
  return logits.ndim === 3 ? logits.get(0, last, a) - logits.get(0, last, w) : logits.get(last, a) - logits.get(last, w);
}

const answer = 5;
const wrong = 9;
const metric: Metric = logitDiff({ answer, wrong });

/** M of the clean prompt with the activation at `place` replaced by `value` (one sequence). */
function metricWith(model: CausalLM, ids: number[], place: string, value: Tensor | ((t: Tensor) => Tensor)): number {
  return logitDiffOf(run(model, { ids: [ids] }, { patches: [{ place, value }], record: false }).logits.value, answer, wrong);
}

function cacheOf(model: CausalLM, ids: number[], keys: string[]): Map<string, Tensor> {
  return run(model, { ids: [ids] }, { cache: keys, record: false }).cache;
}

/** A copy of `a` with `b` added times `eps`, only on head `head`'s slice [:, head] when given. */
function shifted(a: Tensor, b: Tensor, eps: number, head?: number): Tensor {
  const out = T.clone(a);
  const [, heads = 1, steps = 1, dh = 1] = a.shape;
  for (let i = 0; i < out.size; i++) {
    if (head !== undefined && Math.floor(i / (steps * dh)) % heads !== head) continue;
    out.data[i] = out.data[i]! + eps * b.data[i]!;
  }
  return out;
}

describe.each(models)("components of %s", (name) => {
  const model = fixtureModel(name);
  const model64 = fixtureModel(name, "float64");
  const { clean, corrupted } = promptPair(model.vocabSize, 9, 3);

  it("lists the embeddings, every head and every MLP, named by module path, and the inputs edges end at", () => {
    const graph = componentGraph(model);
    const heads = model.places().find((p) => p.tags.includes("attn.z"))!.shape[1]!;
    const layers = graph.layers;
    expect(graph.components.length).toBe(1 + layers * (heads + 1));
    const attn = name.startsWith("gpt2") ? "h.1.attn" : "model.layers.1.self_attn";
    const mlp = name.startsWith("gpt2") ? "h.1.mlp" : "model.layers.1.mlp";
    const names = graph.components.map((c) => c.name);
    expect(names[0]).toBe("embed");
    expect(names).toContain(`${attn}.head${heads - 1}`);
    expect(names).toContain(mlp);
    const head = graph.components.find((c) => c.name === `${attn}.head2`)!;
    expect(head).toMatchObject({ kind: "head", layer: 1, place: `${attn}:attn.z`, head: 2 });
    expect(graph.components.find((c) => c.name === mlp)).toMatchObject({ kind: "mlp", layer: 1, place: `${mlp}:mlp.output` });
    // Inputs: per block the attention's and the MLP's norm input, then the final norm's.
    expect(graph.inputs.map((i) => i.kind)).toEqual([...Array.from({ length: layers }, () => ["attn", "mlp"]).flat(), "logits"]);
    const norm1 = name.startsWith("gpt2") ? "h.1.ln_2:norm.input" : "model.layers.1.post_attention_layernorm:norm.input";
    const mlpInput = graph.inputs.find((i) => i.name === mlp)!;
    expect(mlpInput.place).toBe(norm1);
    // Upstream of block 1's MLP: embed, all heads and MLPs of block 0, and block 1's heads.
    expect(mlpInput.upstream.map((u) => graph.components[u]!.name)).toEqual(names.filter((n) => n !== mlp && !n.includes(name.startsWith("gpt2") ? "h.2" : "layers.2")));
    expect(graph.inputs.at(-1)!.upstream.length).toBe(graph.components.length);
    expect(listEdges(model).length).toBe(graph.inputs.reduce((n, i) => n + i.upstream.length, 0));
  });

  it("plain attribution scores are minus the derivative of M along a_corrupted - a_clean (float64 central differences)", () => {
    const scores = componentScores(model64, clean, corrupted, { metric });
    const components = listComponents(model64);
    const picks = [0, 2, components.findIndex((c) => c.kind === "mlp"), components.length - 2];
    for (const i of picks) {
      const c = components[i]!;
      const a = cacheOf(model64, clean, [c.place]).get(c.place)!;
      const b = cacheOf(model64, corrupted, [c.place]).get(c.place)!;
      const direction = T.sub(b, a);
      const eps = 1e-5;
      const up = metricWith(model64, clean, c.place, shifted(a, direction, eps, c.head));
      const down = metricWith(model64, clean, c.place, shifted(a, direction, -eps, c.head));
      const derivative = (up - down) / (2 * eps);
      expect(Math.abs(scores.scores[i]! + derivative)).toBeLessThan(2e-8 * Math.max(1, Math.abs(derivative)));
    }
  });

  it("placeGradients on a prepared pair gives the gradients preparePair takes from its own clean run", () => {
    const ruleSets = [[], gim()];
    const withGradients = preparePair(model, clean, corrupted, metric, ruleSets);
    const without = preparePair(model, clean, corrupted, metric);
    expect(without.gradients).toBeUndefined();
    const again = placeGradients(without, ruleSets);
    expect(withGradients.gradients).toHaveLength(2);
    for (const [r, g] of again.entries()) {
      for (const [place, value] of g.byPlace) expect(Array.from(withGradients.gradients![r]!.byPlace.get(place)!.toFlat())).toEqual(Array.from(value.toFlat()));
    }
    expect(Array.from(withGradients.cleanCache.require(graphPlaces(withGradients.graph)[0]!).toFlat())).toEqual(Array.from(without.cleanCache.require(graphPlaces(without.graph)[0]!).toFlat()));
  });

  it("GIM and plain scores are sum over batch, positions and features of dM/da * (a_clean - a_corrupted), head by head", () => {
    for (const rules of [[], gim()]) {
      const scores = componentScores(model64, clean, corrupted, { metric, rules });
      const components = listComponents(model64);
      const out = run(model64, { ids: [clean] });
      expect(out.logit(-1, answer).item() - out.logit(-1, wrong).item()).toBeCloseTo(scores.metricClean, 12);
      const L = { l: out.logit(-1, answer), r: out.logit(-1, wrong) };
      const places = [...new Set(components.map((c) => c.place))];
      const vars = placeVars(L.l, places);
      const xs = places.map((p) => vars.get(p)!);
      const bound = bindRules(model64, rules).rules; // GPT-2 has no gated MLP: the gate/up rules have no place
      const ga = grad(L.l, xs, { rules: bound });
      const gw = grad(L.r, xs, { rules: bound });
      const corr = cacheOf(model64, corrupted, places);
      components.forEach((c, i) => {
        const k = places.indexOf(c.place);
        const g = T.sub(ga[k]!, gw[k]!); // dM/da for M = logit[answer] - logit[wrong]
        const a = xs[k]!.value;
        const b = corr.get(c.place)!;
        let expected = 0;
        for (let j = 0; j < a.size; j++) {
          if (c.head !== undefined) {
            const [, heads, steps, dh] = a.shape as [number, number, number, number];
            if (Math.floor(j / (steps * dh)) % heads !== c.head) continue;
          }
          expected += g.data[j]! * (a.data[j]! - b.data[j]!);
        }
        expect(Math.abs(scores.scores[i]! - expected)).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected)));
      });
    }
  });

  it("GIM scores differ from plain ones", () => {
    const plain = componentScores(model, clean, corrupted, { metric }).scores;
    const modified = componentScores(model, clean, corrupted, { metric, rules: gim() }).scores;
    const scale = Math.max(...plain.map(Math.abs));
    const biggest = Math.max(...plain.map((p, i) => Math.abs(p - modified[i]!)));
    expect(biggest).toBeGreaterThan(0.05 * scale);
  });

  it("exact patching of a component equals a manual run with that head (or place) patched from the corrupted run", () => {
    for (const m of [model, model64]) {
      const exact = exactComponentScores(m, clean, corrupted, { metric, batchSize: 7 });
      const components = listComponents(m);
      const reference = logitDiffOf(run(m, { ids: [clean] }, { record: false }).logits.value, answer, wrong);
      const corr = cacheOf(m, corrupted, [...new Set(components.map((c) => c.place))]);
      components.forEach((c, i) => {
        const source = corr.get(c.place)!;
        const patched = c.head !== undefined ? metricWith(m, clean, c.place, patchHead(c.place, c.head, source).value) : metricWith(m, clean, c.place, source);
        expect(Math.abs(exact.scores[i]! - (reference - patched))).toBeLessThanOrEqual(m.dtype === "float64" ? 1e-12 : 1e-5);
      });
      // The embeddings carry the whole difference: patching them is the corrupted run.
      expect(exact.scores[0]).toBeCloseTo(exact.metricClean - exact.metricCorrupted, m.dtype === "float64" ? 10 : 5);
    }
  });

  it("results do not depend on the batch size of the patched runs", () => {
    const a = exactComponentScores(model, clean, corrupted, { metric, batchSize: 1 }).scores;
    const b = exactComponentScores(model, clean, corrupted, { metric, batchSize: 64 }).scores;
    expectClose(a, b, 0, 0);
  });

  it("a batch of prompt pairs scores the mean of the pairs' scores", () => {
    const second = promptPair(model64.vocabSize, 9, 8);
    const batchMetric = logitDiff({ answer: [answer, 3], wrong: [wrong, 4] });
    for (const rules of [[], gim()]) {
      const both = componentScores(model64, [clean, second.clean], [corrupted, second.corrupted], { metric: batchMetric, rules }).scores;
      const one = componentScores(model64, clean, corrupted, { metric, rules }).scores;
      const two = componentScores(model64, second.clean, second.corrupted, { metric: logitDiff({ answer: 3, wrong: 4 }), rules }).scores;
      expectClose(both, one.map((x, i) => (x + two[i]!) / 2), 1e-12, 1e-10);
    }
    const exactBoth = exactComponentScores(model64, [clean, second.clean], [corrupted, second.corrupted], { metric: batchMetric, batchSize: 5 }).scores;
    const exactOne = exactComponentScores(model64, clean, corrupted, { metric }).scores;
    const exactTwo = exactComponentScores(model64, second.clean, second.corrupted, { metric: logitDiff({ answer: 3, wrong: 4 }) }).scores;
    expectClose(exactBoth, exactOne.map((x, i) => (x + exactTwo[i]!) / 2), 1e-12, 1e-10);
  });

  it("identical clean and corrupted prompts give scores of exactly 0", () => {
    for (const rules of [[], gim()]) {
      expect(componentScores(model, clean, clean, { metric, rules }).scores.every((s) => s === 0)).toBe(true);
      expect(edgeScores(model, clean, clean, { metric, rules }).scores.every((s) => s === 0)).toBe(true);
    }
    expect(exactComponentScores(model, clean, clean, { metric }).scores.every((s) => s === 0)).toBe(true);
  });

  it("per-head residual contributions plus the projection bias sum to the attention output", () => {
    for (const m of [model64, fixtureModel("qwen2-f32", "float64"), fixtureModel(name.startsWith("gpt2") ? "gpt2-prefixed-f16" : "llama-head-dim", "float64")]) {
      const ids = promptPair(m.vocabSize, 6, 1).clean;
      const attnPaths = [...new Set(listComponents(m).filter((c) => c.kind === "head").map((c) => c.path))];
      const cache = cacheOf(m, ids, attnPaths.flatMap((p) => [`${p}:attn.z`, `${p}:attn.output`]));
      for (const path of attnPaths) {
        const z = cache.get(`${path}:attn.z`)!; // [1, H, T, dh]
        const contributions = headContributions(m, path, z); // [1, H, T, d]
        const [, heads, steps, d] = contributions.shape as [number, number, number, number];
        const output = cache.get(`${path}:attn.output`)!; // [1, T, d]
        const bias = m.params.get(`${path}.c_proj.bias`) ?? m.params.get(`${path}.o_proj.bias`);
        const summed: number[] = [];
        for (let t = 0; t < steps; t++) {
          for (let j = 0; j < d; j++) {
            let total = bias ? bias.value.get(j) : 0;
            for (let h = 0; h < heads; h++) total += contributions.get(0, h, t, j);
            summed.push(total);
          }
        }
        expectClose(summed, Array.from(output.toFlat()), 1e-12, 1e-9);
      }
    }
  });

  it("edge scores into an input sum to its delta times its gradient, and out of a component to the component's score", () => {
    for (const rules of [[], gim()]) {
      const edges = edgeScores(model64, clean, corrupted, { metric, rules });
      const nodes = componentScores(model64, clean, corrupted, { metric, rules }).scores;
      const { inputs, components } = componentGraph(model64);
      const out = run(model64, { ids: [clean] });
      const M = metric.differentiable(out.logits);
      const keys = inputs.map((i) => i.place);
      const vars = placeVars(M, keys);
      const grads = grad(M, keys.map((k) => vars.get(k)!), { rules: bindRules(model64, rules).rules });
      const corr = cacheOf(model64, corrupted, keys);
      inputs.forEach((v, to) => {
        const into = edges.edges.map((e, i) => (e.to === to ? edges.scores[i]! : 0)).reduce((s, x) => s + x, 0);
        const x = vars.get(v.place)!.value;
        const xc = corr.get(v.place)!;
        let expected = 0;
        for (let j = 0; j < x.size; j++) expected += grads[to]!.data[j]! * (x.data[j]! - xc.data[j]!);
        expect(Math.abs(into - expected)).toBeLessThan(1e-10 * Math.max(1, Math.abs(expected)));
      });
      components.forEach((_, from) => {
        const outOf = edges.edges.map((e, i) => (e.from === from ? edges.scores[i]! : 0)).reduce((s, x) => s + x, 0);
        expect(Math.abs(outOf - nodes[from]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(nodes[from]!)));
      });
    }
  });

  it("plain edge scores are minus the derivative of M as v's input moves along u's corrupted write, and exact edge patching is that move taken whole", () => {
    const edges = edgeScores(model64, clean, corrupted, { metric });
    const exact = exactEdgeScores(model64, clean, corrupted, { metric, batchSize: 9 });
    const { components, inputs } = componentGraph(model64);
    const reference = logitDiffOf(run(model64, { ids: [clean] }, { record: false }).logits.value, answer, wrong);
    const picks = [0, 1, edges.edges.length - 1, edges.edges.findIndex((e) => components[e.from]!.kind === "head" && inputs[e.to]!.kind === "mlp")];
    for (const i of picks) {
      const e = edges.edges[i]!;
      const u = components[e.from]!;
      const v = inputs[e.to]!;
      // u's write w_u in each run, by hand: a head's z slice through its rows/columns of the output projection.
      const writeOf = (ids: number[]): Tensor => {
        const a = cacheOf(model64, ids, [u.place]).get(u.place)!;
        if (u.kind !== "head") return a;
        const [, , steps, dh] = a.shape as [number, number, number, number];
        const d = model64.hiddenSize;
        const conv = model64.params.get(`${u.path}.c_proj.weight`)?.value; // [H*dh, d]
        const lin = model64.params.get(`${u.path}.o_proj.weight`)?.value; // [d, H*dh]
        const w = T.zeros([1, steps, d], { dtype: "float64" });
        for (let t = 0; t < steps; t++) {
          for (let j = 0; j < d; j++) {
            let total = 0;
            for (let k = 0; k < dh; k++) total += a.get(0, u.head!, t, k) * (conv ? conv.get(u.head! * dh + k, j) : lin!.get(j, u.head! * dh + k));
            w.set([0, t, j], total);
          }
        }
        return w;
      };
      const delta = T.sub(writeOf(clean), writeOf(corrupted));
      const moved = (eps: number) => metricWith(model64, clean, v.place, (x) => T.sub(x, T.mul(delta, eps)));
      const derivative = (moved(1e-5) - moved(-1e-5)) / 2e-5;
      expect(Math.abs(edges.scores[i]! + derivative)).toBeLessThan(2e-8 * Math.max(1, Math.abs(derivative)));
      expect(Math.abs(exact.scores[i]! - (reference - moved(1)))).toBeLessThan(1e-12);
    }
  });

  it("runPatched leaves a run without edits equal to the plain run and refuses a bad batch size or a mis-shaped edit", () => {
    const plain = logitDiffOf(run(model, { ids: [clean] }, { record: false }).logits.value, answer, wrong);
    const z = listComponents(model)[1]!.place;
    const [same] = runPatched(model, [clean], [new Map()], metric);
    expect(same).toBe(plain);
    expect(() => runPatched(model, [clean], [new Map()], metric, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => runPatched(model, [clean], [new Map([[z, [() => T.zeros([1, 2])]]])], metric)).toThrow(/an edit at ".*attn.z" returned shape \[1, 2\], expected \[1, \d+, 9, \d+\]/);
  });

  it("refuses prompts that do not line up and metrics that do not fit", () => {
    expect(() => componentScores(model, clean, corrupted.slice(1), { metric })).toThrow(/clean prompts have 9 tokens but corrupted ones 8: .* same length/);
    expect(() => componentScores(model, [clean, clean], [corrupted], { metric })).toThrow(/2 clean prompts but 1 corrupted/);
    expect(() => componentScores(model, clean, corrupted, { metric: logitDiff({ answer: model.vocabSize, wrong: 1 }) })).toThrow(new RegExp(`token id ${model.vocabSize} is outside the vocabulary`));
    expect(() => componentScores(model, clean, corrupted, { metric: targetLogit({ answer: 1, position: 9 }) })).toThrow(/position 9 is out of range for prompts of 9 tokens/);
    expect(() => componentScores(model, [clean, clean], [corrupted, corrupted], { metric: logitDiff({ answer: [1, 2, 3], wrong: 4 }) })).toThrow(/3 token ids given for 2 prompts/);
    expect(() => headContributions(model, "nope", T.zeros([1, 4, 2, 8]))).toThrow(/"nope" is not an attention sublayer of this/);
  });
});

describe("metrics", () => {
  it("logitDiff and targetLogit read the logits at the position, per prompt, and their differentiable form is the mean", () => {
    const logits = T.randNormal([2, 3, 5], { rng: new T.Rng(4), dtype: "float64" });
    const m = logitDiff({ answer: [1, 2], wrong: [3, 0], position: 1 });
    expect(m.value(T.select(logits, 0, 0), 0)).toBe(logits.get(0, 1, 1) - logits.get(0, 1, 3));
    expect(m.value(T.select(logits, 0, 1), 1)).toBe(logits.get(1, 1, 2) - logits.get(1, 1, 0));
    const t = targetLogit({ answer: 4 });
    expect(t.value(T.select(logits, 0, 1), 1)).toBe(logits.get(1, 2, 4));
    const mean = (logits.get(0, 1, 1) - logits.get(0, 1, 3) + logits.get(1, 1, 2) - logits.get(1, 1, 0)) / 2;
    const v = m.differentiable(variable(logits));
    expect(v.item()).toBeCloseTo(mean, 14);
  });
});
