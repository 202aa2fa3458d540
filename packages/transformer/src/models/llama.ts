/**
 * Llama and its relatives (Qwen2: biases on q/k/v; Mistral), as `LlamaForCausalLM` lays
 * out its checkpoint:
 *
 *   x = model.embed_tokens[ids]
 *   for each block model.layers.i:
 *     x = x + self_attn(input_layernorm(x))          (RMSNorm; RoPE on q and k; GQA)
 *     x = x + mlp(post_attention_layernorm(x))       (down_proj(silu(gate_proj(x)) * up_proj(x)))
 *   logits = lm_head(model.norm(x))                  (lm_head tied to embed_tokens if tie_word_embeddings)
 */
import { add, embedding, gelu, linear, mul, scope, silu, tag, tagged, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { DType, Tensor } from "@gim/tensor";
import { ropeInverseFrequencies, slidingWindowOf, type LlamaConfig } from "../config.js";
import { applyRope, causalAttention, mergeHeads, rmsNormLayer, ropeTables, splitHeads } from "../layers.js";
import { CausalLM, type ParamShapes } from "../model.js";
import { Tags } from "../places.js";

/** Parameter shapes of a Llama-family config, by checkpoint name. */
export function llamaParamShapes(c: LlamaConfig): ParamShapes {
  const d = c.hiddenSize;
  const qWidth = c.numAttentionHeads * c.headDim;
  const kvWidth = c.numKeyValueHeads * c.headDim;
  const shapes: ParamShapes = new Map([["model.embed_tokens.weight", [c.vocabSize, d]]]);
  const proj = (name: string, out: number, inp: number, bias: boolean) => {
    shapes.set(`${name}.weight`, [out, inp]);
    if (bias) shapes.set(`${name}.bias`, [out]);
  };
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = `model.layers.${i}`;
    shapes.set(`${l}.input_layernorm.weight`, [d]);
    proj(`${l}.self_attn.q_proj`, qWidth, d, c.qkvBias);
    proj(`${l}.self_attn.k_proj`, kvWidth, d, c.qkvBias);
    proj(`${l}.self_attn.v_proj`, kvWidth, d, c.qkvBias);
    proj(`${l}.self_attn.o_proj`, d, qWidth, c.oBias);
    shapes.set(`${l}.post_attention_layernorm.weight`, [d]);
    proj(`${l}.mlp.gate_proj`, c.intermediateSize, d, c.mlpBias);
    proj(`${l}.mlp.up_proj`, c.intermediateSize, d, c.mlpBias);
    proj(`${l}.mlp.down_proj`, d, c.intermediateSize, c.mlpBias);
  }
  shapes.set("model.norm.weight", [d]);
  if (!c.tieWordEmbeddings) shapes.set("lm_head.weight", [c.vocabSize, d]);
  return shapes;
}

/** Llama, Qwen2 and Mistral (see the top of this file). */
export class LlamaModel extends CausalLM {
  readonly config: LlamaConfig;
  private rope: { cos: Tensor; sin: Tensor } | undefined;

  /** Builds a model from tensors keyed by checkpoint name (checked against the config). */
  constructor(config: LlamaConfig, weights: Map<string, Tensor>, source = "weights") {
    super(weights, llamaParamShapes(config), source);
    this.config = config;
  }

  /** A model with random weights (normal, std 0.02; norm weights 1; biases 0). */
  static random(config: LlamaConfig, options: { seed?: number; dtype?: DType; std?: number } = {}): LlamaModel {
    const rng = new T.Rng(options.seed ?? 0);
    const dtype = options.dtype ?? "float32";
    const weights = new Map<string, Tensor>();
    for (const [name, shape] of llamaParamShapes(config)) {
      const init = name.endsWith("norm.weight") || name.endsWith("layernorm.weight") ? T.ones(shape, { dtype }) : name.endsWith(".bias") ? T.zeros(shape, { dtype }) : T.randNormal(shape, { rng, std: options.std ?? 0.02, dtype });
      weights.set(name, init);
    }
    return new LlamaModel(config, weights, "random weights");
  }

  get hiddenSize(): number {
    return this.config.hiddenSize;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get maxPositions(): number {
    return this.config.maxPositionEmbeddings;
  }

  protected get tokenEmbeddingWeight(): Var {
    return this.param("model.embed_tokens.weight");
  }

  protected embedIds(ids: readonly number[]): Var {
    return scope("model.embed_tokens", () => tagged(Tags.tokenEmbeddings, () => embedding(this.param("model.embed_tokens.weight"), { ids }))); // [N, d]
  }

  /** cos and sin tables [T, dh] for the first `length` positions (computed once for the longest length seen). */
  private ropeFor(length: number): { cos: Tensor; sin: Tensor } {
    if (!this.rope || this.rope.cos.shape[0]! < length) {
      this.rope = ropeTables(Math.max(length, 64), ropeInverseFrequencies(this.config), this.dtype);
    }
    const { cos, sin } = this.rope;
    return { cos: T.narrow(cos, 0, 0, length), sin: T.narrow(sin, 0, 0, length) };
  }

  protected blocks(embeds: Var): Var {
    const rope = this.ropeFor(embeds.shape[1]!);
    let x = embeds; // [B, T, d]
    for (let i = 0; i < this.config.numHiddenLayers; i++) x = scope(`model.layers.${i}`, () => this.block(x, i, rope));
    return x;
  }

  protected head(x: Var): Var {
    const c = this.config;
    const final = scope("model.norm", () => rmsNormLayer(x, this.param("model.norm.weight"), c.rmsNormEps));
    const weight = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    return scope("lm_head", () => tagged(Tags.logits, () => linear(final, this.param(weight)))); // [B, P, V]
  }

  /** nn.Linear `prefix` (weight [out, in], optional bias), recorded under its own name. */
  private proj(x: Var, prefix: string): Var {
    const name = prefix.slice(prefix.lastIndexOf(".") + 1);
    return scope(name, () => {
      const y = linear(x, this.param(`${prefix}.weight`));
      const bias = this.params.get(`${prefix}.bias`);
      return bias ? add(y, bias) : y;
    });
  }

  private block(x: Var, layer: number, rope: { cos: Tensor; sin: Tensor }): Var {
    const c = this.config;
    const l = `model.layers.${layer}`;
    const resid = tag(x, Tags.residPre);
    const attnIn = scope("input_layernorm", () => rmsNormLayer(resid, this.param(`${l}.input_layernorm.weight`), c.rmsNormEps));
    const attnOut = scope("self_attn", () => {
      const a = `${l}.self_attn`;
      const q = applyRope(splitHeads(this.proj(attnIn, `${a}.q_proj`), c.numAttentionHeads), rope.cos, rope.sin); // [B, H, T, dh]
      const k = applyRope(splitHeads(this.proj(attnIn, `${a}.k_proj`), c.numKeyValueHeads), rope.cos, rope.sin); // [B, Hkv, T, dh]
      const v = splitHeads(this.proj(attnIn, `${a}.v_proj`), c.numKeyValueHeads); // [B, Hkv, T, dh]
      const z = causalAttention(q, k, v, slidingWindowOf(c, layer)); // [B, H, T, dh]
      return tag(this.proj(mergeHeads(z), `${a}.o_proj`), Tags.attnOutput); // [B, T, d]
    });
    const mid = tag(add(resid, attnOut), Tags.residMid);
    const mlpIn = scope("post_attention_layernorm", () => rmsNormLayer(mid, this.param(`${l}.post_attention_layernorm.weight`), c.rmsNormEps));
    const mlpOut = scope("mlp", () => {
      const m = `${l}.mlp`;
      const input = tag(mlpIn, Tags.mlpInput);
      const gate = tag(this.proj(input, `${m}.gate_proj`), Tags.gate); // [B, T, I]
      const up = tag(this.proj(input, `${m}.up_proj`), Tags.up); // [B, T, I]
      const act = c.hiddenAct === "silu" ? silu(gate) : gelu(gate, { approximate: c.hiddenAct === "gelu" ? "none" : "tanh" });
      const hidden = tag(mul(act, up), Tags.mlpHidden);
      return tag(this.proj(hidden, `${m}.down_proj`), Tags.mlpOutput); // [B, T, d]
    });
    return tag(add(mid, mlpOut), Tags.residPost);
  }
}
