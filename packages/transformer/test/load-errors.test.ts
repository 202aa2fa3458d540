import * as T from "@gim/tensor";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadModel, openSafetensorsFolder, parseConfig, writeSafetensors } from "../src/index.js";
import { fixturesDir } from "./golden.js";

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "gim-load-"));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A copy of a fixture folder with its config and/or tensors changed. */
function variant(name: string, fixture: string, change: { config?: (c: Record<string, unknown>) => unknown; tensors?: (m: Map<string, T.Tensor>) => void }): string {
  const dir = path.join(tmpRoot, name);
  fs.mkdirSync(dir);
  const src = path.join(fixturesDir, fixture);
  const config = JSON.parse(fs.readFileSync(path.join(src, "config.json"), "utf8")) as Record<string, unknown>;
  const newConfig = change.config ? change.config(config) : config;
  fs.writeFileSync(path.join(dir, "config.json"), typeof newConfig === "string" ? newConfig : JSON.stringify(newConfig));
  const reader = openSafetensorsFolder(src);
  const tensors = new Map(reader.names().map((n) => [n, reader.read(n)]));
  reader.close();
  change.tensors?.(tensors);
  writeSafetensors(path.join(dir, "model.safetensors"), tensors);
  return dir;
}

describe("loading refuses bad model folders with one line naming the file and the problem", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["a folder that does not exist", () => loadModel(path.join(tmpRoot, "missing")), /missing[/\\]config\.json: the model folder does not exist/],
    ["a folder without config.json", () => loadModel(fs.mkdtempSync(path.join(tmpRoot, "empty-"))), /config\.json: no config\.json in the model folder/],
    ["a config that is not JSON", () => loadModel(variant("notjson", "gpt2-f32", { config: () => "{ not json" })), /config\.json: not valid JSON/],
    ["an unknown model_type", () => loadModel(variant("bert", "gpt2-f32", { config: (c) => ({ ...c, model_type: "bert" }) })), /config\.json: unknown model_type "bert"; supported: gpt2, llama, qwen2, mistral/],
    ["a config missing a required key", () => loadModel(variant("nokey", "llama-gqa-sharded", { config: (c) => ({ ...c, hidden_size: undefined }) })), /config\.json: missing required key "hidden_size"/],
    ["a key of the wrong type", () => loadModel(variant("badkey", "gpt2-f32", { config: (c) => ({ ...c, n_head: "four" }) })), /"n_head" must be an integer >= 1, got "four"/],
    ["heads that do not divide the width", () => loadModel(variant("heads", "gpt2-f32", { config: (c) => ({ ...c, n_head: 5 }) })), /n_embd 32 is not divisible by n_head 5/],
    ["a missing tensor", () => loadModel(variant("notensor", "gpt2-f32", { tensors: (m) => void m.delete("h.1.mlp.c_fc.bias") })), /model\.safetensors: tensor "h\.1\.mlp\.c_fc\.bias" is missing/],
    ["a tensor of the wrong shape for the config", () => loadModel(variant("shape", "gpt2-f32", { config: (c) => ({ ...c, n_inner: 64 }) })), /model\.safetensors: tensor "h\.0\.mlp\.c_fc\.weight" has shape \[32, 128\], but the config needs \[32, 64\]/],
    ["an untied Llama without lm_head", () => loadModel(variant("nohead", "llama-gqa-sharded", { tensors: (m) => void m.delete("lm_head.weight") })), /tensor "lm_head\.weight" is missing/],
  ];
  it.each(cases)("%s", (_what, load, message) => {
    let error: unknown;
    try {
      load();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it("a tied Llama ignores a stored lm_head.weight, and GPT-2 loads with or without the transformer. prefix", () => {
    const gpt2 = loadModel(path.join(fixturesDir, "gpt2-prefixed-f16"));
    expect(gpt2.params.has("wte.weight")).toBe(true);
    expect(gpt2.params.has("lm_head.weight")).toBe(false);
  });
});

describe("parseConfig", () => {
  it("fills the Hugging Face defaults", () => {
    const c = parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 });
    expect(c).toMatchObject({ numKeyValueHeads: 2, headDim: 4, ropeTheta: 10000, rmsNormEps: 1e-6, tieWordEmbeddings: false, qkvBias: false });
    const q = parseConfig({ model_type: "qwen2", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 });
    expect(q).toMatchObject({ qkvBias: true, oBias: false });
    const g = parseConfig({ model_type: "gpt2", vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, n_inner: null });
    expect(g).toMatchObject({ nInner: 32, layerNormEpsilon: 1e-5, activation: "gelu_new" });
  });

  it("refuses configs it would run wrongly", () => {
    expect(() => parseConfig([], "x.json")).toThrow(ConfigError);
    expect(() => parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 3, max_position_embeddings: 16 })).toThrow(/not a multiple of num_key_value_heads 3/);
    expect(() => parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16, rope_scaling: { type: "linear" } })).toThrow(/rope_scaling/);
    expect(() => parseConfig({ model_type: "gpt2", vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, scale_attn_by_inverse_layer_idx: true })).toThrow(/not supported/);
  });
});

describe("inputs are refused clearly", () => {
  const model = loadModel(path.join(fixturesDir, "gpt2-f32"));
  it.each([
    [[] as number[], /the input has no tokens/],
    [[1, 96], /token id 96 at position 1 is outside the vocabulary \[0, 96\)/],
    [[-1], /token id -1 at position 0 is outside the vocabulary/],
    [[1.5], /token id 1.5 at position 0/],
    [Array.from({ length: 33 }, () => 1), /the sequence has 33 tokens; this model accepts at most 32/],
  ])("ids %j", (ids, message) => {
    expect(() => model.forward({ ids })).toThrow(message);
  });

  it("ragged batches and mis-shaped embeddings", () => {
    expect(() => model.forward({ ids: [[1, 2], [3]] })).toThrow(/equal lengths; sequence 1 has 1 tokens, sequence 0 has 2/);
    expect(() => model.forward({ embeds: T.zeros([3, 31]) })).toThrow(/input embeddings must be \[T, 32\] or \[B, T, 32\], got \[3, 31\]/);
    expect(() => model.forward({ embeds: T.zeros([3, 32], { dtype: "float64" }) })).toThrow(/input embeddings are float64 but the model is float32/);
    expect(() => model.forward({ ids: [1, 2] }).logit(5, 0)).toThrow(/position 5 is out of range for a sequence of 2 tokens/);
  });

  it("inputs that are neither ids nor embeddings (from untyped callers)", () => {
    expect(() => model.forward({ ids: "1 2" as never })).toThrow(/token ids must be an array of integers .*got string/);
    expect(() => model.forward({} as never)).toThrow(/the model input needs \{ ids \} or \{ embeds \}/);
  });
});
