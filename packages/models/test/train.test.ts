import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as T from "@gim/tensor";
import { parseConfig, type CausalLM } from "@gim/transformer";
import { loadModel, loadTokenizer } from "@gim/transformer/node";
import { describe, expect, it } from "vitest";
import { evaluate, inductionTrainingTask, ioiTrainingTask, ProgressBar, recipes, toHfConfig, type Recipe } from "../src/index.js";
import { initialModel, trainRecipe, reportSvg, writeModelFolder } from "../src/node/index.js";

// A tiny recipe: one layer, width 16, so a few steps take a second or two.
const tiny: Recipe = {
  ...recipes["ioi-gpt2"]!,
  name: "tiny",
  model: (vocabSize) => ({ modelType: "gpt2", vocabSize, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, nInner: 32, layerNormEpsilon: 1e-5, activation: "gelu_new" }),
  batchSize: 8,
  lmBatchSize: 2,
  lr: 1e-2,
  warmupSteps: 1,
  evalEvery: 1000,
  validationSize: 16,
  finalSize: 16,
};

function weightsOf(model: CausalLM): Map<string, number[]> {
  return new Map([...model.params].map(([name, v]) => [name, Array.from(T.contiguousData(v.value))]));
}

describe("trainRecipe", () => {
  it("lowers the loss on a fixed held-out sample within a few steps", () => {
    const task = ioiTrainingTask();
    const sample = task.validation(64, 5);
    const before = evaluate(initialModel(tiny.model(task.tokenizer.vocabSize), tiny.seed), sample).loss;
    const trained = trainRecipe(tiny, { maxSteps: 12, progress: null });
    const after = evaluate(trained.model, sample).loss;
    expect(after).toBeLessThan(before - 0.5);
    expect(trained.report.steps).toBe(12);
    expect(trained.report.history).toHaveLength(12);
  });

  it("gives identical weights for the same seed and different ones for another seed", () => {
    const a = weightsOf(trainRecipe(tiny, { maxSteps: 4, progress: null }).model);
    const b = weightsOf(trainRecipe(tiny, { maxSteps: 4, progress: null }).model);
    expect(b).toEqual(a);
    const c = weightsOf(trainRecipe({ ...tiny, seed: tiny.seed + 1 }, { maxSteps: 4, progress: null }).model);
    expect(c.get("h.0.attn.c_attn.weight")).not.toEqual(a.get("h.0.attn.c_attn.weight"));
  });

  it("supervises every repeated tail position of an induction sequence with the token after its earlier occurrence", () => {
    const task = inductionTrainingTask();
    const { task: sequences, lm } = task.batch(50, 10, 3);
    // The language-model share: rule sequences, supervised from the third token on with the true next token.
    expect(lm).toHaveLength(10);
    for (const seq of lm) expect(seq.targets.map((t) => t.target)).toEqual(seq.ids.slice(2));
    for (const seq of sequences) {
      for (const { position, target } of seq.targets) {
        const earlier = seq.ids.slice(0, position).indexOf(seq.ids[position]!);
        expect(earlier).toBeGreaterThanOrEqual(0);
        expect(target).toBe(seq.ids[earlier + 1]);
      }
      expect(seq.targets.some((t) => t.position === seq.ids.length - 1)).toBe(true);
    }
  });

  it("mixes sequences holding the segment twice into the batches in the share asked, leaving the default batches as they were", () => {
    const plain = inductionTrainingTask().batch(40, 6, 11);
    expect(inductionTrainingTask({ twiceShare: 0 }).batch(40, 6, 11)).toEqual(plain);
    const task = inductionTrainingTask({ twiceShare: 0.25 });
    const { task: sequences, lm } = task.batch(40, 6, 11);
    expect(lm).toEqual(plain.lm);
    const occurrencesOf = (ids: readonly number[]) => ids.slice(0, -1).filter((id) => id === ids[ids.length - 1]).length;
    expect(sequences.map((q) => occurrencesOf(q.ids))).toEqual([...new Array<number>(30).fill(1), ...new Array<number>(10).fill(2)]);
    for (const seq of sequences.slice(30)) {
      for (const { position, target } of seq.targets) {
        // Every earlier occurrence of a tail token is followed by its target.
        const earlier = seq.ids.slice(0, position).flatMap((id, i) => (id === seq.ids[position] ? [i] : []));
        expect(earlier.length).toBeGreaterThanOrEqual(2);
        for (const i of earlier) expect(seq.ids[i + 1]).toBe(target);
      }
    }
    const finals = task.finalSets(20, 5);
    expect(Object.keys(finals)).toEqual(["heldout", "once", "twice"]);
    expect(finals["twice"]!.every((e) => occurrencesOf(e.ids) === 2)).toBe(true);
    expect(task.validation(20, 5).filter((e) => occurrencesOf(e.ids) === 2)).toHaveLength(5);
    expect(() => inductionTrainingTask({ twiceShare: 1.5 })).toThrow(/twiceShare must be in \[0, 1\], got 1.5/);
  });

  it("writes a Hugging Face folder that loads back to the same model, with report, hash and loss curve", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-models-"));
    try {
      const trained = trainRecipe(tiny, { maxSteps: 3, progress: null });
      const report = await writeModelFolder(dir, trained);
      for (const file of ["config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "training.json", "loss.svg"]) {
        expect(fs.existsSync(path.join(dir, file)), file).toBe(true);
      }
      const loaded = loadModel(dir);
      expect(weightsOf(loaded)).toEqual(weightsOf(trained.model));
      const tokenizer = await loadTokenizer(dir);
      const text = "When Mary and John went to the store, John gave a drink to";
      expect(tokenizer.encode(text)).toEqual(trained.tokenizer.encode(text));
      expect(tokenizer.padTokenId).toBe(trained.tokenizer.padTokenId);
      const sha = createHash("sha256").update(fs.readFileSync(path.join(dir, "model.safetensors"))).digest("hex");
      expect(report.weightsSha256).toBe(sha);
      expect(JSON.parse(fs.readFileSync(path.join(dir, "training.json"), "utf8")).weightsSha256).toBe(sha);
      const svg = fs.readFileSync(path.join(dir, "loss.svg"), "utf8");
      expect(svg).toMatch(/^<svg /);
      expect(svg).toContain("training step");
      expect(svg).toContain("loss (cross-entropy, nats)");
      expect(svg).toContain("accuracy");
      expect((svg.match(/<path /g) ?? []).length).toBe(3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("toHfConfig", () => {
  it("writes configs that parse back to themselves, and refuses what it cannot write", () => {
    for (const recipe of Object.values(recipes)) {
      const config = recipe.model(500);
      const json = toHfConfig(config, { bos: 1, eos: 1, pad: 1 });
      expect(parseConfig(json)).toEqual(config);
      expect(json["architectures"]).toEqual([config.modelType === "gpt2" ? "GPT2LMHeadModel" : "LlamaForCausalLM"]);
    }
    const qwen = { ...(recipes["ioi-llama"]!.model(500) as object), modelType: "qwen2", qkvBias: true } as Parameters<typeof toHfConfig>[0];
    expect(() => toHfConfig(qwen, { bos: 1, eos: 1, pad: 1 })).toThrow(/only plain Llama configs/);
  });
});

describe("ProgressBar", () => {
  it("prints a plain line every `every` steps and at forced updates when not on a terminal", () => {
    const lines: string[] = [];
    const bar = new ProgressBar("m", 100, { write: (t: string) => lines.push(t) }, 10);
    for (let step = 1; step <= 25; step++) bar.update({ step, loss: 1.5, accuracy: 0.25, heldOut: step > 20 ? 0.5 : undefined }, step === 13);
    bar.finish("done");
    expect(lines.map((l) => l.match(/^m step (\d+)\/100/)?.[1] ?? l.trim())).toEqual(["10", "13", "20", "m done"]);
    expect(lines[0]).toMatch(/loss 1\.5000 acc 25\.0% .*ETA/);
    expect(lines.every((l) => l.endsWith("\n") && !l.includes("\r"))).toBe(true);
  });

  it("redraws one line on a terminal, with the held-out accuracy once known", () => {
    const out: string[] = [];
    const bar = new ProgressBar("m", 4, { write: (t: string) => out.push(t), isTTY: true });
    bar.update({ step: 1, loss: 2, accuracy: 0 });
    bar.update({ step: 2, loss: 1, accuracy: 0.5, heldOut: 0.75 });
    bar.finish("done");
    expect(out[0]).toMatch(/^\rm \[#{6}-{18}\] step 1\/4/);
    expect(out[1]).toMatch(/^\rm \[#{12}-{12}\] step 2\/4 .*held-out 75\.0%/);
    expect(out.slice(2)).toEqual(["\n", "m done\n"]);
  });
});

describe("reportSvg", () => {
  it("plots loss on the left axis and both accuracies on the right, with the run's name", () => {
    const history = [0, 1, 2, 3].map((step) => ({ step, loss: 4 - step, accuracy: step / 4, ...(step % 2 === 1 ? { validation: step / 3 } : {}) }));
    const svg = reportSvg({ model: "toy", history } as Parameters<typeof reportSvg>[0]);
    expect(svg).toContain("toy: training loss and accuracy");
    for (const label of ["training loss", "training accuracy", "held-out accuracy", "loss (cross-entropy, nats)", "accuracy"]) expect(svg).toContain(`>${label}</text>`);
    expect(svg.match(/<path /g)?.length).toBeGreaterThanOrEqual(3);
  });
});
