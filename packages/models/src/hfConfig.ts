/**
 * Hugging Face `config.json` contents for the model configs of `@gim/transformer`, with the
 * keys transformers' `GPT2LMHeadModel` and `LlamaForCausalLM` read (dropout off, float32).
 */
import { parseConfig, type Gpt2Config, type LlamaConfig, type ModelConfig } from "@gim/transformer";

/** Special token ids written into config.json (transformers reads them from there). */
export interface SpecialTokenIds {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
}

function gpt2Json(c: Gpt2Config, ids: SpecialTokenIds): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: c.nInner,
    activation_function: c.activation,
    layer_norm_epsilon: c.layerNormEpsilon,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    tie_word_embeddings: true,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: "float32",
  };
}

function llamaJson(c: LlamaConfig, ids: SpecialTokenIds): Record<string, unknown> {
  if (c.modelType !== "llama" || c.qkvBias || c.oBias) throw new Error(`only plain Llama configs (no attention biases) are written here, got ${c.modelType}`);
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    head_dim: c.headDim,
    hidden_act: c.hiddenAct,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxPositionEmbeddings,
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: c.mlpBias,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: "float32",
  };
}

/**
 * The config.json object of a model config. Checked by parsing it back: the result must give
 * the same config, so a folder written with it loads as the model that was trained.
 */
export function toHfConfig(config: ModelConfig, ids: SpecialTokenIds): Record<string, unknown> {
  const json = config.modelType === "gpt2" ? gpt2Json(config, ids) : llamaJson(config, ids);
  const back = parseConfig(json, "generated config.json");
  const keys = new Set([...Object.keys(back), ...Object.keys(config)]);
  const differ = [...keys].filter((k) => (back as unknown as Record<string, unknown>)[k] !== (config as unknown as Record<string, unknown>)[k]);
  if (differ.length > 0) {
    throw new Error(`generated config.json does not parse back to the same config (differs in ${differ.join(", ")})`);
  }
  return json;
}
