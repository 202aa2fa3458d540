import { grad, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { meanAblation, patchHead, patchPositions, placeVars, run, zeroAblation } from "../src/index.js";
import { loadModel } from "../src/node/index.js";
import { fixturesDir, readGolden } from "./golden.js";

const maxDiff = (a: T.Tensor, b: T.Tensor) => T.max(T.abs(T.sub(a, b))).item();

describe.each(["gpt2-f32", "llama-gqa-sharded"])("activation cache and patching on %s", (name) => {
  const model = loadModel(path.join(fixturesDir, name));
  const golden = readGolden(name);
  const ids = golden.ids;
  const other = [...ids].reverse();
  const layer0 = name.startsWith("gpt2") ? "h.0" : "model.layers.0";
  const attn0 = name.startsWith("gpt2") ? "h.0.attn" : "model.layers.0.self_attn";
  const mlp1 = name.startsWith("gpt2") ? "h.1.mlp" : "model.layers.1.mlp";

  it("caches attention patterns that are causal probability rows", () => {
    const { cache } = run(model, { ids }, { cache: [`${attn0}:attn.pattern`] });
    const p = cache.require(`${attn0}:attn.pattern`); // [1, H, T, T]
    const T_ = ids.length;
    expect(p.shape.slice(2)).toEqual([T_, T_]);
    const sums = T.sum(p, -1).toFlat();
    sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    for (let i = 0; i < T_; i++) for (let j = i + 1; j < T_; j++) expect(p.get(0, 0, i, j)).toBe(0);
  });

  it("caches every tagged place with cache: true, and names missing keys", () => {
    const { cache } = run(model, { ids }, { cache: true });
    const tagged = model.places().flatMap((p) => p.keys);
    expect(new Set(cache.keys())).toEqual(new Set(tagged));
    expect(() => cache.require("nope:attn.z")).toThrow(/no cached activation "nope:attn.z"/);
  });

  it("patching a place with its own value changes nothing", () => {
    const clean = run(model, { ids }, { cache: [`${attn0}:attn.z`] });
    const patched = run(model, { ids }, { patches: [{ place: `${attn0}:attn.z`, value: clean.cache.require(`${attn0}:attn.z`) }] });
    expect(maxDiff(patched.logits.value, clean.logits.value)).toBe(0);
  });

  it("patching the residual stream entering block 0 reproduces the other input's logits", () => {
    const source = run(model, { ids: other }, { cache: [`${layer0}:resid.pre`] });
    const patched = run(model, { ids }, { patches: [{ place: `${layer0}:resid.pre`, value: source.cache.require(`${layer0}:resid.pre`) }] });
    expect(maxDiff(patched.logits.value, source.logits.value)).toBeLessThan(1e-5);
    expect(maxDiff(patched.logits.value, model.forward({ ids }).logits.value)).toBeGreaterThan(1e-2);
  });

  it("patching every head one by one equals patching the whole place", () => {
    const key = `${attn0}:attn.z`;
    const source = run(model, { ids: other }, { cache: [key] }).cache.require(key);
    const heads = source.shape[1]!;
    let current = run(model, { ids }, { cache: [key] }).cache.require(key);
    for (let h = 0; h < heads; h++) current = (patchHead(key, h, source).value as (c: T.Tensor) => T.Tensor)(current);
    expect(maxDiff(current, source)).toBe(0);
    const one = run(model, { ids }, { patches: [patchHead(key, 1, source, [ids.length - 1])] }).logits.value;
    const whole = run(model, { ids }, { patches: [{ place: key, value: source }] }).logits.value;
    const clean = model.forward({ ids }).logits.value;
    // Patching one head at the last position changes only the last position's logits.
    expect(maxDiff(T.narrow(one, 0, 0, ids.length - 1), T.narrow(clean, 0, 0, ids.length - 1))).toBe(0);
    expect(maxDiff(one, clean)).toBeGreaterThan(0);
    expect(maxDiff(whole, one)).toBeGreaterThan(0);
  });

  it("patchPositions takes only the given positions from the source", () => {
    const key = `${mlp1}:mlp.output`;
    const source = run(model, { ids: other }, { cache: [key] }).cache.require(key);
    const patched = run(model, { ids }, { cache: [key], patches: [patchPositions(key, [0, 2 - ids.length], source)] }).cache.require(key); // position 2, counted from the end
    const clean = run(model, { ids }, { cache: [key] }).cache.require(key);
    for (let t = 0; t < ids.length; t++) {
      const expected = t === 0 || t === 2 ? source : clean;
      expect(maxDiff(T.select(patched, 1, t), T.select(expected, 1, t))).toBe(0);
    }
  });

  it("zero and mean ablation replace the activation", () => {
    const key = `${mlp1}:mlp.output`;
    const zeroed = run(model, { ids }, { cache: [key], patches: [zeroAblation(key)] }).cache.require(key);
    expect(T.max(T.abs(zeroed)).item()).toBe(0);
    const mean = T.mean(run(model, { ids: other }, { cache: [key] }).cache.require(key), [0, 1], { keepdims: true }); // [1, 1, d]
    const ablated = run(model, { ids }, { cache: [key], patches: [meanAblation(key, mean)] }).cache.require(key);
    expect(maxDiff(T.select(ablated, 1, 3), T.reshape(mean, [1, -1]))).toBe(0);
  });

  it("refuses unknown places and wrong shapes with one clear line", () => {
    expect(() => run(model, { ids }, { patches: [zeroAblation(`${attn0}:attn.nothing`)] })).toThrow(/is not a place of this .* model; places nearby/);
    expect(() => run(model, { ids }, { patches: [{ place: `${attn0}:attn.z`, value: T.zeros([1, 2, 3]) }] })).toThrow(/gives \[1, 2, 3\], but the activation there has shape/);
  });

  it("differentiates with respect to a place: resid.pre of block 0 gets the embedding gradient", () => {
    const e = variable(model.embedTokens(ids));
    const out = model.forward({ embeds: e });
    const L = out.logit(-1, golden.target_id);
    const vars = placeVars(L, [`${layer0}:resid.pre`]);
    const [dResid, dE] = grad(L, [vars.get(`${layer0}:resid.pre`)!, e]);
    expect(maxDiff(T.reshape(dResid!, dE!.shape), dE!)).toBeLessThan(1e-6);
  });
});
