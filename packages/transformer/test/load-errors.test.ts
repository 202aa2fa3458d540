import * as T from "@gim/tensor";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig, ropeInverseFrequencies, slidingWindowOf, type LlamaConfig } from "../src/index.js";
import { loadModel, openSafetensorsFolder, writeSafetensors } from "../src/node/index.js";
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
    ["a key of the wrong type", () => loadModel(variant("badkey", "gpt2-f32", { config: (c) => ({ ...c, n_head: "four" }) })), /"n_head" must be an integer in \[1, 2147483647\], got "four"/],
    ["heads that do not divide the width", () => loadModel(variant("heads", "gpt2-f32", { config: (c) => ({ ...c, n_head: 5 }) })), /n_embd 32 is not divisible by n_head 5/],
    ["a missing tensor", () => loadModel(variant("notensor", "gpt2-f32", { tensors: (m) => void m.delete("h.1.mlp.c_fc.bias") })), /model\.safetensors: tensor "h\.1\.mlp\.c_fc\.bias" is missing/],
    ["a tensor of the wrong shape for the config", () => loadModel(variant("shape", "gpt2-f32", { config: (c) => ({ ...c, n_inner: 64 }) })), /model\.safetensors: tensor "h\.0\.mlp\.c_fc\.weight" has shape \[32, 128\], but the config needs \[32, 64\]/],
    ["an untied Llama without lm_head", () => loadModel(variant("nohead", "llama-gqa-sharded", { tensors: (m) => void m.delete("lm_head.weight") })), /tensor "lm_head\.weight" is missing/],
    ["a config with more layers than stored", () => loadModel(variant("more-layers", "gpt2-f32", { config: (c) => ({ ...c, n_layer: 3 }) })), /config\.json: "n_layer" is 3, but .*model\.safetensors holds 2 layers/],
    ["a config with fewer layers than stored", () => loadModel(variant("fewer-layers", "llama-gqa-sharded", { config: (c) => ({ ...c, num_hidden_layers: 1 }) })), /config\.json: "num_hidden_layers" is 1, but .*model\.safetensors holds 3 layers/],
    ["a config with a billion layers", () => loadModel(variant("billion-layers", "gpt2-f32", { config: (c) => ({ ...c, n_layer: 1e9 }) })), /config\.json: "n_layer" must be an integer in \[1, 4096\], got 1000000000/],
    ["a tensor stored with and without the transformer. prefix", () => loadModel(variant("both", "gpt2-f32", { tensors: (m) => void m.set("transformer.ln_f.bias", m.get("ln_f.bias")!) })), /model\.safetensors: holds both "ln_f\.bias" and "transformer\.ln_f\.bias"; which one the model uses is ambiguous/],
    ["tensors the config does not use", () => loadModel(variant("unused", "gpt2-f32", { tensors: (m) => { for (const n of ["v_head.weight", "score.weight", "a", "b"]) m.set(n, T.zeros([1])); } })), /model\.safetensors: 4 tensors are not used by this gpt2 config: "a", "b", "score\.weight" and 1 more \(check the config, or allow unused tensors to ignore them\)/],
    ["an untied GPT-2 without lm_head", () => loadModel(variant("gpt2-nohead", "gpt2-f32", { config: (c) => ({ ...c, tie_word_embeddings: false }) })), /tensor "lm_head\.weight" is missing/],
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

  it("a tied model accepts a stored lm_head.weight equal to its embeddings, and GPT-2 loads with or without the transformer. prefix", () => {
    const gpt2 = loadModel(path.join(fixturesDir, "gpt2-prefixed-f16"));
    expect(gpt2.params.has("wte.weight")).toBe(true);
    expect(gpt2.params.has("lm_head.weight")).toBe(false);
    const llama = loadModel(variant("llama-tied-head", "llama-tied-bf16", { tensors: (m) => void m.set("lm_head.weight", m.get("model.embed_tokens.weight")!) }));
    expect(llama.params.has("lm_head.weight")).toBe(false);
  });

  it("ignores the buffers transformers ignores, and unused tensors when asked to", () => {
    const buffers = variant("buffers", "llama-gqa-sharded", { tensors: (m) => void m.set("model.layers.1.self_attn.rotary_emb.inv_freq", T.ones([4])) });
    expect(loadModel(buffers).params.size).toBe(30);
    const extra = variant("extra", "gpt2-f32", { tensors: (m) => void m.set("v_head.weight", T.ones([1, 32])) });
    expect(() => loadModel(extra)).toThrow(/1 tensor is not used by this gpt2 config: "v_head\.weight"/);
    const model = loadModel(extra, { allowUnusedTensors: true });
    expect(model.params.has("v_head.weight")).toBe(false);
    expect(model.forward({ ids: [1, 2] }).logits.shape).toEqual([2, 96]);
  });
});

describe("GPT-2 unembedding", () => {
  it("uses its own lm_head.weight only when tie_word_embeddings is false, as transformers does", () => {
    // A stored lm_head of twice wte: logits are twice the tied ones when untied, unchanged when
    // tied (then the differing head is an error unless unused tensors are allowed).
    const doubled = (m: Map<string, T.Tensor>) => void m.set("lm_head.weight", T.mul(m.get("wte.weight")!, 2));
    const ids = [5, 17, 3];
    const tied = loadModel(path.join(fixturesDir, "gpt2-f32")).forward({ ids }).logits.value;
    const tiedDir = variant("gpt2-head-tied", "gpt2-f32", { tensors: doubled });
    expect(() => loadModel(tiedDir)).toThrow(/tie_word_embeddings is true but the checkpoint's "lm_head\.weight" differs from "wte\.weight"/);
    const ignored = loadModel(tiedDir, { allowUnusedTensors: true }).forward({ ids }).logits.value;
    const untied = loadModel(variant("gpt2-head-untied", "gpt2-f32", { config: (c) => ({ ...c, tie_word_embeddings: false }), tensors: doubled })).forward({ ids }).logits.value;
    expect(Array.from(ignored.data)).toEqual(Array.from(tied.data));
    Array.from(untied.data).forEach((v, i) => expect(v).toBeCloseTo(2 * tied.data[i]!, 4));
  });
});

describe("GPT-2 activation names", () => {
  it("runs gelu_pytorch_tanh and gelu_fast as gelu_new (the tanh approximation), and gelu exactly", () => {
    const ids = [5, 17, 3];
    const logits = (activation: string) =>
      Array.from(loadModel(variant(`gpt2-act-${activation}`, "gpt2-f32", { config: (c) => ({ ...c, activation_function: activation }) })).forward({ ids }).logits.value.data);
    const tanh = logits("gelu_new");
    expect(logits("gelu_pytorch_tanh")).toEqual(tanh);
    expect(logits("gelu_fast")).toEqual(tanh);
    expect(logits("gelu")).not.toEqual(tanh);
    expect(() => logits("quick_gelu")).toThrow('"activation_function" is "quick_gelu"; supported: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu');
  });
});

describe("parseConfig", () => {
  it("fills the Hugging Face defaults", () => {
    const c = parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 });
    expect(c).toMatchObject({ numKeyValueHeads: 2, headDim: 4, ropeTheta: 10000, rmsNormEps: 1e-6, tieWordEmbeddings: false, qkvBias: false });
    const q = parseConfig({ model_type: "qwen2", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16 });
    expect(q).toMatchObject({ qkvBias: true, oBias: false });
    // As transformers builds them: only Llama reads attention_bias / mlp_bias.
    const biases = { attention_bias: true, mlp_bias: true };
    expect(parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16, ...biases })).toMatchObject({ qkvBias: true, oBias: true, mlpBias: true });
    expect(parseConfig({ model_type: "qwen2", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16, ...biases })).toMatchObject({ qkvBias: true, oBias: false, mlpBias: false });
    expect(parseConfig({ model_type: "mistral", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 16, ...biases })).toMatchObject({ qkvBias: false, oBias: false, mlpBias: false });
    const g = parseConfig({ model_type: "gpt2", vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, n_inner: null });
    expect(g).toMatchObject({ nInner: 32, layerNormEpsilon: 1e-5, activation: "gelu_new" });
    expect(g).not.toHaveProperty("tieWordEmbeddings");
  });

  it("refuses configs it would run wrongly", () => {
    expect(() => parseConfig([], "x.json")).toThrow(ConfigError);
    expect(() => parseConfig({ model_type: "llama", vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 3, max_position_embeddings: 16 })).toThrow(/not a multiple of num_key_value_heads 3/);
    expect(() => parseConfig({ model_type: "gpt2", vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, scale_attn_by_inverse_layer_idx: true })).toThrow(/not supported/);
  });
});

describe("parseConfig: rotary settings of transformers 4.x and 5.x", () => {
  const llama = { model_type: "llama", vocab_size: 10, hidden_size: 16, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 64 };
  const llama3 = { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
  const parse = (extra: object) => parseConfig({ ...llama, ...extra }, "m/config.json") as LlamaConfig;

  it("reads rope_theta and the scaling from rope_parameters (5.x) or rope_theta + rope_scaling (4.x)", () => {
    expect(parse({ rope_parameters: { rope_type: "default", rope_theta: 500000 } })).toMatchObject({ ropeTheta: 500000 });
    expect(parse({ rope_parameters: { rope_type: "default", rope_theta: 500000 } }).ropeScaling).toBeUndefined();
    expect(parse({ rope_theta: 1e6, rope_scaling: null })).toMatchObject({ ropeTheta: 1e6 });
    expect(parse({ rope_theta: 1e6, rope_scaling: { type: "linear", factor: 2 } })).toMatchObject({ ropeTheta: 1e6, ropeScaling: { type: "linear", factor: 2 } });
    expect(parse({ rope_parameters: { ...llama3, rope_theta: 5e5 } })).toMatchObject({
      ropeTheta: 5e5,
      ropeScaling: { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
    });
    // As transformers does: rope_scaling wins over rope_parameters; its theta falls back to the top level.
    expect(parse({ rope_theta: 3e4, rope_scaling: { rope_type: "linear", factor: 4 }, rope_parameters: { rope_theta: 9 } })).toMatchObject({ ropeTheta: 3e4, ropeScaling: { factor: 4 } });
  });

  it("refuses rotary settings it would run wrongly, naming the key", () => {
    expect(() => parse({ rope_scaling: { rope_type: "yarn", factor: 4 } })).toThrow('m/config.json: "rope_scaling.rope_type" is "yarn"; supported: default, linear, llama3');
    expect(() => parse({ rope_parameters: { rope_type: "dynamic", factor: 2, rope_theta: 1e4 } })).toThrow('"rope_parameters.rope_type" is "dynamic"');
    expect(() => parse({ rope_scaling: { type: "linear" } })).toThrow('missing required key "rope_scaling.factor"');
    expect(() => parse({ rope_parameters: { ...llama3, high_freq_factor: 1 } })).toThrow('"rope_parameters.high_freq_factor" (1) must be above "rope_parameters.low_freq_factor" (1)');
    expect(() => parse({ rope_parameters: { ...llama3, original_max_position_embeddings: 6.5 } })).toThrow('"rope_parameters.original_max_position_embeddings" must be an integer');
    expect(() => parse({ partial_rotary_factor: 0.5 })).toThrow('"partial_rotary_factor" other than 1 is not supported, got 0.5');
    expect(() => parse({ rope_parameters: { rope_theta: 1e4, partial_rotary_factor: 0.25 } })).toThrow('"rope_parameters.partial_rotary_factor" other than 1');
    expect(() => parse({ rope_parameters: { full_attention: { rope_theta: 1e6 }, sliding_attention: { rope_theta: 1e4 } } })).toThrow("per layer type");
    expect(() => parse({ rope_scaling: "linear" })).toThrow('"rope_scaling" must be an object, got "linear"');
  });

  it("gives Hugging Face's inverse frequencies: plain, linear, and llama3 in its three bands", () => {
    const plain = ropeInverseFrequencies({ headDim: 16, ropeTheta: 10000 });
    plain.forEach((f, i) => expect(f).toBeCloseTo(Math.pow(10000, -i / 8), 15));
    const linear = ropeInverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: { type: "linear", factor: 4 } });
    linear.forEach((f, i) => expect(f).toBeCloseTo(plain[i]! / 4, 15));
    const scaled = ropeInverseFrequencies({ headDim: 16, ropeTheta: 10000, ropeScaling: parse({ rope_parameters: { ...llama3, rope_theta: 1e4 } }).ropeScaling! });
    // Wavelengths 2π / f: 6.28 (< 64 / 4: kept), 19.9 and 62.8 (between 16 and 64: blended), 199 and up (> 64: f / 8).
    const wavelengths = plain.map((f) => (2 * Math.PI) / f);
    expect(scaled[0]).toBe(plain[0]);
    for (const i of [1, 2]) {
      const smooth = (64 / wavelengths[i]! - 1) / (4 - 1);
      expect(smooth > 0 && smooth < 1).toBe(true);
      expect(scaled[i]).toBeCloseTo((1 - smooth) * (plain[i]! / 8) + smooth * plain[i]!, 15);
    }
    for (let i = 3; i < 8; i++) expect(scaled[i]).toBeCloseTo(plain[i]! / 8, 15);
  });
});

describe("parseConfig: sliding-window attention", () => {
  const base = { vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 3, num_attention_heads: 2, max_position_embeddings: 8192 };
  const windows = (json: object) => slidingWindowsOf(parseConfig({ ...base, ...json }));
  const slidingWindowsOf = (c: ReturnType<typeof parseConfig>) => [0, 1, 2].map((l) => slidingWindowOf(c, l));

  it("reads Mistral's window for every layer (4096 when the key is absent, none when null)", () => {
    expect(windows({ model_type: "mistral", sliding_window: 4 })).toEqual([4, 4, 4]);
    expect(windows({ model_type: "mistral" })).toEqual([4096, 4096, 4096]);
    expect(windows({ model_type: "mistral", sliding_window: null })).toEqual([undefined, undefined, undefined]);
    expect((parseConfig({ ...base, model_type: "mistral", sliding_window: null }) as LlamaConfig).slidingWindows).toBeUndefined();
  });

  it("reads Qwen2's window only with use_sliding_window, on the layers layer_types or max_window_layers say", () => {
    expect(windows({ model_type: "qwen2", sliding_window: 4 })).toEqual([undefined, undefined, undefined]);
    expect(windows({ model_type: "qwen2", use_sliding_window: true, sliding_window: 4, max_window_layers: 1 })).toEqual([undefined, 4, 4]);
    expect(windows({ model_type: "qwen2", use_sliding_window: true, sliding_window: 4, max_window_layers: 28 })).toEqual([undefined, undefined, undefined]);
    expect(windows({ model_type: "qwen2", use_sliding_window: true, sliding_window: 4, layer_types: ["sliding_attention", "full_attention", "sliding_attention"] })).toEqual([4, undefined, 4]);
    expect(() => windows({ model_type: "qwen2", use_sliding_window: true, sliding_window: 4, layer_types: ["full_attention"] })).toThrow('"layer_types" must list "full_attention" or "sliding_attention" for each of the 3 layers');
    expect(() => windows({ model_type: "mistral", sliding_window: 0 })).toThrow('"sliding_window" must be an integer in [1, 2147483647], got 0');
  });

  it("ignores window keys on Llama", () => {
    expect(windows({ model_type: "llama", sliding_window: 4, use_sliding_window: true })).toEqual([undefined, undefined, undefined]);
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
    expect(() => model.forward({ ids: [1, 2] }).logit(5, 0)).toThrow(/position 5 is out of range for 2 tokens/);
  });

  it("inputs that are neither ids nor embeddings (from untyped callers)", () => {
    expect(() => model.forward({ ids: "1 2" as never })).toThrow(/token ids must be an array of integers .*got a string "1 2"/);
    expect(() => model.forward({} as never)).toThrow(/the model input needs \{ ids \} or \{ embeds \}/);
  });
});

describe("every file error is a FileFormatError naming the file", () => {
  it("config, safetensors and tokenizer errors", async () => {
    const { TokenizerError, SafetensorsError, parseSafetensors, parseTokenizerJson } = await import("../src/index.js");
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const config = thrown(() => parseConfig({ model_type: "gpt2", n_layer: -1 }, "cfg.json"));
    const weights = thrown(() => parseSafetensors(new Uint8Array(3), "w.safetensors"));
    const tokenizer = thrown(() => parseTokenizerJson("{", "tok.json"));
    for (const [e, type, file] of [[config, ConfigError, "cfg.json"], [weights, SafetensorsError, "w.safetensors"], [tokenizer, TokenizerError, "tok.json"]] as const) {
      expect(e).toBeInstanceOf(type);
      expect(e).toBeInstanceOf(T.FileFormatError);
      expect(e).toBeInstanceOf(T.InputError);
      expect((e as T.FileFormatError).file).toBe(file);
    }
  });
});
