/**
 * GPT-2, as the Hugging Face checkpoint lays it out (module paths without the
 * `transformer.` prefix, as in the official `gpt2` checkpoint):
 *
 *   x = wte[ids] + wpe[positions]
 *   for each block h.i:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
 *   logits = ln_f(x) @ wte^T            (tied to the token embedding; lm_head.weight if tie_word_embeddings is false)
 *
 * attn: c_attn projects to q, k, v at once; causal softmax attention; c_proj.
 * mlp: c_proj(gelu_new(c_fc(x))). c_attn, c_proj and c_fc are Conv1D layers: y = x @ W + b
 * with W stored [in, out].
 */
import { add, embedding, gelu, linear, relu, scope, split, tag, tagged, transpose, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { DType, Tensor } from "@gim/tensor";
import type { Gpt2Config } from "../config.js";
import { causalAttention, layerNormLayer, mergeHeads, splitHeads } from "../layers.js";
import { CausalLM, type ParamShapes } from "../model.js";
import { Tags } from "../places.js";

/** Parameter shapes of a GPT-2 config, by checkpoint name. */
export function gpt2ParamShapes(c: Gpt2Config): ParamShapes {
  const d = c.nEmbd;
  const shapes: ParamShapes = new Map([
    ["wte.weight", [c.vocabSize, d]],
    ["wpe.weight", [c.nPositions, d]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    const h = `h.${i}`;
    shapes.set(`${h}.ln_1.weight`, [d]).set(`${h}.ln_1.bias`, [d]);
    shapes.set(`${h}.attn.c_attn.weight`, [d, 3 * d]).set(`${h}.attn.c_attn.bias`, [3 * d]);
    shapes.set(`${h}.attn.c_proj.weight`, [d, d]).set(`${h}.attn.c_proj.bias`, [d]);
    shapes.set(`${h}.ln_2.weight`, [d]).set(`${h}.ln_2.bias`, [d]);
    shapes.set(`${h}.mlp.c_fc.weight`, [d, c.nInner]).set(`${h}.mlp.c_fc.bias`, [c.nInner]);
    shapes.set(`${h}.mlp.c_proj.weight`, [c.nInner, d]).set(`${h}.mlp.c_proj.bias`, [d]);
  }
  shapes.set("ln_f.weight", [d]).set("ln_f.bias", [d]);
  if (c.tieWordEmbeddings === false) shapes.set("lm_head.weight", [c.vocabSize, d]);
  return shapes;
}

/** GPT-2 (see the top of this file). */
export class Gpt2Model extends CausalLM {
  readonly config: Gpt2Config;

  /** Builds a model from tensors keyed by checkpoint name (checked against the config). */
  constructor(config: Gpt2Config, weights: Map<string, Tensor>, source = "weights") {
    super(weights, gpt2ParamShapes(config), source);
    this.config = config;
  }

  /** A model with random weights (normal, std 0.02 as GPT-2 initialises; norms at 1 and 0). */
  static random(config: Gpt2Config, options: { seed?: number; dtype?: DType; std?: number } = {}): Gpt2Model {
    const rng = new T.Rng(options.seed ?? 0);
    const dtype = options.dtype ?? "float32";
    const weights = new Map<string, Tensor>();
    for (const [name, shape] of gpt2ParamShapes(config)) {
      const isNorm = /ln_\d|ln_f/.test(name);
      weights.set(
        name,
        isNorm ? T.full(shape, name.endsWith("weight") ? 1 : 0, { dtype }) : name.endsWith("bias") ? T.zeros(shape, { dtype }) : T.randNormal(shape, { rng, std: options.std ?? 0.02, dtype }),
      );
    }
    return new Gpt2Model(config, weights, "random weights");
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

  protected get tokenEmbeddingWeight(): Var {
    return this.param("wte.weight");
  }

  protected embedIds(ids: readonly number[]): Var {
    return scope("wte", () => tagged(Tags.tokenEmbeddings, () => embedding(this.param("wte.weight"), { ids }))); // [N, d]
  }

  protected blocks(embeds: Var): Var {
    const seqLen = embeds.shape[1]!;
    const positions = Array.from({ length: seqLen }, (_, i) => i);
    const pos = scope("wpe", () => tagged(Tags.positionEmbeddings, () => embedding(this.param("wpe.weight"), { ids: positions }))); // [T, d]
    let x = add(embeds, pos); // [B, T, d]
    for (let i = 0; i < this.config.nLayer; i++) x = scope(`h.${i}`, () => this.block(x, `h.${i}`));
    return x;
  }

  protected head(x: Var): Var {
    const final = scope("ln_f", () => layerNormLayer(x, this.param("ln_f.weight"), this.param("ln_f.bias"), this.config.layerNormEpsilon));
    const unembedding = this.config.tieWordEmbeddings === false ? "lm_head.weight" : "wte.weight";
    return tagged(Tags.logits, () => linear(final, this.param(unembedding))); // [B, P, V]
  }

  /** Conv1D `prefix` (e.g. `h.3.attn.c_attn`), recorded under its own name: x @ W + b with W [in, out]. */
  private conv1d(x: Var, prefix: string): Var {
    const name = prefix.slice(prefix.lastIndexOf(".") + 1);
    return scope(name, () => add(linear(x, transpose(this.param(`${prefix}.weight`))), this.param(`${prefix}.bias`)));
  }

  private block(x: Var, h: string): Var {
    const c = this.config;
    const resid = tag(x, Tags.residPre);
    const attnIn = scope("ln_1", () => layerNormLayer(resid, this.param(`${h}.ln_1.weight`), this.param(`${h}.ln_1.bias`), c.layerNormEpsilon));
    const attnOut = scope("attn", () => {
      const qkv = this.conv1d(attnIn, `${h}.attn.c_attn`); // [B, T, 3d]
      const [q, k, v] = split(qkv, 3, -1).map((part) => splitHeads(part, c.nHead)) as [Var, Var, Var]; // [B, H, T, dh]
      const z = causalAttention(q, k, v); // [B, H, T, dh]
      return tag(this.conv1d(mergeHeads(z), `${h}.attn.c_proj`), Tags.attnOutput); // [B, T, d]
    });
    const mid = tag(add(resid, attnOut), Tags.residMid);
    const mlpIn = scope("ln_2", () => layerNormLayer(mid, this.param(`${h}.ln_2.weight`), this.param(`${h}.ln_2.bias`), c.layerNormEpsilon));
    const mlpOut = scope("mlp", () => {
      const input = tag(mlpIn, Tags.mlpInput);
      const pre = this.conv1d(input, `${h}.mlp.c_fc`); // [B, T, I]
      const act = c.activation === "relu" ? relu(pre) : gelu(pre, { approximate: c.activation === "gelu" ? "none" : "tanh" });
      const hidden = tag(act, Tags.mlpHidden);
      return tag(this.conv1d(hidden, `${h}.mlp.c_proj`), Tags.mlpOutput); // [B, T, d]
    });
    return tag(add(mid, mlpOut), Tags.residPost);
  }
}
