/**
 * Head scales (`ForwardOptions.headScales`, the hook training uses for head dropout): each
 * sequence's query heads' outputs z are multiplied by their scale before the heads merge. A
 * forward with scales must equal the plain forward with `attn.z` patched to z * scale, scales
 * of 1 must change nothing (bit for bit), the `attn.z` place keeps the unscaled value, and bad
 * scales fail with one line naming what is wrong.
 */
import * as path from "node:path";
import { withForwardHook, type NodeInfo } from "@gim/autograd";
import * as T from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { run, Tags, type CausalLM } from "../src/index.js";
import { loadModel } from "../src/node/index.js";
import { fixtureCases, fixturesDir, relativeError } from "./golden.js";

const load = (name: string): CausalLM => loadModel(path.join(fixturesDir, name), { dtype: "float64" });

/** [B, H] scales per layer: 0 or 2 at random (seeded), with at least one of each in every layer. */
function randomScales(model: CausalLM, batch: number): T.Tensor[] {
  const rng = new T.Rng(11);
  return model.layout.blocks.map((b) => {
    const h = b.attention.heads;
    const values = Array.from({ length: batch * h }, (_, i) => (i === 0 ? 0 : i === 1 ? 2 : rng.uniform() < 0.5 ? 0 : 2));
    return T.tensor(values, { shape: [batch, h], dtype: "float64" });
  });
}

describe.each(fixtureCases)("head scales in %s", (name) => {
  const model = load(name);
  const rng = new T.Rng(5);
  const ids = [0, 1].map(() => Array.from({ length: 7 }, () => rng.int(model.vocabSize)));
  const plain = model.forward({ ids }).logits.value;

  it("equal the plain forward with each head's z multiplied by its scale", () => {
    const scales = randomScales(model, ids.length);
    const scaled = model.forward({ ids }, { headScales: scales }).logits.value;
    const patches = model.layout.blocks.map((b, layer) => ({
      place: b.attention.z,
      value: (z: T.Tensor) => T.mul(z, T.reshape(scales[layer]!, [ids.length, b.attention.heads, 1, 1])),
    }));
    const patched = run(model, { ids }, { patches, record: false }).logits.value;
    expect(relativeError(scaled.toFlat(), patched.toFlat())).toBeLessThan(1e-12);
    expect(relativeError(scaled.toFlat(), plain.toFlat())).toBeGreaterThan(1e-3); // the scales did something
  });

  it("of 1 change nothing, and the attn.z place keeps the unscaled value", () => {
    const ones = model.layout.blocks.map((b) => T.ones([ids.length, b.attention.heads], { dtype: "float64" }));
    expect(model.forward({ ids }, { headScales: ones }).logits.value.toFlat()).toEqual(plain.toFlat());
    const zOf = (headScales?: T.Tensor[]): number[][] => {
      const seen: number[][] = [];
      const hook = (site: NodeInfo, output: T.Tensor) => void (site.tags.includes(Tags.z) && seen.push(Array.from(output.toFlat())));
      withForwardHook(hook, () => model.forward({ ids }, headScales ? { headScales } : {}));
      return seen;
    };
    const plainZ = zOf();
    expect(plainZ).toHaveLength(model.layout.blocks.length);
    // Layer 0's z does not depend on any scale; later layers' z do (through the residual stream), so compare layer 0 only.
    expect(zOf(randomScales(model, ids.length))[0]).toEqual(plainZ[0]);
  });

  it("are checked: one [B, H] tensor per layer", () => {
    const layers = model.layout.blocks.length;
    const heads = model.layout.blocks[0]!.attention.heads;
    expect(() => model.forward({ ids }, { headScales: [] })).toThrow(`headScales has 0 tensors for a model of ${layers} layers`);
    const wrong = model.layout.blocks.map(() => T.ones([ids.length, heads + 1]));
    expect(() => model.forward({ ids }, { headScales: wrong })).toThrow(`headScales[0] has shape [2, ${heads + 1}]; expected [2, ${heads}] (batch, heads)`);
  });
});
