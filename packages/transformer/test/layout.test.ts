import * as path from "node:path";
import { scope } from "@gim/autograd";
import * as T from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { blockOf, Gpt2Model, LlamaModel, run, type CausalLM, type ModelLayout } from "../src/index.js";
import { loadModel } from "../src/node/index.js";
import { fixtureCases, fixturesDir } from "./golden.js";

/** Every place key a layout declares, with what it is. */
function declaredKeys(layout: ModelLayout): string[] {
  const keys = [layout.tokenEmbeddings, layout.logits, layout.finalNorm.input, layout.finalNorm.scale, layout.finalNorm.output];
  if (layout.positionEmbeddings) keys.push(layout.positionEmbeddings);
  for (const b of layout.blocks) {
    const a = b.attention;
    keys.push(b.residPre, b.residMid, b.residPost, a.q, a.k, a.v, a.scores, a.pattern, a.z, a.output, b.mlp.input, b.mlp.hidden, b.mlp.output);
    for (const n of [b.attnNorm, b.mlpNorm]) keys.push(n.input, n.scale, n.output);
    if (b.mlp.gated) keys.push(b.mlp.gate!, b.mlp.up!);
  }
  return keys;
}

const models: [string, () => CausalLM][] = fixtureCases.map((name) => [name, () => loadModel(path.join(fixturesDir, name), { dtype: "float64" })]);

describe("the declared layout", () => {
  for (const [name, load] of models) {
    it(`${name}: every declared place runs, in forward order, and the output projection split by head gives attn.output`, () => {
      const model = load();
      const { layout } = model;
      const placeKeys = model.places().flatMap((p) => p.keys);
      for (const key of declaredKeys(layout)) expect(placeKeys, key).toContain(key);
      // Blocks in forward order, each one's attention before its MLP.
      const order = (key: string) => placeKeys.indexOf(key);
      layout.blocks.forEach((b, i) => {
        expect(b.index).toBe(i);
        expect(order(b.attnNorm.input)).toBeLessThan(order(b.attention.z));
        expect(order(b.attention.z)).toBeLessThan(order(b.mlpNorm.input));
        expect(order(b.mlp.output)).toBeLessThan(order(b.residPost));
        if (i > 0) expect(order(layout.blocks[i - 1]!.residPost)).toBeLessThan(order(b.residPre));
        expect(blockOf(layout, `${b.attention.path}.x`)).toBe(b);
      });
      expect(blockOf(layout, layout.finalNorm.path)).toBeUndefined();
      // sum_h z_h @ W_h + b == attn.output, with the heads and head size the layout declares.
      const ids = [1, 2, 3, 4, 5].map((i) => i % model.vocabSize);
      const { cache } = run(model, { ids }, { cache: layout.blocks.flatMap((b) => [b.attention.z, b.attention.output]), record: false });
      for (const b of layout.blocks) {
        const z = cache.require(b.attention.z); // [1, H, T, dh]
        expect(z.shape).toEqual([1, b.attention.heads, ids.length, b.attention.headDim]);
        const { perHead, bias } = b.attention.outputProjection();
        let out = T.sum(T.matmul(z, perHead), 1); // [1, T, d]
        if (bias) out = T.add(out, bias);
        const expected = cache.require(b.attention.output).toFlat();
        const got = out.toFlat();
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 10);
      }
    });
  }

  it("resolves parameters against the model's own module path, not the caller's scope", () => {
    const model = Gpt2Model.random({ modelType: "gpt2", vocabSize: 11, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2, nInner: 16, layerNormEpsilon: 1e-5, activation: "gelu_new" });
    const plain = model.forward({ ids: [1, 2] }).logits.value.toFlat();
    const inScope = scope("outer", () => model.forward({ ids: [1, 2] })).logits.value.toFlat();
    expect(Array.from(inScope)).toEqual(Array.from(plain));
  });

  it("declares GQA, windows and gated MLPs for the Llama family", () => {
    const model = LlamaModel.random({
      modelType: "mistral", vocabSize: 13, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 4,
      rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 32, tieWordEmbeddings: true, qkvBias: false, oBias: false, mlpBias: false, hiddenAct: "silu", slidingWindows: [3, null],
    });
    const [first, second] = model.layout.blocks;
    expect([first!.attention.heads, first!.attention.kvHeads, first!.attention.headDim]).toEqual([4, 2, 4]);
    expect([first!.attention.window, second!.attention.window]).toEqual([3, undefined]);
    expect(first!.mlp.gated).toBe(true);
    expect(first!.attention.outputProjection().bias).toBeUndefined();
    expect(model.layout.positionEmbeddings).toBeUndefined();
  });
});
