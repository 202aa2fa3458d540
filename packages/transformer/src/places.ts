/**
 * Named places: the tags a model stamps on the nodes where rules bind and activations are
 * read or replaced. Tags are the same in every model family; module paths follow each
 * family's checkpoint names (`h.3.attn` in GPT-2, `model.layers.3.self_attn` in Llama).
 */
import type { NodeInfo, TagName } from "@gim/autograd";

/** Every tag a model in this package uses, with what it marks. */
export const Tags = {
  /** Token embeddings (the embedding lookup), [B, T, d]. */
  tokenEmbeddings: "embed.tokens",
  /** Position embeddings added to them (GPT-2), [B, T, d]. */
  positionEmbeddings: "embed.positions",
  /** The residual stream entering a block, [B, T, d]. */
  residPre: "resid.pre",
  /** The residual stream after the attention sublayer is added, [B, T, d]. */
  residMid: "resid.mid",
  /** The residual stream leaving a block, [B, T, d]. */
  residPost: "resid.post",
  /** A norm's input, [B, T, d]. */
  normInput: "norm.input",
  /** A norm's scale statistic (LayerNorm std or RMSNorm rms), [B, T, 1]: GIM freezes it. */
  normScale: "norm.scale",
  /** A norm's output, [B, T, d]. */
  normOutput: "norm.output",
  /**
   * Split q/k/v forward only (`ForwardOptions.splitQkv`): each head's own copy of the residual
   * stream for its queries, keys and values, before the attention's norm, [B, H, T, d].
   */
  qInput: "attn.q_input",
  kInput: "attn.k_input",
  vInput: "attn.v_input",
  /** Queries after projection (+ bias) and RoPE, [B, H, T, dh]. */
  q: "attn.q",
  /** Keys after projection (+ bias) and RoPE, before GQA repetition, [B, Hkv, T, dh] ([B, H, T, dh] in a split q/k/v forward, one per query head). */
  k: "attn.k",
  /** Values after projection (+ bias), before GQA repetition, [B, Hkv, T, dh] ([B, H, T, dh] in a split q/k/v forward). */
  v: "attn.v",
  /** Scaled attention scores before the causal mask, [B, H, T, T]. */
  scores: "attn.scores",
  /** The attention softmax (the op itself), [B, H, T, T]. */
  pattern: "attn.pattern",
  /** Each head's output (pattern @ v) before heads are merged, [B, H, T, dh]. */
  z: "attn.z",
  /** The attention sublayer's output after the output projection, [B, T, d]. */
  attnOutput: "attn.output",
  /** The MLP's input (the norm output it reads), [B, T, d]. */
  mlpInput: "mlp.input",
  /** Gate branch output gate_proj(x) before the activation (gated MLPs), [B, T, I]. */
  gate: "mlp.gate",
  /** Up branch output up_proj(x) (gated MLPs), [B, T, I]. */
  up: "mlp.up",
  /** The MLP's hidden activation fed to the down/output projection, [B, T, I]. */
  mlpHidden: "mlp.hidden",
  /** The MLP sublayer's output, [B, T, d]. */
  mlpOutput: "mlp.output",
  /** The logits, [B, T, V]. */
  logits: "logits",
} as const;

/** `{ "attn.pattern": true, ... }`: every model place as a known tag. */
type PlaceTags = { [K in keyof typeof Tags as (typeof Tags)[K]]: true };

declare module "@gim/autograd" {
  /** The model places of {@link Tags}: rules and hooks complete them in editors. */
  interface KnownTags extends PlaceTags {}
}

/** One of the tags in {@link Tags}. */
export type Tag = (typeof Tags)[keyof typeof Tags];

/** A place of a model: one recorded op with its module path and tags. */
export interface Place extends NodeInfo {
  /** `path:tag` for each tag, e.g. `h.3.attn:attn.z`: the key caches and patches use. */
  readonly keys: readonly string[];
  /** Output shape for a one-sequence input of length 1 (the time dims vary with the input). */
  readonly shape: readonly number[];
}

/** The key of a tagged place: `h.3.attn:attn.z`. */
export function placeKey(path: string, tag: TagName): string {
  return `${path}:${tag}`;
}
