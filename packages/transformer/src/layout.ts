/**
 * A model's declared structure: its blocks, and in each the norms, the attention (heads, head
 * size, the place keys of q, k, v, pattern and z, the output projection split by head) and the
 * MLP, with the module paths and place keys where each lives. Each model family declares its
 * own (`Gpt2Model.layout`, `LlamaModel.layout`); code that works on components (attribution
 * patching, circuits, self-repair, the web page's diagram) reads this instead of parameter
 * names or the order of tags, so a new family touches only this package.
 *
 *   embed -> [block: attnNorm -> attention -> (+) -> mlpNorm -> mlp -> (+)] x L -> finalNorm -> logits
 */
import type { Tensor } from "@gim/tensor";
import { placeKey, Tags } from "./places.js";

/** A norm (LayerNorm or RMSNorm) and the keys of its places. */
export interface NormLayout {
  /** Module path: `h.3.ln_1`, `model.layers.3.input_layernorm`, `ln_f`, `model.norm`. */
  readonly path: string;
  readonly kind: "layernorm" | "rmsnorm";
  /** `norm.input`: the residual stream as the norm reads it (an identity node only the norm uses), [B, T, d]. */
  readonly input: string;
  /** `norm.scale`: the std or rms, [B, T, 1]. */
  readonly scale: string;
  /** `norm.output`, [B, T, d]. */
  readonly output: string;
}

/** One head-split output projection: attn.output[b, t] = sum_h z[b, h, t] @ perHead[h] + bias. */
export interface HeadProjection {
  /** W_h for every head, stacked: [H, dh, d]. A copy: it does not follow later weight updates. */
  readonly perHead: Tensor;
  /** The projection's bias [d], or undefined when it has none. */
  readonly bias: Tensor | undefined;
}

/** An attention sublayer: its heads and the keys of its places. */
export interface AttentionLayout {
  /** Module path: `h.3.attn`, `model.layers.3.self_attn`. */
  readonly path: string;
  /** Query heads. */
  readonly heads: number;
  /** Key/value heads (fewer than `heads` under grouped-query attention; query head h reads kv head floor(h / (heads / kvHeads))). */
  readonly kvHeads: number;
  readonly headDim: number;
  /** Sliding window (a query sees itself and the `window - 1` keys before it), or undefined for full causal attention. */
  readonly window: number | undefined;
  /**
   * `attn.q_input`, `attn.k_input`, `attn.v_input`: in a split q/k/v forward only
   * (`ForwardOptions.splitQkv`), the residual stream as each head's queries, keys and values
   * read it, one copy per head, before the attention's norm; [B, H, T, d]. Under grouped-query
   * attention the k and v inputs are per query head too (the kv projections are repeated per
   * query head, as TransformerLens ungroups them).
   */
  readonly qInput: string;
  readonly kInput: string;
  readonly vInput: string;
  /** `attn.q`, `attn.k`, `attn.v`: after projection (+ bias) and RoPE, before GQA repetition; [B, H or Hkv, T, dh] (k and v [B, H, T, dh] in a split q/k/v forward). */
  readonly q: string;
  readonly k: string;
  readonly v: string;
  /** `attn.scores`, [B, H, T, T]. */
  readonly scores: string;
  /** `attn.pattern` (the softmax), [B, H, T, T]. */
  readonly pattern: string;
  /** `attn.z`: each head's output before the heads are merged, [B, H, T, dh]. */
  readonly z: string;
  /** `attn.output`: after the output projection, [B, T, d]. */
  readonly output: string;
  /** Module path of the output projection (`h.3.attn.c_proj`, `model.layers.3.self_attn.o_proj`). */
  readonly outputProjectionPath: string;
  /** The output projection split by head, from the current weights. */
  outputProjection(): HeadProjection;
}

/** An MLP sublayer: plain (GPT-2: act(c_fc x) -> c_proj) or gated (Llama: down(act(gate x) * up x)). */
export interface MlpLayout {
  /** Module path: `h.3.mlp`, `model.layers.3.mlp`. */
  readonly path: string;
  readonly gated: boolean;
  /** `mlp.input`, [B, T, d]. */
  readonly input: string;
  /** `mlp.gate` and `mlp.up` (gated MLPs only), [B, T, I]. */
  readonly gate: string | undefined;
  readonly up: string | undefined;
  /** `mlp.hidden`: what the down/output projection reads, [B, T, I]. */
  readonly hidden: string;
  /** `mlp.output`, [B, T, d]. */
  readonly output: string;
}

/** One transformer block: x = x + attention(attnNorm(x)); x = x + mlp(mlpNorm(x)). */
export interface BlockLayout {
  readonly index: number;
  /** Module path: `h.3`, `model.layers.3`. */
  readonly path: string;
  /** `resid.pre`, `resid.mid`, `resid.post`: the residual stream entering, between the sublayers, leaving; [B, T, d]. */
  readonly residPre: string;
  readonly residMid: string;
  readonly residPost: string;
  readonly attnNorm: NormLayout;
  readonly attention: AttentionLayout;
  readonly mlpNorm: NormLayout;
  readonly mlp: MlpLayout;
}

/** A causal language model's structure, in forward order. */
export interface ModelLayout {
  /** `embed.tokens`: the token embedding lookup, [B, T, d]. */
  readonly tokenEmbeddings: string;
  /** `embed.positions` (learned position embeddings, GPT-2), or undefined (RoPE models). */
  readonly positionEmbeddings: string | undefined;
  readonly blocks: readonly BlockLayout[];
  readonly finalNorm: NormLayout;
  /** `logits`, [B, T, V]. */
  readonly logits: string;
  /** Model width. */
  readonly hiddenSize: number;
}

/** The keys of a norm's places at module path `path`. */
export function normLayout(path: string, kind: NormLayout["kind"]): NormLayout {
  return { path, kind, input: placeKey(path, Tags.normInput), scale: placeKey(path, Tags.normScale), output: placeKey(path, Tags.normOutput) };
}

/** The keys of an attention's places at module path `path` (the rest of its description from the family). */
export function attentionPlaces(path: string): Pick<AttentionLayout, "qInput" | "kInput" | "vInput" | "q" | "k" | "v" | "scores" | "pattern" | "z" | "output"> {
  const at = (tag: string) => placeKey(path, tag);
  return { qInput: at(Tags.qInput), kInput: at(Tags.kInput), vInput: at(Tags.vInput), q: at(Tags.q), k: at(Tags.k), v: at(Tags.v), scores: at(Tags.scores), pattern: at(Tags.pattern), z: at(Tags.z), output: at(Tags.attnOutput) };
}

/** The keys of an MLP's places at module path `path`. */
export function mlpLayout(path: string, gated: boolean): MlpLayout {
  const at = (tag: string) => placeKey(path, tag);
  return {
    path,
    gated,
    input: at(Tags.mlpInput),
    gate: gated ? at(Tags.gate) : undefined,
    up: gated ? at(Tags.up) : undefined,
    hidden: at(Tags.mlpHidden),
    output: at(Tags.mlpOutput),
  };
}

/** The keys of a block's residual-stream places at module path `path`. */
export function residualPlaces(path: string): Pick<BlockLayout, "residPre" | "residMid" | "residPost"> {
  return { residPre: placeKey(path, Tags.residPre), residMid: placeKey(path, Tags.residMid), residPost: placeKey(path, Tags.residPost) };
}

/**
 * The block a module path belongs to (`h.3.attn.c_proj` -> block 3), or undefined for paths
 * outside every block (`wte`, `ln_f`, `model.norm`).
 */
export function blockOf(layout: ModelLayout, path: string): BlockLayout | undefined {
  return layout.blocks.find((b) => path === b.path || path.startsWith(`${b.path}.`));
}

/** `gpt2, 2 layers, 4 heads, width 64`, or `llama, 3 layers, 4 heads (2 kv), width 64`: a model's shape in one line. */
export function describeLayout(layout: ModelLayout): string {
  const { blocks } = layout;
  const a = blocks[0]?.attention;
  const heads = !a ? "no heads" : a.kvHeads === a.heads ? `${a.heads} heads` : `${a.heads} heads (${a.kvHeads} kv)`;
  return `${blocks.length} layer${blocks.length === 1 ? "" : "s"}, ${heads}, width ${layout.hiddenSize}`;
}
