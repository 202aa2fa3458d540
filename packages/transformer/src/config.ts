/**
 * Model configurations, read from a Hugging Face `config.json` and checked up front, so a
 * bad config fails with one line naming the key instead of deep inside a forward pass.
 */

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
  /** The MLP activation: GPT-2 uses "gelu_new" (tanh approximation). */
  readonly activation: "gelu_new" | "gelu" | "relu";
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
}

/** A checked model configuration of any supported family. */
export type ModelConfig = Gpt2Config | LlamaConfig;

/** The `model_type`s this package can build. */
export const supportedModelTypes = ["gpt2", "llama", "qwen2", "mistral"] as const;

/** A config error: one line, naming the source and the key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Json = Record<string, unknown>;

class Reader {
  constructor(
    private readonly json: Json,
    private readonly source: string,
  ) {}

  fail(message: string): never {
    throw new ConfigError(`${this.source}: ${message}`);
  }

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  int(key: string, fallback?: number, min = 1): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(`missing required key "${key}"`);
    }
    const v = this.json[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) this.fail(`"${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  }

  number(key: string, fallback?: number): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      this.fail(`missing required key "${key}"`);
    }
    const v = this.json[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const v = this.json[key];
    if (typeof v !== "boolean") this.fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    if (!this.has(key)) return fallback;
    const v = this.json[key];
    if (typeof v !== "string" || !allowed.includes(v as T)) this.fail(`"${key}" is ${JSON.stringify(v)}; supported: ${allowed.join(", ")}`);
    return v as T;
  }
}

/**
 * Parses a Hugging Face config object. `source` names it in errors (usually the file path).
 * Unknown `model_type`s, missing required keys and inconsistent shapes are refused.
 */
export function parseConfig(json: unknown, source = "config.json"): ModelConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new ConfigError(`${source}: the config must be a JSON object`);
  const r = new Reader(json as Json, source);
  const type = (json as Json)["model_type"];
  if (typeof type !== "string") r.fail(`missing required key "model_type"`);
  if (type === "gpt2") return parseGpt2(r);
  if (type === "llama" || type === "qwen2" || type === "mistral") return parseLlama(r, type);
  return r.fail(`unknown model_type "${type}"; supported: ${supportedModelTypes.join(", ")}`);
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
    nLayer: r.int("n_layer"),
    nHead,
    nInner: r.int("n_inner", 4 * nEmbd),
    layerNormEpsilon: r.number("layer_norm_epsilon", 1e-5),
    activation: r.oneOf("activation_function", ["gelu_new", "gelu", "relu"] as const, "gelu_new"),
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
  if (r.has("rope_scaling")) r.fail(`"rope_scaling" is not supported yet`);
  const attentionBias = r.bool("attention_bias", false);
  return {
    modelType,
    vocabSize: r.int("vocab_size"),
    hiddenSize,
    intermediateSize: r.int("intermediate_size"),
    numHiddenLayers: r.int("num_hidden_layers"),
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    rmsNormEps: r.number("rms_norm_eps", 1e-6),
    ropeTheta: r.number("rope_theta", 10000),
    maxPositionEmbeddings: r.int("max_position_embeddings"),
    tieWordEmbeddings: r.bool("tie_word_embeddings", false),
    qkvBias: modelType === "qwen2" ? true : attentionBias,
    oBias: modelType === "qwen2" ? false : attentionBias,
    mlpBias: r.bool("mlp_bias", false),
    hiddenAct: r.oneOf("hidden_act", ["silu", "gelu", "gelu_pytorch_tanh"] as const, "silu"),
  };
}
