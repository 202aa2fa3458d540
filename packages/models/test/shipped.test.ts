import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadModel, loadTokenizer, readConfig } from "@gim/transformer/node";
import { describe, expect, it } from "vitest";
import { defaultModel, evaluate, FINAL_SEED, recipes, inductionExamples, INDUCTION_OPTIONS, INDUCTION_SYMBOLS, ioiExamples, IOI_NAMES, shippedModels, VALIDATION_SEED, type Scored, type TrainingReport } from "../src/index.js";
import { modelDir } from "../src/node/index.js";

// A seed used neither for validation nor for the figures in training.json, so these samples are fresh.
const FRESH_SEED = 424242;
const SAMPLE = 300;

async function freshSample(name: string): Promise<Scored[]> {
  const tokenizer = await loadTokenizer(modelDir(name));
  return name.startsWith("ioi") ? ioiExamples("heldout", SAMPLE, FRESH_SEED, tokenizer) : inductionExamples(SAMPLE, FRESH_SEED, tokenizer, INDUCTION_OPTIONS);
}

function report(name: string): TrainingReport {
  return JSON.parse(fs.readFileSync(path.join(modelDir(name), "training.json"), "utf8")) as TrainingReport;
}

describe("shipped models", () => {
  it("resolves folders from the package and refuses unknown names", () => {
    expect(shippedModels).toContain(defaultModel);
    expect(modelDir()).toBe(modelDir(defaultModel));
    expect(path.basename(modelDir("ioi-llama"))).toBe("ioi-llama");
    expect(() => modelDir("gpt2-xl")).toThrow(`no shipped model named "gpt2-xl"; shipped models: ${shippedModels.join(", ")}`);
  });

  for (const name of shippedModels) {
    describe(name, () => {
      it("is a small Hugging Face folder whose weights match the hash in training.json", () => {
        const dir = modelDir(name);
        for (const file of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "training.json", "loss.svg"]) {
          expect(fs.existsSync(path.join(dir, file)), `${name}/${file}`).toBe(true);
        }
        const bytes = fs.readFileSync(path.join(dir, "model.safetensors"));
        expect(bytes.length).toBeLessThan(4 * 1024 * 1024);
        expect(createHash("sha256").update(bytes).digest("hex")).toBe(report(name).weightsSha256);
        const r = report(name);
        expect(r.evaluation.seed).toBe(FINAL_SEED);
        expect(r.evaluation.validationSeed).toBe(VALIDATION_SEED);
        expect(r.accuracy["heldout"]).toBeGreaterThanOrEqual(0.95);
        expect(r.command).toBe(`pnpm train ${name}`);
      });

      it("reaches its reported held-out accuracy (>= 95%) on a fresh seeded held-out sample", async () => {
        const model = loadModel(modelDir(name));
        const { accuracy } = evaluate(model, await freshSample(name));
        expect(accuracy).toBeGreaterThanOrEqual(0.95);
        // Within sampling error (about 3 standard errors) of the figure in training.json.
        const reported = report(name).accuracy["heldout"]!;
        const se = Math.sqrt((reported * (1 - reported)) / SAMPLE) + 1 / SAMPLE;
        expect(Math.abs(accuracy - reported)).toBeLessThanOrEqual(3 * se + 0.01);
      });
    });
  }

  it("follows the context: corrupted and flipped prompts move the prediction to the answer they support", async () => {
    for (const name of shippedModels.filter((m) => m.startsWith("ioi"))) {
      const dir = modelDir(name);
      const model = loadModel(dir);
      const examples = ioiExamples("heldout", 100, FRESH_SEED + 1, await loadTokenizer(dir));
      const flipped = evaluate(model, examples.map((e) => ({ ids: e.flipped.ids, target: e.flipped.target! }))).accuracy;
      const corrupted = evaluate(model, examples.map((e) => ({ ids: e.corrupted.ids, target: e.corrupted.target! }))).accuracy;
      expect(flipped, `${name} flipped`).toBeGreaterThanOrEqual(0.9);
      expect(corrupted, `${name} corrupted`).toBeGreaterThanOrEqual(0.9);
    }
    for (const name of shippedModels.filter((m) => m.startsWith("induction"))) {
      const dir = modelDir(name);
      const examples = inductionExamples(100, FRESH_SEED + 1, await loadTokenizer(dir), INDUCTION_OPTIONS);
      const corrupted = evaluate(loadModel(dir), examples.map((e) => ({ ids: e.corrupted.ids, target: e.corrupted.target! }))).accuracy;
      expect(corrupted, `${name} corrupted`).toBeGreaterThanOrEqual(0.9);
    }
  });

  it("has the architectures the issue asks for", () => {
    const gpt2 = readConfig(modelDir("ioi-gpt2"));
    expect(gpt2.modelType).toBe("gpt2");
    const llama = readConfig(modelDir("ioi-llama"));
    if (llama.modelType !== "llama") throw new Error("ioi-llama is not a llama config");
    expect(llama.numKeyValueHeads).toBeLessThan(llama.numAttentionHeads); // grouped-query attention
    expect(llama.hiddenAct).toBe("silu"); // SwiGLU
    expect(readConfig(modelDir("induction-gpt2")).modelType).toBe("gpt2");
  });

  it("ships the wider models of issue 11 (4 layers x 8 heads at width 128, trained with head dropout) as their recipes say", () => {
    const wide = shippedModels.filter((m) => m.endsWith("-d128l4"));
    expect(wide.length).toBeGreaterThan(0);
    for (const name of wide) {
      const config = readConfig(modelDir(name));
      expect(config, name).toEqual(recipes[name]!.model(config.vocabSize));
      if (config.modelType === "gpt2") expect([config.nLayer, config.nHead, config.nEmbd], name).toEqual([4, 8, 128]);
      else if (config.modelType === "llama") expect([config.numHiddenLayers, config.numAttentionHeads, config.numKeyValueHeads, config.hiddenSize], name).toEqual([4, 8, 2, 128]);
      else throw new Error(`${name} is a ${config.modelType} model`);
      expect(report(name).hyperparameters["headDropout"], name).toBe(recipes[name]!.headDropout);
      expect(report(name).hyperparameters["lr"], name).toBe(recipes[name]!.lr);
    }
  });

  it("tokenizes every task word as one token", async () => {
    for (const name of shippedModels.filter((m) => m.startsWith("ioi"))) {
      const tokenizer = await loadTokenizer(modelDir(name));
      for (const n of IOI_NAMES) expect(tokenizer.encode(` ${n}`), `${name}: ${n}`).toHaveLength(1);
    }
    for (const name of shippedModels.filter((m) => m.startsWith("induction"))) {
      const tokenizer = await loadTokenizer(modelDir(name));
      for (const s of INDUCTION_SYMBOLS) expect(tokenizer.encode(` ${s}`), `${name}: ${s}`).toHaveLength(1);
    }
  });

  it("the default model predicts \" Mary\" for the quick-start prompt", async () => {
    const dir = modelDir(defaultModel);
    const tokenizer = await loadTokenizer(dir);
    const model = loadModel(dir);
    const ids = tokenizer.encode("When Mary and John went to the store, John gave a drink to");
    const [mary] = tokenizer.encode(" Mary");
    expect(evaluate(model, [{ ids, target: mary! }]).accuracy).toBe(1);
  });
});
