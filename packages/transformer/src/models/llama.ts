/**
 * Llama and its relatives (Qwen2: biases on q/k/v; Mistral), as `LlamaForCausalLM` lays
 * out its checkpoint:
 *
 *   x = model.embed_tokens[ids]
 *   for each block model.layers.i:
 *     x = x + self_attn(input_layernorm(x))          (RMSNorm; RoPE on q and k; GQA)
 *     x = x + mlp(post_attention_layernorm(x))       (down_proj(silu(gate_proj(x)) * up_proj(x)))
 *   logits = lm_head(model.norm(x))                  (lm_head tied to embed_tokens if tie_word_embeddings)
 *
 * In a split q/k/v forward, input_layernorm runs on each head's own copies of x, and q_proj,
 * k_proj and v_proj project them head by head, k and v once per query head (each query head
 * with its kv head's rows: grouped-query attention ungrouped).
 */
import { add, embedding, indexSelect, linear, mul, reshape, split, tag, tagged, transpose, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { ropeInverseFrequencies, slidingWindowOf, type LlamaConfig } from "../config.js";
import { activation, applyRope, causalAttention, headProjection, mergeHeads, rmsNormLayer, ropeTables, scaleHeads, splitHeads, splitQkvInputs } from "../layers.js";
import { attentionPlaces, mlpLayout, normLayout, residualPlaces, type BlockLayout, type ModelLayout } from "../layout.js";
import { CausalLM, randomWeights, type BlockOptions, type ParamShapes, type RandomInitOptions } from "../model.js";
import { placeKey, Tags } from "../places.js";

/** LlamaForCausalLM's module names, as its checkpoint names them: the one source of module paths and parameter names. */
const LLAMA = {
  tokenEmbeddings: "model.embed_tokens",
  block: (i: number) => `model.layers.${i}`,
  attnNorm: "input_layernorm",
  attention: "self_attn",
  q: "q_proj",
  k: "k_proj",
  v: "v_proj",
  attnOut: "o_proj",
  mlpNorm: "post_attention_layernorm",
  mlp: "mlp",
  gate: "gate_proj",
  up: "up_proj",
  down: "down_proj",
  finalNorm: "model.norm",
  head: "lm_head",
} as const;

/** Parameter shapes of a Llama-family config, by checkpoint name. */
export function llamaParamShapes(c: LlamaConfig): ParamShapes {
  const d = c.hiddenSize;
  const qWidth = c.numAttentionHeads * c.headDim;
  const kvWidth = c.numKeyValueHeads * c.headDim;
  const shapes: ParamShapes = new Map([[`${LLAMA.tokenEmbeddings}.weight`, [c.vocabSize, d]]]);
  const proj = (path: string, out: number, inp: number, bias: boolean) => {
    shapes.set(`${path}.weight`, [out, inp]);
    if (bias) shapes.set(`${path}.bias`, [out]);
  };
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = LLAMA.block(i);
    const a = `${l}.${LLAMA.attention}`;
    const m = `${l}.${LLAMA.mlp}`;
    shapes.set(`${l}.${LLAMA.attnNorm}.weight`, [d]);
    proj(`${a}.${LLAMA.q}`, qWidth, d, c.qkvBias);
    proj(`${a}.${LLAMA.k}`, kvWidth, d, c.qkvBias);
    proj(`${a}.${LLAMA.v}`, kvWidth, d, c.qkvBias);
    proj(`${a}.${LLAMA.attnOut}`, d, qWidth, c.oBias);
    shapes.set(`${l}.${LLAMA.mlpNorm}.weight`, [d]);
    proj(`${m}.${LLAMA.gate}`, c.intermediateSize, d, c.mlpBias);
    proj(`${m}.${LLAMA.up}`, c.intermediateSize, d, c.mlpBias);
    proj(`${m}.${LLAMA.down}`, d, c.intermediateSize, c.mlpBias);
  }
  shapes.set(`${LLAMA.finalNorm}.weight`, [d]);
  if (!c.tieWordEmbeddings) shapes.set(`${LLAMA.head}.weight`, [c.vocabSize, d]);
  return shapes;
}

/** Llama, Qwen2 and Mistral (see the top of this file). */
export class LlamaModel extends CausalLM {
  readonly config: LlamaConfig;
  private rope: { cos: Tensor; sin: Tensor } | undefined;
  private declaredLayout: ModelLayout | undefined;

  /** Builds a model from tensors keyed by checkpoint name (checked against the config). */
  constructor(config: LlamaConfig, weights: Map<string, Tensor>, source = "weights") {
    super(weights, llamaParamShapes(config), source);
    this.config = config;
  }

  /** A model with random weights (normal, std 0.02; norm weights 1; biases 0). */
  static random(config: LlamaConfig, options: RandomInitOptions = {}): LlamaModel {
    const isNormWeight = (name: string) => /(layernorm|norm)\.weight$/.test(name);
    return new LlamaModel(config, randomWeights(llamaParamShapes(config), isNormWeight, options), "random weights");
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

  get layout(): ModelLayout {
    this.declaredLayout ??= {
      tokenEmbeddings: placeKey(LLAMA.tokenEmbeddings, Tags.tokenEmbeddings),
      positionEmbeddings: undefined,
      blocks: Array.from({ length: this.config.numHiddenLayers }, (_, i) => this.blockLayout(i)),
      finalNorm: normLayout(LLAMA.finalNorm, "rmsnorm"),
      logits: placeKey(LLAMA.head, Tags.logits),
      hiddenSize: this.config.hiddenSize,
    };
    return this.declaredLayout;
  }

  private blockLayout(index: number): BlockLayout {
    const c = this.config;
    const path = LLAMA.block(index);
    const attention = `${path}.${LLAMA.attention}`;
    const outputProjectionPath = `${attention}.${LLAMA.attnOut}`;
    const [heads, headDim, d] = [c.numAttentionHeads, c.headDim, c.hiddenSize];
    return {
      index,
      path,
      ...residualPlaces(path),
      attnNorm: normLayout(`${path}.${LLAMA.attnNorm}`, "rmsnorm"),
      attention: {
        path: attention,
        heads,
        kvHeads: c.numKeyValueHeads,
        headDim,
        window: slidingWindowOf(c, index),
        ...attentionPlaces(attention),
        outputProjectionPath,
        outputProjection: () => ({
          // nn.Linear stores W as [out, in] = [d, H*dh]: columns h*dh .. (h+1)*dh are head h's.
          perHead: T.contiguous(T.permute(T.reshape(this.param(`${outputProjectionPath}.weight`).value, [d, heads, headDim]), [1, 2, 0])), // [H, dh, d]
          bias: this.params.get(`${outputProjectionPath}.bias`)?.value,
        }),
      },
      mlpNorm: normLayout(`${path}.${LLAMA.mlpNorm}`, "rmsnorm"),
      mlp: mlpLayout(`${path}.${LLAMA.mlp}`, true),
    };
  }

  protected get tokenEmbeddingWeight(): Var {
    return this.param(`${LLAMA.tokenEmbeddings}.weight`);
  }

  protected embedIds(ids: readonly number[]): Var {
    return this.module(LLAMA.tokenEmbeddings, () => tagged(Tags.tokenEmbeddings, () => embedding(this.own("weight"), { ids }))); // [N, d]
  }

  /** cos and sin tables [T, dh] for the first `length` positions (computed once for the longest length seen). */
  private ropeFor(length: number): { cos: Tensor; sin: Tensor } {
    if (!this.rope || this.rope.cos.shape[0]! < length) {
      this.rope = ropeTables(Math.max(length, 64), ropeInverseFrequencies(this.config), this.dtype);
    }
    const { cos, sin } = this.rope;
    return { cos: T.narrow(cos, 0, 0, length), sin: T.narrow(sin, 0, 0, length) };
  }

  protected blocks(embeds: Var, options: BlockOptions): Var {
    const rope = this.ropeFor(embeds.shape[1]!);
    let x = embeds; // [B, T, d]
    for (let i = 0; i < this.config.numHiddenLayers; i++) x = this.module(LLAMA.block(i), () => this.block(x, i, rope, options));
    return x;
  }

  protected head(x: Var): Var {
    const final = this.module(LLAMA.finalNorm, () => this.rmsNorm(x));
    const weight = this.config.tieWordEmbeddings ? `${LLAMA.tokenEmbeddings}.weight` : `${LLAMA.head}.weight`;
    return this.module(LLAMA.head, () => tagged(Tags.logits, () => linear(final, this.param(weight)))); // [B, P, V]
  }

  private rmsNorm(x: Var): Var {
    return rmsNormLayer(x, this.own("weight"), this.config.rmsNormEps);
  }

  /** An nn.Linear module of the current one (weight [out, in], optional bias). */
  private proj(x: Var, name: string): Var {
    return this.module(name, () => {
      const y = linear(x, this.own("weight"));
      const bias = this.ownOptional("bias");
      return bias ? add(y, bias) : y;
    });
  }

  /**
   * q (after RoPE), k (after RoPE) and v of block input `resid`: input_layernorm then the
   * projections ([B, H, T, dh], [B, Hkv, T, dh], [B, Hkv, T, dh]), or in a split q/k/v forward
   * head by head from each head's own copies (k and v [B, H, T, dh]).
   */
  private queriesKeysValues(resid: Var, rope: { cos: Tensor; sin: Tensor }, splitQkv: boolean): [Var, Var, Var] {
    const c = this.config;
    const [heads, kvHeads] = [c.numAttentionHeads, c.numKeyValueHeads];
    const rotate = (x: Var) => applyRope(x, rope.cos, rope.sin);
    if (!splitQkv) {
      const attnIn = this.module(LLAMA.attnNorm, () => this.rmsNorm(resid));
      return this.module(LLAMA.attention, () => [
        rotate(splitHeads(this.proj(attnIn, LLAMA.q), heads)), // [B, H, T, dh]
        rotate(splitHeads(this.proj(attnIn, LLAMA.k), kvHeads)), // [B, Hkv, T, dh]
        splitHeads(this.proj(attnIn, LLAMA.v), kvHeads), // [B, Hkv, T, dh]
      ]);
    }
    const copies = this.module(LLAMA.attention, () => splitQkvInputs(resid, heads)); // [B, 3H, T, d]
    const [qIn, kIn, vIn] = split(this.module(LLAMA.attnNorm, () => this.rmsNorm(copies)), 3, 1) as [Var, Var, Var]; // 3 x [B, H, T, d]
    const group = heads / kvHeads;
    const kvOfHead = Array.from({ length: heads }, (_, h) => Math.floor(h / group));
    // One nn.Linear (weight [n*dh, d], optional bias) split into n heads and taken for each query head: [H, d, dh] and [H, dh].
    const perHead = (x: Var, name: string, n: number) =>
      this.module(name, () => {
        const rows = (t: Var) => (n === heads ? t : indexSelect(t, { axis: 0, ids: kvOfHead }));
        const weight = rows(reshape(this.own("weight"), { shape: [n, c.headDim, c.hiddenSize] })); // [H, dh, d]
        const bias = this.ownOptional("bias");
        return headProjection(x, transpose(weight), bias && rows(reshape(bias, { shape: [n, c.headDim] }))); // [B, H, T, dh]
      });
    return this.module(LLAMA.attention, () => [rotate(perHead(qIn, LLAMA.q, heads)), rotate(perHead(kIn, LLAMA.k, kvHeads)), perHead(vIn, LLAMA.v, kvHeads)]);
  }

  private block(x: Var, layer: number, rope: { cos: Tensor; sin: Tensor }, options: BlockOptions): Var {
    const c = this.config;
    const resid = tag(x, Tags.residPre);
    const [q, k, v] = this.queriesKeysValues(resid, rope, options.splitQkv);
    const attnOut = this.module(LLAMA.attention, () => {
      const z = causalAttention(q, k, v, slidingWindowOf(c, layer)); // [B, H, T, dh]
      return tag(this.proj(mergeHeads(scaleHeads(z, options.headScales?.[layer])), LLAMA.attnOut), Tags.attnOutput); // [B, T, d]
    });
    const mid = tag(add(resid, attnOut), Tags.residMid);
    const mlpIn = this.module(LLAMA.mlpNorm, () => this.rmsNorm(mid));
    const mlpOut = this.module(LLAMA.mlp, () => {
      const input = tag(mlpIn, Tags.mlpInput);
      const gate = tag(this.proj(input, LLAMA.gate), Tags.gate); // [B, T, I]
      const up = tag(this.proj(input, LLAMA.up), Tags.up); // [B, T, I]
      const hidden = tag(mul(activation(gate, c.hiddenAct), up), Tags.mlpHidden);
      return tag(this.proj(hidden, LLAMA.down), Tags.mlpOutput); // [B, T, d]
    });
    return tag(add(mid, mlpOut), Tags.residPost);
  }
}
