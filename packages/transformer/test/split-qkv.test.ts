/**
 * The split q/k/v forward (`splitQkv`): every head's own copy of the residual stream for its
 * queries, keys and values. It must compute what the fused forward computes (float64, to
 * rounding), and each copy must be a place of its own: patching one head's copy changes that
 * head's q, k or v alone, and the gradients at the copies add up to the gradient at the
 * attention norm's input of the fused forward.
 */
import * as path from "node:path";
import { grad } from "@gim/autograd";
import * as T from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { placeVars, run, type CausalLM } from "../src/index.js";
import { loadModel } from "../src/node/index.js";
import { fixtureCases, fixturesDir } from "./golden.js";

const load = (name: string): CausalLM => loadModel(path.join(fixturesDir, name), { dtype: "float64" });

/** Largest |a - b| over the largest |b|. */
function relativeMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

/** Two seeded sequences of `length` ids below `vocab`. */
function batch(vocab: number, length: number): number[][] {
  const rng = new T.Rng(7);
  return [0, 1].map(() => Array.from({ length }, () => rng.int(vocab)));
}

describe.each(fixtureCases)("split q/k/v forward of %s", (name) => {
  const model = load(name);
  const ids = batch(model.vocabSize, 9);

  it("equals the fused forward in float64 (logits and every shared place to 1e-12)", () => {
    const shared = model.layout.blocks.flatMap((b) => [b.attention.q, b.attention.z, b.attention.output, b.mlp.output]);
    const fused = run(model, { ids }, { cache: shared, record: false });
    const split = run(model, { ids }, { cache: shared, record: false, splitQkv: true });
    expect(relativeMax(split.logits.value.toFlat(), fused.logits.value.toFlat())).toBeLessThan(1e-12);
    for (const key of shared) expect(relativeMax(split.cache.require(key).toFlat(), fused.cache.require(key).toFlat()), key).toBeLessThan(1e-12);
  });

  it("has one input copy per head for q, k and v, before the norm, and k, v per query head", () => {
    const places = model.places({ splitQkv: true });
    const shapeOf = (key: string) => places.find((p) => p.keys.includes(key))?.shape;
    const d = model.hiddenSize;
    for (const b of model.layout.blocks) {
      const a = b.attention;
      for (const key of [a.qInput, a.kInput, a.vInput]) expect(shapeOf(key), key).toEqual([1, a.heads, 1, d]);
      expect(shapeOf(a.k)).toEqual([1, a.heads, 1, a.headDim]);
      expect(shapeOf(a.v)).toEqual([1, a.heads, 1, a.headDim]);
      expect(shapeOf(b.attnNorm.input)).toEqual([1, 3 * a.heads, 1, d]);
      const order = (key: string) => places.findIndex((p) => p.keys.includes(key));
      expect(order(a.qInput)).toBeLessThan(order(b.attnNorm.input));
    }
    // The fused forward has none of them.
    const fusedKeys = new Set(model.places().flatMap((p) => p.keys));
    expect(fusedKeys.has(model.layout.blocks[0]!.attention.qInput)).toBe(false);
  });

  it("patching one head's k input changes that head's k alone", () => {
    const block = model.layout.blocks[0]!;
    const a = block.attention;
    const head = a.heads - 1;
    const shift = (current: T.Tensor) => {
      const out = T.clone(current); // [B, H, T, d]
      const [b, h, t, d] = out.shape as [number, number, number, number];
      for (let i = 0; i < b; i++) for (let p = 0; p < t; p++) for (let j = 0; j < d; j++) out.data[((i * h + head) * t + p) * d + j] += 0.5 * Math.cos(j + p);
      return out;
    };
    const plain = run(model, { ids }, { cache: [a.q, a.k, a.v], record: false, splitQkv: true }).cache;
    const patched = run(model, { ids }, { cache: [a.q, a.k, a.v], record: false, splitQkv: true, patches: [{ place: a.kInput, value: shift }] }).cache;
    expect(T.max(T.abs(T.sub(patched.require(a.q), plain.require(a.q)))).item()).toBe(0);
    expect(T.max(T.abs(T.sub(patched.require(a.v), plain.require(a.v)))).item()).toBe(0);
    const dk = T.abs(T.sub(patched.require(a.k), plain.require(a.k))); // [B, H, T, dh]
    for (let h = 0; h < a.heads; h++) {
      const moved = T.max(T.narrow(dk, 1, h, 1)).item();
      if (h === head) expect(moved).toBeGreaterThan(1e-3);
      else expect(moved).toBe(0);
    }
  });

  it("gradients at the q/k/v input copies add up to the fused gradient at the attention norm's input", () => {
    const target = 3 % model.vocabSize;
    const metric = (r: ReturnType<typeof run>) => r.logit(-1, target, 1);
    const fused = run(model, { ids });
    const fusedKeys = model.layout.blocks.map((b) => b.attnNorm.input);
    const fusedVars = placeVars(metric(fused), fusedKeys);
    const fusedGrads = grad(metric(fused), fusedKeys.map((k) => fusedVars.get(k)!));
    const split = run(model, { ids }, { splitQkv: true });
    const splitKeys = model.layout.blocks.flatMap((b) => [b.attention.qInput, b.attention.kInput, b.attention.vInput]);
    const splitVars = placeVars(metric(split), splitKeys);
    const splitGrads = grad(metric(split), splitKeys.map((k) => splitVars.get(k)!));
    model.layout.blocks.forEach((_, i) => {
      // Sum over q/k/v and over heads: [B, H, T, d] -> [B, T, d].
      let total = T.zeros(fusedGrads[i]!.shape, { dtype: "float64" });
      for (let part = 0; part < 3; part++) total = T.add(total, T.sum(splitGrads[3 * i + part]!, 1));
      expect(relativeMax(total.toFlat(), fusedGrads[i]!.toFlat())).toBeLessThan(1e-10);
    });
  });
});
