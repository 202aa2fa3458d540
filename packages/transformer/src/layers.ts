/**
 * Layers shared by the model families, built from autograd ops and tagged at every place
 * a rule or hook may bind to (see `places.ts`). The caller's `scope` supplies the path.
 */
import {
  add, concat, expand, gelu, layerNorm, matmul, mul, narrow, neg, permute, relu, reshape, rms, rmsNorm, silu, softmax, std, tag, tagged, transpose,
  type Var,
} from "@gim/autograd";
import * as T from "@gim/tensor";
import type { DType, Tensor } from "@gim/tensor";
import { Tags } from "./places.js";

/** LayerNorm with its std as a separate op tagged `norm.scale`: (x - mean x) / std(x) * w + b. */
export function layerNormLayer(x: Var, weight: Var, bias: Var, eps: number): Var {
  const input = tag(x, Tags.normInput);
  const scale = tagged(Tags.normScale, () => std(input, { eps })); // [B, T, 1]
  return tagged(Tags.normOutput, () => layerNorm(input, scale, weight, bias));
}

/** RMSNorm with its rms as a separate op tagged `norm.scale`: x / rms(x) * w. */
export function rmsNormLayer(x: Var, weight: Var, eps: number): Var {
  const input = tag(x, Tags.normInput);
  const scale = tagged(Tags.normScale, () => rms(input, { eps })); // [B, T, 1]
  return tagged(Tags.normOutput, () => rmsNorm(input, scale, weight));
}

/** An MLP activation by its Hugging Face name (`hidden_act` / `activation_function`). */
export type ActivationName = "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu" | "relu" | "silu";

/**
 * The activation Hugging Face names `name`: "gelu" is the exact GELU; "gelu_new",
 * "gelu_pytorch_tanh" and "gelu_fast" are its tanh approximation; "relu"; "silu" (SwiGLU's gate).
 */
export function activation(x: Var, name: ActivationName): Var {
  switch (name) {
    case "relu":
      return relu(x);
    case "silu":
      return silu(x);
    case "gelu":
      return gelu(x, { approximate: "none" });
    default:
      return gelu(x, { approximate: "tanh" });
  }
}

/** [B, T, H * dh] -> [B, H, T, dh] */
export function splitHeads(x: Var, heads: number): Var {
  const [b, t, width] = x.shape as [number, number, number];
  return permute(reshape(x, { shape: [b, t, heads, width / heads] }), { axes: [0, 2, 1, 3] });
}

/** [B, H, T, dh] -> [B, T, H * dh] */
export function mergeHeads(x: Var): Var {
  const [b, h, t, dh] = x.shape as [number, number, number, number];
  return reshape(permute(x, { axes: [0, 2, 1, 3] }), { shape: [b, t, h * dh] });
}

/** z [B, H, T, dh] with each sequence's heads multiplied by `scales` [B, H] (head dropout in training); z itself without scales. */
export function scaleHeads(z: Var, scales: Tensor | undefined): Var {
  if (!scales) return z;
  const [b, h] = scales.shape as [number, number];
  return mul(z, T.reshape(T.astype(scales, z.dtype), [b, h, 1, 1]));
}

/**
 * The split q/k/v input (TransformerLens' `use_split_qkv_input`): every head reads its own copy
 * of the residual stream for its queries, for its keys and for its values, each a place
 * (`attn.q_input`, `attn.k_input`, `attn.v_input`, [B, H, T, d]), so that what reaches one
 * head's q, k or v can be read, differentiated or replaced alone. The copies are stacked for
 * one pass through the norm: x [B, T, d] -> [B, 3H, T, d] (q copies of heads 0..H-1, then k, then v).
 */
export function splitQkvInputs(x: Var, heads: number): Var {
  const [b, t, d] = x.shape as [number, number, number];
  const copies = (name: string) => tag(expand(reshape(x, { shape: [b, 1, t, d] }), { shape: [b, heads, t, d] }), name); // [B, H, T, d]
  return concat([copies(Tags.qInput), copies(Tags.kInput), copies(Tags.vInput)], { axis: 1 }); // [B, 3H, T, d]
}

/** One projection per head: x [B, H, T, d] @ weight [H, d, dh] (+ bias [H, dh]) -> [B, H, T, dh]. */
export function headProjection(x: Var, weight: Var, bias?: Var): Var {
  const y = matmul(x, weight); // [B, H, T, dh]
  if (!bias) return y;
  const [heads, dh] = bias.shape as [number, number];
  return add(y, reshape(bias, { shape: [heads, 1, dh] }));
}

/** Repeats each kv head `times` times for grouped-query attention: [B, Hkv, T, dh] -> [B, Hkv * times, T, dh]. */
export function repeatKv(x: Var, times: number): Var {
  if (times === 1) return x;
  const [b, h, t, dh] = x.shape as [number, number, number, number];
  const spread = expand(reshape(x, { shape: [b, h, 1, t, dh] }), { shape: [b, h, times, t, dh] });
  return reshape(spread, { shape: [b, h * times, t, dh] });
}

/**
 * Causal scaled dot-product attention over heads, with every place tagged:
 * q [B, H, T, dh], k and v [B, Hkv, T, dh] -> z [B, H, T, dh].
 * q, k and v are tagged here, after projection and RoPE and before GQA repetition.
 * With a sliding `window`, each query sees itself and the `window - 1` keys before it.
 */
export function causalAttention(q: Var, k: Var, v: Var, window?: number): Var {
  const [, heads, , dh] = q.shape as [number, number, number, number];
  const kvHeads = k.shape[1]!;
  const qt = tag(q, Tags.q);
  const kt = repeatKv(tag(k, Tags.k), heads / kvHeads);
  const vt = repeatKv(tag(v, Tags.v), heads / kvHeads);
  const scores = tag(mul(matmul(qt, transpose(kt)), 1 / Math.sqrt(dh)), Tags.scores); // [B, H, T, T]
  const pattern = tagged(Tags.pattern, () => softmax(scores, window === undefined ? { causal: true } : { causal: true, window }));
  return tag(matmul(pattern, vt), Tags.z); // [B, H, T, dh]
}

/**
 * Rotary embedding tables for positions 0..length-1: cos and sin, each [T, dh], as HF builds
 * them from the inverse frequencies (one per pair of dims, see `ropeInverseFrequencies`).
 */
export function ropeTables(length: number, inverseFrequencies: ArrayLike<number>, dtype: DType): { cos: Tensor; sin: Tensor } {
  const half = inverseFrequencies.length;
  const headDim = 2 * half;
  const cos = T.zeros([length, headDim], { dtype });
  const sin = T.zeros([length, headDim], { dtype });
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      // The table repeats each frequency for both halves (HF's cat(freqs, freqs)).
      const angle = p * inverseFrequencies[i]!;
      for (const j of [i, i + half]) {
        cos.data[p * headDim + j] = Math.cos(angle);
        sin.data[p * headDim + j] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

/** RoPE in the HF rotate_half convention: x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1]. x [B, H, T, dh]. */
export function applyRope(x: Var, cos: Tensor, sin: Tensor): Var {
  const half = x.shape[3]! / 2;
  const x1 = narrow(x, { axis: -1, start: 0, length: half });
  const x2 = narrow(x, { axis: -1, start: half, length: half });
  const rotated = concat([neg(x2), x1], { axis: -1 });
  return add(mul(x, cos), mul(rotated, sin));
}
