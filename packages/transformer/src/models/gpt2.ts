/**
 * GPT-2, as the Hugging Face checkpoint lays it out (module paths without the
 * `transformer.` prefix, as in the official `gpt2` checkpoint):
 *
 *   x = wte[ids] + wpe[positions]
 *   for each block h.i:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
 *   logits = ln_f(x) @ wte^T            (tied to the token embedding; lm_head.weight if tie_word_embeddings is false)
 *
 * attn: c_attn projects to q, k, v at once; causal softmax attention; c_proj. In a split q/k/v
 * forward, ln_1 runs on each head's own copies of x and c_attn's columns project them head by head.
 * mlp: c_proj(gelu_new(c_fc(x))). c_attn, c_proj and c_fc are Conv1D layers: y = x @ W + b
 * with W stored [in, out].
 */
import { add, embedding, linear, permute, reshape, split, tag, tagged, transpose, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import type { Gpt2Config } from "../config.js";
import { activation, causalAttention, headProjection, layerNormLayer, mergeHeads, scaleHeads, splitHeads, splitQkvInputs } from "../layers.js";
import { attentionPlaces, mlpLayout, normLayout, residualPlaces, type BlockLayout, type ModelLayout } from "../layout.js";
import { CausalLM, randomWeights, type BlockOptions, type ParamShapes, type RandomInitOptions } from "../model.js";
import { placeKey, Tags } from "../places.js";

/** GPT-2's module names, as its checkpoint names them: the one source of module paths and parameter names. */
const GPT2 = {
  tokenEmbeddings: "wte",
  positionEmbeddings: "wpe",
  block: (i: number) => `h.${i}`,
  attnNorm: "ln_1",
  attention: "attn",
  qkv: "c_attn",
  attnOut: "c_proj",
  mlpNorm: "ln_2",
  mlp: "mlp",
  mlpIn: "c_fc",
  mlpOut: "c_proj",
  finalNorm: "ln_f",
  untiedHead: "lm_head",
} as const;

/** Parameter shapes of a GPT-2 config, by checkpoint name. */
export function gpt2ParamShapes(c: Gpt2Config): ParamShapes {
  const d = c.nEmbd;
  const shapes: ParamShapes = new Map([
    [`${GPT2.tokenEmbeddings}.weight`, [c.vocabSize, d]],
    [`${GPT2.positionEmbeddings}.weight`, [c.nPositions, d]],
  ]);
  const conv1d = (path: string, inp: number, out: number) => shapes.set(`${path}.weight`, [inp, out]).set(`${path}.bias`, [out]);
  const norm = (path: string) => shapes.set(`${path}.weight`, [d]).set(`${path}.bias`, [d]);
  for (let i = 0; i < c.nLayer; i++) {
    const h = GPT2.block(i);
    norm(`${h}.${GPT2.attnNorm}`);
    conv1d(`${h}.${GPT2.attention}.${GPT2.qkv}`, d, 3 * d);
    conv1d(`${h}.${GPT2.attention}.${GPT2.attnOut}`, d, d);
    norm(`${h}.${GPT2.mlpNorm}`);
    conv1d(`${h}.${GPT2.mlp}.${GPT2.mlpIn}`, d, c.nInner);
    conv1d(`${h}.${GPT2.mlp}.${GPT2.mlpOut}`, c.nInner, d);
  }
  norm(GPT2.finalNorm);
  if (c.tieWordEmbeddings === false) shapes.set(`${GPT2.untiedHead}.weight`, [c.vocabSize, d]);
  return shapes;
}

/** GPT-2 (see the top of this file). */
export class Gpt2Model extends CausalLM {
  readonly config: Gpt2Config;
  private declaredLayout: ModelLayout | undefined;

  /** Builds a model from tensors keyed by checkpoint name (checked against the config). */
  constructor(config: Gpt2Config, weights: Map<string, Tensor>, source = "weights") {
    super(weights, gpt2ParamShapes(config), source);
    this.config = config;
  }

  /** A model with random weights (normal, std 0.02 as GPT-2 initialises; norms at 1 and 0). */
  static random(config: Gpt2Config, options: RandomInitOptions = {}): Gpt2Model {
    const isNormWeight = (name: string) => /(^|\.)ln_(\d|f)\.weight$/.test(name);
    return new Gpt2Model(config, randomWeights(gpt2ParamShapes(config), isNormWeight, options), "random weights");
  }

  get hiddenSize(): number {
    return this.config.nEmbd;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get maxPositions(): number {
    return this.config.nPositions;
  }

  get layout(): ModelLayout {
    this.declaredLayout ??= {
      tokenEmbeddings: placeKey(GPT2.tokenEmbeddings, Tags.tokenEmbeddings),
      positionEmbeddings: placeKey(GPT2.positionEmbeddings, Tags.positionEmbeddings),
      blocks: Array.from({ length: this.config.nLayer }, (_, i) => this.blockLayout(i)),
      finalNorm: normLayout(GPT2.finalNorm, "layernorm"),
      logits: placeKey("", Tags.logits),
      hiddenSize: this.config.nEmbd,
    };
    return this.declaredLayout;
  }

  private blockLayout(index: number): BlockLayout {
    const c = this.config;
    const path = GPT2.block(index);
    const attention = `${path}.${GPT2.attention}`;
    const outputProjectionPath = `${attention}.${GPT2.attnOut}`;
    const headDim = c.nEmbd / c.nHead;
    return {
      index,
      path,
      ...residualPlaces(path),
      attnNorm: normLayout(`${path}.${GPT2.attnNorm}`, "layernorm"),
      attention: {
        path: attention,
        heads: c.nHead,
        kvHeads: c.nHead,
        headDim,
        window: undefined,
        ...attentionPlaces(attention),
        outputProjectionPath,
        outputProjection: () => ({
          // Conv1D stores W as [in, out] = [H*dh, d]: rows h*dh .. (h+1)*dh are head h's.
          perHead: T.contiguous(T.reshape(this.param(`${outputProjectionPath}.weight`).value, [c.nHead, headDim, c.nEmbd])), // [H, dh, d]
          bias: this.param(`${outputProjectionPath}.bias`).value,
        }),
      },
      mlpNorm: normLayout(`${path}.${GPT2.mlpNorm}`, "layernorm"),
      mlp: mlpLayout(`${path}.${GPT2.mlp}`, false),
    };
  }

  protected get tokenEmbeddingWeight(): Var {
    return this.param(`${GPT2.tokenEmbeddings}.weight`);
  }

  protected embedIds(ids: readonly number[]): Var {
    return this.module(GPT2.tokenEmbeddings, () => tagged(Tags.tokenEmbeddings, () => embedding(this.own("weight"), { ids }))); // [N, d]
  }

  protected blocks(embeds: Var, options: BlockOptions): Var {
    const seqLen = embeds.shape[1]!;
    const positions = Array.from({ length: seqLen }, (_, i) => i);
    const pos = this.module(GPT2.positionEmbeddings, () => tagged(Tags.positionEmbeddings, () => embedding(this.own("weight"), { ids: positions }))); // [T, d]
    let x = add(embeds, pos); // [B, T, d]
    for (let i = 0; i < this.config.nLayer; i++) x = this.module(GPT2.block(i), () => this.block(x, i, options));
    return x;
  }

  protected head(x: Var): Var {
    const final = this.module(GPT2.finalNorm, () => this.layerNorm(x));
    const unembedding = this.config.tieWordEmbeddings === false ? `${GPT2.untiedHead}.weight` : `${GPT2.tokenEmbeddings}.weight`;
    return tagged(Tags.logits, () => linear(final, this.param(unembedding))); // [B, P, V]
  }

  private layerNorm(x: Var): Var {
    return layerNormLayer(x, this.own("weight"), this.own("bias"), this.config.layerNormEpsilon);
  }

  /** A Conv1D module of the current one: x @ W + b with W stored [in, out]. */
  private conv1d(x: Var, name: string): Var {
    return this.module(name, () => add(linear(x, transpose(this.own("weight"))), this.own("bias")));
  }

  /** q, k, v [B, H, T, dh] of block input `resid`: ln_1 then c_attn, or in a split q/k/v forward head by head from each head's own copies. */
  private queriesKeysValues(resid: Var, splitQkv: boolean): Var[] {
    const c = this.config;
    if (!splitQkv) {
      const attnIn = this.module(GPT2.attnNorm, () => this.layerNorm(resid));
      return this.module(GPT2.attention, () => split(this.conv1d(attnIn, GPT2.qkv), 3, -1).map((part) => splitHeads(part, c.nHead))); // [B, T, 3d] -> 3 x [B, H, T, dh]
    }
    const copies = this.module(GPT2.attention, () => splitQkvInputs(resid, c.nHead)); // [B, 3H, T, d]
    const normed = split(this.module(GPT2.attnNorm, () => this.layerNorm(copies)), 3, 1); // 3 x [B, H, T, d]
    return this.module(GPT2.attention, () =>
      this.module(GPT2.qkv, () => {
        const [d, heads] = [c.nEmbd, c.nHead];
        // c_attn's W [d, 3d]: columns part*d + h*dh .. + dh are head h's q (part 0), k (1) or v (2).
        const weights = split(permute(reshape(this.own("weight"), { shape: [d, 3, heads, d / heads] }), { axes: [1, 2, 0, 3] }), 3, 0); // 3 x [1, H, d, dh]
        const biases = split(reshape(this.own("bias"), { shape: [3, heads, d / heads] }), 3, 0); // 3 x [1, H, dh]
        return normed.map((x, part) => headProjection(x, reshape(weights[part]!, { shape: weights[part]!.shape.slice(1) }), reshape(biases[part]!, { shape: biases[part]!.shape.slice(1) }))); // [B, H, T, dh]
      }),
    );
  }

  private block(x: Var, layer: number, options: BlockOptions): Var {
    const c = this.config;
    const resid = tag(x, Tags.residPre);
    const [q, k, v] = this.queriesKeysValues(resid, options.splitQkv) as [Var, Var, Var];
    const attnOut = this.module(GPT2.attention, () => {
      const z = causalAttention(q, k, v); // [B, H, T, dh]
      return tag(this.conv1d(mergeHeads(scaleHeads(z, options.headScales?.[layer])), GPT2.attnOut), Tags.attnOutput); // [B, T, d]
    });
    const mid = tag(add(resid, attnOut), Tags.residMid);
    const mlpIn = this.module(GPT2.mlpNorm, () => this.layerNorm(mid));
    const mlpOut = this.module(GPT2.mlp, () => {
      const input = tag(mlpIn, Tags.mlpInput);
      const hidden = tag(activation(this.conv1d(input, GPT2.mlpIn), c.activation), Tags.mlpHidden); // [B, T, I]
      return tag(this.conv1d(hidden, GPT2.mlpOut), Tags.mlpOutput); // [B, T, d]
    });
    return tag(add(mid, mlpOut), Tags.residPost);
  }
}
