// softmax over the last axis, optionally causal (query i sees keys j <= i + offset):
//   y = exp(x - max x) / sum exp(x - max x)     (masked entries: y = 0)
//   dx = y * (dy - sum(dy * y))                 (masked entries: dx = 0, since y = 0 there)
import * as T from "@gim/tensor";
import { formatShape, type Tensor } from "@gim/tensor";
import { defineOp } from "../op.js";

export interface SoftmaxAttrs {
  /** Mask keys after the query over the last two dims: entry [i, j] is kept where j <= i + (cols - rows). */
  causal?: boolean;
}

/**
 * The causal mask for the last two dims of `x` (1 = keep), aligned so the last query sees every
 * key; of shape [rows, cols] (just [cols] for a 1-d `x`, a single query that sees every key).
 * Needs at least as many keys as queries: otherwise the first queries would see no key at all.
 */
export function causalMask(x: Tensor): Tensor {
  const rows = x.shape[x.ndim - 2] ?? 1;
  const cols = x.shape[x.ndim - 1]!;
  if (x.ndim === 0 || rows > cols) {
    throw new RangeError(`causal softmax over ${formatShape(x.shape)}: needs [..., queries, keys] with queries <= keys (a query before the first key would see nothing)`);
  }
  const mask = T.tril(rows, cols, cols - rows, { dtype: x.dtype }); // [rows, cols]
  return x.ndim === 1 ? T.reshape(mask, [cols]) : mask;
}

/** softmax(x) along the last axis, with masked entries exactly 0 (a tensor-level kernel shared by rules). */
export function softmaxForward(x: Tensor, causal = false): Tensor {
  const masked = causal ? T.where(causalMask(x), x, -Infinity) : x;
  const e = T.exp(T.sub(masked, T.max(masked, -1, { keepdims: true })));
  return T.div(e, T.sum(e, -1, { keepdims: true }));
}

/** The softmax VJP at probabilities p: dx = p * (dy - sum(dy * p)). */
export function softmaxBackward(p: Tensor, dy: Tensor): Tensor {
  return T.mul(p, T.sub(dy, T.sum(T.mul(dy, p), -1, { keepdims: true })));
}

export const softmax = defineOp({
  name: "softmax",
  inputs: ["x"],
  forward: ({ x }, { causal = false }: SoftmaxAttrs) => softmaxForward(x, causal),
  backward: ({ output, grad }) => ({ x: softmaxBackward(output, grad) }),
});
