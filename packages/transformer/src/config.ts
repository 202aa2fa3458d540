/**
 * Model configurations, read from a Hugging Face `config.json` and checked up front, so a
 * bad config fails with one line naming the key instead of deep inside a forward pass.
 */

import { FileFormatError, quote } from "@gim/tensor";

/**
 * The largest sizes a config may claim, checked before anything is built from them. Layers:
 * the largest published models have about 130, and per-layer lists are built from the count
 * before a tensor is compared with it. Every other size (vocabulary, width, heads, positions):
 * 2^31 - 1, beyond what a typed array can hold; the tensors present then bound them exactly.
 */
export const configLimits = { layers: 4096, size: 2 ** 31 - 1 } as const;

/** GPT-2 (`model_type: "gpt2"`). */
export interface Gpt2Config {
  readonly modelType: "gpt2";
  readonly vocabSize: number;
  /** Maximum sequence length (learned position embeddings). */
  readonly nPositions: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  /** MLP width (`n_inner`; null in the file means 4 * n_embd). */
  readonly nInner: number;
  readonly layerNormEpsilon: number;
  /**
   * The MLP activation: GPT-2 uses "gelu_new" (the tanh approximation, which "gelu_pytorch_tanh"
   * and "gelu_fast" also name); "gelu" is exact.
   */
  readonly activation: "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu" | "relu";
  /** false: the checkpoint has its own `lm_head.weight` (`tie_word_embeddings: false`). Absent: tied to `wte`, as in GPT-2. */
  readonly tieWordEmbeddings?: false;
}

/** Llama and its close relatives: `model_type` "llama", "qwen2" (q/k/v biases) or "mistral". */
export interface LlamaConfig {
  readonly modelType: "llama" | "qwen2" | "mistral";
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  /** Fewer than `numAttentionHeads` for grouped-query attention. */
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj and v_proj (Qwen2; Llama's `attention_bias`). */
  readonly qkvBias: boolean;
  /** Bias on o_proj (Llama's `attention_bias` also covers it; Qwen2 has none). */
  readonly oBias: boolean;
  /** Biases on gate/up/down projections (`mlp_bias`). */
  readonly mlpBias: boolean;
  /** The gate activation: "silu" (SwiGLU) or "gelu_pytorch_tanh"/"gelu" (GeGLU). */
  readonly hiddenAct: "silu" | "gelu" | "gelu_pytorch_tanh";
  /** Rescaled rotary frequencies (`rope_type` "linear" or "llama3"); absent: plain RoPE. */
  readonly ropeScaling?: RopeScaling;
  /**
   * Per layer, the sliding attention window (a query sees itself and the `window - 1` keys
   * before it) or null for full causal attention. Absent: every layer is full.
   */
  readonly slidingWindows?: readonly (number | null)[];
}

/**
 * How the rotary inverse frequencies `theta^(-2i / head_dim)` are rescaled, as Hugging Face's
 * `rope_type`: "linear" divides them all by `factor`; "llama3" (Llama 3.1) divides the low
 * frequencies (wavelength above `originalMaxPositionEmbeddings / lowFreqFactor`) by `factor`,
 * keeps the high ones (wavelength below `originalMaxPositionEmbeddings / highFreqFactor`) and
 * blends in between. See {@link ropeInverseFrequencies}.
 */
export type RopeScaling =
  | { readonly type: "linear"; readonly factor: number }
  | {
      readonly type: "llama3";
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

/** The rotary types this package can build (`rope_type`; "default" is plain RoPE). */
export const supportedRopeTypes = ["default", "linear", "llama3"] as const;

/** A checked model configuration of any supported family. */
export type ModelConfig = Gpt2Config | LlamaConfig;

/** The `model_type`s this package can build. */
export const supportedModelTypes = ["gpt2", "llama", "qwen2", "mistral"] as const;

/** A config error: one line, naming the source and the key. */
export class ConfigError extends FileFormatError {
  override name = "ConfigError";
}

type Json = Record<string, unknown>;

class Reader {
  /** `prefix` names a nested object in messages: `"rope_parameters.factor"`. */
  constructor(
    private readonly json: Json,
    private readonly source: string,
    private readonly prefix = "",
  ) {}

  fail(message: string): never {
    throw new ConfigError(this.source, message);
  }

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  /** A nested object (null and absent alike give undefined), read with its own Reader. */
  object(key: string): Reader | undefined {
    if (!this.has(key)) return undefined;
    const v = this.json[key];
    if (typeof v !== "object" || Array.isArray(v)) this.fail(`${this.name(key)} must be an object, got ${quote(v)}`);
    return new Reader(v as Json, this.source, `${this.prefix}${key}.`);
  }

  /** The key as messages name it (with the nested object's prefix). */
  name(key: string): string {
    return `"${this.prefix}${key}"`;
  }

  /** The raw value (for keys whose form varies). */
  raw(key: string): unknown {
    return this.json[key];
  }

  keys(): string[] {
    return Object.keys(this.json);
  }

  int(key: string, fallback?: number, min = 1, max: number = configLimits.size): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(`missing required key ${this.name(key)}`);
    }
    const v = this.json[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) this.fail(`${this.name(key)} must be an integer in [${min}, ${max}], got ${quote(v)}`);
    return v;
  }

  number(key: string, fallback?: number): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(`missing required key ${this.name(key)}`);
    }
    const v = this.json[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(`${this.name(key)} must be a positive number, got ${quote(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const v = this.json[key];
    if (typeof v !== "boolean") this.fail(`${this.name(key)} must be true or false, got ${quote(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    if (!this.has(key)) return fallback;
    const v = this.json[key];
    if (typeof v !== "string" || !allowed.includes(v as T)) this.fail(`${this.name(key)} is ${quote(v)}; supported: ${allowed.join(", ")}`);
    return v as T;
  }
}

/**
 * Parses a Hugging Face config object. `source` names it in errors (usually the file path).
 * Unknown `model_type`s, missing required keys and inconsistent shapes are refused.
 */
export function parseConfig(json: unknown, source = "config.json"): ModelConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ConfigError(source, "the config must be a JSON object");
  const r = new Reader(json as Json, source);
  const type = (json as Json)["model_type"];
  if (typeof type !== "string") r.fail(`missing required key "model_type"`);
  if (type === "gpt2") return parseGpt2(r);
  if (type === "llama" || type === "qwen2" || type === "mistral") return parseLlama(r, type);
  return r.fail(`unknown model_type ${quote(type)}; supported: ${supportedModelTypes.join(", ")}`);
}

function parseGpt2(r: Reader): Gpt2Config {
  const nEmbd = r.int("n_embd");
  const nHead = r.int("n_head");
  if (nEmbd % nHead !== 0) r.fail(`n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
  for (const key of ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"]) {
    if (r.bool(key, false)) r.fail(`"${key}": true is not supported`);
  }
  if (!r.bool("scale_attn_weights", true)) r.fail(`"scale_attn_weights": false is not supported`);
  return {
    modelType: "gpt2",
    vocabSize: r.int("vocab_size"),
    nPositions: r.int("n_positions"),
    nEmbd,
    nLayer: r.int("n_layer", undefined, 1, configLimits.layers),
    nHead,
    nInner: r.int("n_inner", 4 * nEmbd),
    layerNormEpsilon: r.number("layer_norm_epsilon", 1e-5),
    activation: r.oneOf("activation_function", ["gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu"] as const, "gelu_new"),
    ...(!r.bool("tie_word_embeddings", true) && { tieWordEmbeddings: false as const }),
  };
}

function parseLlama(r: Reader, modelType: LlamaConfig["modelType"]): LlamaConfig {
  const hiddenSize = r.int("hidden_size");
  const heads = r.int("num_attention_heads");
  const kvHeads = r.int("num_key_value_heads", heads);
  if (heads % kvHeads !== 0) r.fail(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (!r.has("head_dim") && hiddenSize % heads !== 0) r.fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}`);
  const headDim = r.int("head_dim", hiddenSize / heads);
  if (headDim % 2 !== 0) r.fail(`head_dim ${headDim} must be even for rotary embeddings`);
  const layers = r.int("num_hidden_layers", undefined, 1, configLimits.layers);
  const rope = parseRope(r);
  const slidingWindows = parseSlidingWindows(r, modelType, layers);
  // Only Llama reads attention_bias and mlp_bias; Qwen2 always has q/k/v biases; Mistral has none.
  const llama = modelType === "llama";
  const attentionBias = llama && r.bool("attention_bias", false);
  return {
    modelType,
    vocabSize: r.int("vocab_size"),
    hiddenSize,
    intermediateSize: r.int("intermediate_size"),
    numHiddenLayers: layers,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    rmsNormEps: r.number("rms_norm_eps", 1e-6),
    ropeTheta: rope.theta,
    maxPositionEmbeddings: r.int("max_position_embeddings"),
    tieWordEmbeddings: r.bool("tie_word_embeddings", false),
    qkvBias: modelType === "qwen2" || attentionBias,
    oBias: attentionBias,
    mlpBias: llama && r.bool("mlp_bias", false),
    hiddenAct: r.oneOf("hidden_act", ["silu", "gelu", "gelu_pytorch_tanh"] as const, "silu"),
    ...(rope.scaling && { ropeScaling: rope.scaling }),
    ...(slidingWindows.some((w) => w !== null) && { slidingWindows }),
  };
}

/**
 * `rope_theta` and the frequency scaling. transformers 5 writes them together in
 * `rope_parameters` ({rope_type, rope_theta, factor, ...}); 4.x wrote a top-level `rope_theta`
 * and `rope_scaling` ({type or rope_type, factor, ...}). As transformers does, `rope_scaling`
 * wins over `rope_parameters`, and a missing theta falls back to the top-level key, then 10000.
 */
function parseRope(r: Reader): { theta: number; scaling?: RopeScaling } {
  const params = r.object("rope_scaling") ?? r.object("rope_parameters");
  if (params?.keys().some((k) => typeof params.raw(k) === "object" && params.raw(k) !== null)) {
    r.fail(`rope parameters per layer type (an object of objects) are not supported`);
  }
  const theta = params?.has("rope_theta") ? params.number("rope_theta") : r.number("rope_theta", 10000);
  for (const where of [r, params]) {
    if (where?.has("partial_rotary_factor") && where.raw("partial_rotary_factor") !== 1) {
      where.fail(`${where.name("partial_rotary_factor")} other than 1 is not supported, got ${quote(where.raw("partial_rotary_factor"))}`);
    }
  }
  if (!params) return { theta };
  const typeKey = params.has("rope_type") ? "rope_type" : "type";
  const type = params.oneOf(typeKey, supportedRopeTypes, "default");
  if (type === "default") return { theta };
  const factor = params.number("factor");
  // As transformers validates it: a factor below 1 is not a scaling it knows, and a tiny one makes every frequency infinite (NaN logits).
  if (factor < 1) params.fail(`${params.name("factor")} must be at least 1, got ${quote(factor)}`);
  if (type === "linear") return { theta, scaling: { type, factor } };
  const lowFreqFactor = params.number("low_freq_factor");
  const highFreqFactor = params.number("high_freq_factor");
  if (!(highFreqFactor > lowFreqFactor)) params.fail(`${params.name("high_freq_factor")} (${highFreqFactor}) must be above ${params.name("low_freq_factor")} (${lowFreqFactor})`);
  return { theta, scaling: { type, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: params.int("original_max_position_embeddings") } };
}

/**
 * The sliding window of each layer, as transformers reads it. Mistral: `sliding_window` on
 * every layer (4096 when the key is absent, none when it is null). Qwen2: `sliding_window`
 * only with `use_sliding_window`, on the layers `layer_types` marks "sliding_attention" (or,
 * without `layer_types`, from layer `max_window_layers` on). Llama: none.
 */
function parseSlidingWindows(r: Reader, modelType: LlamaConfig["modelType"], layers: number): (number | null)[] {
  const full = new Array<number | null>(layers).fill(null);
  if (modelType === "llama") return full;
  const absent = r.raw("sliding_window") === undefined;
  if (modelType === "mistral") return full.fill(absent ? 4096 : r.has("sliding_window") ? r.int("sliding_window") : null);
  if (!r.bool("use_sliding_window", false) || !r.has("sliding_window")) return full;
  const window = r.int("sliding_window");
  const types = r.raw("layer_types");
  if (types === undefined || types === null) {
    const from = r.int("max_window_layers", 28, 0);
    return full.map((_, i) => (i >= from ? window : null));
  }
  if (!Array.isArray(types) || types.length !== layers || !types.every((t) => t === "full_attention" || t === "sliding_attention")) {
    r.fail(`"layer_types" must list "full_attention" or "sliding_attention" for each of the ${layers} layers, got ${quote(types)}`);
  }
  return types.map((t) => (t === "sliding_attention" ? window : null));
}

/** The sliding attention window of a layer (see `LlamaConfig.slidingWindows`), or undefined for full causal attention. */
export function slidingWindowOf(config: ModelConfig, layer: number): number | undefined {
  return config.modelType === "gpt2" ? undefined : (config.slidingWindows?.[layer] ?? undefined);
}

/**
 * The rotary inverse frequencies of a Llama-family config, one per pair of head dimensions:
 * `theta^(-2i / head_dim)`, rescaled as {@link RopeScaling} says (Hugging Face's formulas).
 */
export function ropeInverseFrequencies(config: Pick<LlamaConfig, "headDim" | "ropeTheta" | "ropeScaling">): Float64Array {
  const { headDim, ropeTheta, ropeScaling: scaling } = config;
  const inv = Float64Array.from({ length: headDim / 2 }, (_, i) => Math.pow(ropeTheta, (-2 * i) / headDim));
  if (!scaling) return inv;
  if (scaling.type === "linear") return inv.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: context } = scaling;
  return inv.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < context / high) return f; // high frequencies: unchanged
    if (wavelength > context / low) return f / factor; // low frequencies: interpolated
    const smooth = (context / wavelength - low) / (high - low); // in between: blended
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}
