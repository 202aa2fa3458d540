/**
 * Every shipped model against the independent PyTorch implementation (fixtures/generate.py,
 * float64 on the weights as stored): the tokenizer gives the reference ids, and the logits and
 * the gradient of the target logit with respect to the input embeddings agree to 1e-4 of
 * their scale. The GIM gradients are checked in the rules package (gim-shipped-golden.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { grad, variable } from "@gim/autograd";
import { loadModel, loadTokenizer } from "@gim/transformer/node";
import { describe, expect, it } from "vitest";
import { shippedModels, type TrainingReport } from "../src/index.js";
import { modelDir } from "../src/node/index.js";

const goldenDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "shipped");

/** What fixtures/generate.py writes for one model. */
interface ShippedGolden {
  model: string;
  weights_sha256: string;
  prompt: string;
  ids: number[];
  positions: number[];
  logits: number[][];
  target_position: number;
  target_id: number;
  target_logit: number;
  grad_input_embeds: number[][];
  prompt2: string;
  ids2: number[];
  positions2: number[];
  logits2: number[][];
}

/** Largest |a - b| over the largest |b|. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  return worst / scale;
}

describe.each([...shippedModels])("%s matches the torch reference", (name) => {
  const file = path.join(goldenDir, `${name}.json`);

  it("has a golden file made from the weights it ships", () => {
    expect(fs.existsSync(file), `${file} (run /usr/bin/python3 packages/models/test/fixtures/generate.py)`).toBe(true);
    const golden = JSON.parse(fs.readFileSync(file, "utf8")) as ShippedGolden;
    const report = JSON.parse(fs.readFileSync(path.join(modelDir(name), "training.json"), "utf8")) as TrainingReport;
    expect(golden.weights_sha256).toBe(report.weightsSha256);
  });

  it("tokenizes the prompts, and gives the logits and the input gradient of the reference", async () => {
    const golden = JSON.parse(fs.readFileSync(file, "utf8")) as ShippedGolden;
    const dir = modelDir(name);
    const tokenizer = await loadTokenizer(dir);
    expect(tokenizer.encode(golden.prompt)).toEqual(golden.ids);
    expect(tokenizer.encode(golden.prompt2)).toEqual(golden.ids2);
    const model = loadModel(dir);
    for (const [ids, positions, logits] of [[golden.ids, golden.positions, golden.logits], [golden.ids2, golden.positions2, golden.logits2]] as const) {
      const out = model.forward({ ids }, { positions }).logits.value;
      expect(relativeError(out.toFlat(), logits.flat())).toBeLessThan(1e-4);
    }
    const e = variable(model.embedTokens(golden.ids));
    const logit = model.forward({ embeds: e }).logit(golden.target_position, golden.target_id);
    expect(logit.item()).toBeCloseTo(golden.target_logit, 3);
    const [g] = grad(logit, [e]);
    expect(relativeError(g!.toFlat(), golden.grad_input_embeds.flat())).toBeLessThan(1e-4);
  });
});
