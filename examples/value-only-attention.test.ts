/**
 * The value-only rules give the gradient of the model with every attention pattern held
 * constant. The reference holds it constant a different way: a forward pass whose pattern
 * activations are replaced by copies of themselves (a patched activation has no gradient
 * path back into the softmax), differentiated with the default backward.
 */
import { grad, stopGrad, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import { run, Tags, type CausalLM } from "@gim/transformer";
import { loadModel } from "@gim/transformer/node";
import { bindRules, explain } from "@gim/rules";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { gpt2FixtureDir, valueOnlyAttention, valueOnlyRules } from "./value-only-attention.js";

const llamaDir = fileURLToPath(new URL("../packages/transformer/test/fixtures/models/llama-gqa-sharded", import.meta.url));

/** d logit / d token embeddings with every attention pattern a constant of the forward pass. */
function frozenPatternGradient(model: CausalLM, ids: readonly number[], target: number): T.Tensor {
  const patterns = model.places().filter((p) => p.tags.includes(Tags.pattern)).flatMap((p) => p.keys.filter((k) => k.endsWith(`:${Tags.pattern}`)));
  const e = variable(model.embedTokens(ids));
  const out = run(model, { embeds: e }, { patches: patterns.map((place) => ({ place, value: (current: T.Tensor) => T.clone(current) })) });
  return grad(out.logit(-1, target), [e])[0]!;
}

function maxRelative(a: T.Tensor, b: T.Tensor): number {
  const x = T.contiguousData(a);
  const y = T.contiguousData(b);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return worst / scale;
}

describe.each([
  ["gpt2-f32", gpt2FixtureDir, [23, 23, 84, 28, 1, 16, 77, 92]],
  ["llama-gqa-sharded (GQA, RoPE)", llamaDir, [5, 17, 3, 99, 42, 8, 61]],
] as const)("examples/value-only-attention on %s", (_name, dir, ids) => {
  const model = loadModel(dir, { dtype: "float64" });
  const r = valueOnlyAttention({ model, ids });

  it("equals the gradient with every attention pattern held constant (patched forward, default backward)", () => {
    const reference = frozenPatternGradient(model, ids, r.valueOnly.target);
    expect(maxRelative(r.valueOnly.gradient!, reference)).toBeLessThan(1e-12);
  });

  it("equals stopping the gradient at the softmax input instead of at q and k", () => {
    const atSoftmax = explain(model, ids, { baseline: 0, target: r.plain.target, rules: bindRules(model, [stopGrad("stopScores", { op: "softmax", tag: Tags.pattern })]).rules });
    expect(maxRelative(r.valueOnly.gradient!, atSoftmax.gradient!)).toBeLessThan(1e-12);
  });

  it("changes the attributions substantially (the attention scores carry real gradient)", () => {
    expect(r.relativeChange).toBeGreaterThan(0.1);
    expect(maxRelative(r.plain.gradient!, frozenPatternGradient(model, ids, r.plain.target))).toBeGreaterThan(0.05);
  });

  it("fires at the queries and keys of every layer, once each", () => {
    const layers = model.config.modelType === "gpt2" ? model.config.nLayer : model.config.numHiddenLayers;
    const firings = r.valueOnly.trace!.map((t) => `${t.rule} ${t.tags.join(",")}`).sort();
    expect(firings).toEqual([...Array(layers).fill(`valueOnly.k ${Tags.k}`), ...Array(layers).fill(`valueOnly.q ${Tags.q}`)]);
    expect(r.firings.split("\n")).toHaveLength(layers);
  });

  it("shares the target of the plain and GIM explanations", () => {
    expect(r.valueOnly.target).toBe(r.plain.target);
    expect(r.gim.target).toBe(r.plain.target);
    expect(r.valueOnly.logit).toBe(r.plain.logit);
  });
});

describe("valueOnlyRules", () => {
  it("are two stopGrad rules bound to the q and k places", () => {
    expect(valueOnlyRules().map((rule) => [rule.name, rule.match])).toEqual([
      ["valueOnly.q", { op: "identity", tag: Tags.q }],
      ["valueOnly.k", { op: "identity", tag: Tags.k }],
    ]);
  });
});
