/**
 * Attention-head dropout (headDropout.ts) and the wider recipes: the scales drop whole heads
 * and rescale the rest; rate 0 is no dropout, bit for bit; training with dropout writes a
 * folder whose model runs without it; and each wider recipe trains and saves at a tiny size.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as T from "@gim/tensor";
import { type CausalLM, type ModelConfig } from "@gim/transformer";
import { loadModel, readConfig } from "@gim/transformer/node";
import { describe, expect, it } from "vitest";
import { headDropoutScales, recipes, type Recipe } from "../src/index.js";
import { trainRecipe, writeModelFolder } from "../src/node/index.js";

function weightsOf(model: CausalLM): Map<string, number[]> {
  return new Map([...model.params].map(([name, v]) => [name, Array.from(T.contiguousData(v.value))]));
}

/** Largest |difference| between two sets of weights of one model. */
function largestGap(a: Map<string, number[]>, b: Map<string, number[]>): number {
  return Math.max(...[...a].map(([name, w]) => Math.max(...w.map((v, i) => Math.abs(v - b.get(name)![i]!)))));
}

/** The same family of model, shrunk to 2 layers of 4 heads at width 16. */
function tinyConfig(config: ModelConfig): ModelConfig {
  if (config.modelType === "gpt2") return { ...config, nEmbd: 16, nLayer: 2, nHead: 4, nInner: 32, nPositions: 48 };
  return { ...config, hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 4, maxPositionEmbeddings: 48 };
}

/** A recipe at the tiny size with small batches and evaluation sets. */
function tiny(recipe: Recipe, headDropout = recipe.headDropout): Recipe {
  return {
    ...recipe,
    model: (vocabSize) => tinyConfig(recipe.model(vocabSize)),
    batchSize: 6,
    lmBatchSize: 2,
    warmupSteps: 1,
    evalEvery: 1000,
    validationSize: 8,
    finalSize: 8,
    ...(headDropout === undefined ? {} : { headDropout }),
  };
}

const wider = Object.values(recipes).filter((r) => r.headDropout !== undefined);

describe("headDropoutScales", () => {
  it("is nothing at rate 0 and refuses rates outside [0, 1)", () => {
    expect(headDropoutScales(0, [4, 4], 3, new T.Rng(1))).toBeUndefined();
    expect(() => headDropoutScales(1, [4], 3, new T.Rng(1))).toThrow("head dropout rate must be in [0, 1), got 1");
    expect(() => headDropoutScales(-0.1, [4], 3, new T.Rng(1))).toThrow("head dropout rate must be in [0, 1), got -0.1");
  });

  it("drops whole heads at the rate and scales the kept ones by 1 / (1 - rate)", () => {
    const rate = 0.25;
    const scales = headDropoutScales(rate, [8, 8, 4], 500, new T.Rng(3))!;
    expect(scales.map((s) => s.shape)).toEqual([[500, 8], [500, 8], [500, 4]]);
    const values = scales.flatMap((s) => Array.from(s.toFlat()));
    expect(new Set(values)).toEqual(new Set([0, Math.fround(1 / (1 - rate))]));
    const dropped = values.filter((v) => v === 0).length / values.length;
    const se = Math.sqrt((rate * (1 - rate)) / values.length);
    expect(Math.abs(dropped - rate)).toBeLessThan(4 * se);
    // Drawn independently per sequence: not the same mask in every row.
    const rows = new Set(Array.from({ length: 500 }, (_, b) => scales[0]!.toFlat().slice(8 * b, 8 * b + 8).join(",")));
    expect(rows.size).toBeGreaterThan(50);
  });
});

describe("training with head dropout", () => {
  const base = tiny(recipes["ioi-gpt2"]!, undefined);

  it("at rate 0 gives the weights of training without it; at rate 0.5 other weights", () => {
    const without = weightsOf(trainRecipe(base, { maxSteps: 3, progress: null }).model);
    const zero = weightsOf(trainRecipe({ ...base, headDropout: 0 }, { maxSteps: 3, progress: null }).model);
    const dropped = weightsOf(trainRecipe({ ...base, headDropout: 0.5 }, { maxSteps: 3, progress: null }).model);
    // Largest |difference| over all weights: rate 0 takes the very same path, to the last bit.
    // (Runs on a loaded machine once differed by up to 1e-2: a matmul worker that looked late
    // claimed a task of later work; jobs are now closed when they finish, see pool.ts.)
    expect(largestGap(without, zero)).toBe(0);
    expect(largestGap(without, dropped)).toBeGreaterThan(1e-3);
  });

  it("is seeded: the same recipe gives the same weights, to the last bit", () => {
    const a = weightsOf(trainRecipe({ ...base, headDropout: 0.5 }, { maxSteps: 2, progress: null }).model);
    const b = weightsOf(trainRecipe({ ...base, headDropout: 0.5 }, { maxSteps: 2, progress: null }).model);
    expect(largestGap(a, b)).toBe(0);
  });
});

describe.each(wider.map((r) => r.name))("the wider recipe %s", (name) => {
  const recipe = recipes[name]!;

  it("is 4 layers of 8 heads at width 128, with head dropout", () => {
    const config = recipe.model(500);
    if (config.modelType === "gpt2") expect([config.nLayer, config.nHead, config.nEmbd]).toEqual([4, 8, 128]);
    else {
      expect([config.numHiddenLayers, config.numAttentionHeads, config.hiddenSize]).toEqual([4, 8, 128]);
      expect(config.numKeyValueHeads).toBeLessThan(config.numAttentionHeads);
    }
    expect(recipe.headDropout).toBeGreaterThan(0);
  });

  it("trains at a tiny size and writes a folder whose model runs without dropout", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-wide-"));
    try {
      const trained = trainRecipe(tiny(recipe), { maxSteps: 3, progress: null });
      expect(trained.report.hyperparameters["headDropout"]).toBe(recipe.headDropout);
      expect(trained.report.command).toBe(`pnpm train ${name} --steps 3`);
      await writeModelFolder(dir, trained);
      const config = readConfig(dir);
      expect(config.modelType).toBe(recipe.model(500).modelType);
      // Nothing of the dropout reaches config.json: every dropout key there is 0.
      const json = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
      for (const [key, value] of Object.entries(json)) if (/drop/.test(key)) expect(value, key).toBe(0);
      const loaded = loadModel(dir);
      const ids = [trained.tokenizer.encode(" Mary and John went to the store")];
      const once = loaded.forward({ ids }).logits.value.toFlat();
      expect(loaded.forward({ ids }).logits.value.toFlat()).toEqual(once); // deterministic: no dropout at inference
      expect(trained.model.forward({ ids }).logits.value.toFlat()).toEqual(once);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
