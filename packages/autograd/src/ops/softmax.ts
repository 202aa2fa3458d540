// softmax over the last axis, optionally causal (query i sees keys j <= i + keys - queries)
// and, within that, limited to a sliding window of the last `window` keys it may see:
//   y = exp(x - max x) / sum exp(x - max x)     over the visible keys (masked entries: y = 0)
//   dx = y * (dy - sum(dy * y))                 (masked entries: dx = 0, since y = 0 there)
import * as T from "@gim/tensor";
import { formatShape, type Tensor, InputError } from "@gim/tensor";
import { defineOp } from "../op.js";

export interface SoftmaxAttrs {
  /** Mask keys after the query over the last two dims: entry [i, j] is kept where j <= i + (cols - rows). */
  causal?: boolean;
  /**
   * With `causal`: each query also sees at most this many keys, the last ones it may see
   * (itself and the `window - 1` before it), as in sliding-window attention (Mistral).
   */
  window?: number;
}

/** Checks the attrs against x [..., queries, keys]; a causal softmax needs queries <= keys (else a query would see no key). */
function checkMask(x: Tensor, { causal = false, window }: SoftmaxAttrs): void {
  if (window !== undefined) {
    if (!causal) throw new InputError(`softmax: a sliding window needs causal: true`);
    if (!Number.isInteger(window) || window < 1) throw new InputError(`softmax: the sliding window must be an integer >= 1, got ${window}`);
  }
  const rows = x.shape[x.ndim - 2] ?? 1;
  if (causal && (x.ndim === 0 || rows > x.shape[x.ndim - 1]!)) {
    throw new InputError(`causal softmax over ${formatShape(x.shape)}: needs [..., queries, keys] with queries <= keys (a query before the first key would see nothing)`);
  }
}

/**
 * softmax(x) along the last axis, with masked entries exactly 0 (a tensor-level kernel shared
 * by rules, which must mask as the forward did: pass the op's attrs). One pass per row: max,
 * exp and sum over the keys the query may see.
 */
export function softmaxForward(x: Tensor, mask: SoftmaxAttrs = {}): Tensor {
  checkMask(x, mask);
  const cols = x.shape[x.ndim - 1] ?? 1;
  const rows = x.ndim >= 2 ? x.shape[x.ndim - 2]! : 1;
  const src = T.contiguousData(x);
  const out = T.allocate(x.dtype, src.length);
  for (let r = 0, base = 0; base < src.length; r++, base += cols) {
    const end = mask.causal ? (r % rows) + cols - rows + 1 : cols; // keys first..end-1 are visible
    const first = mask.window === undefined ? 0 : Math.max(0, end - mask.window);
    let max = -Infinity;
    for (let j = first; j < end; j++) max = Math.max(max, src[base + j]!);
    let total = 0;
    for (let j = first; j < end; j++) total += out[base + j] = Math.exp(src[base + j]! - max);
    for (let j = first; j < end; j++) out[base + j]! /= total;
  }
  return new T.Tensor(out, x.shape);
}

/** The softmax VJP at probabilities p: dx = p * (dy - sum(dy * p)), one pass per row. */
export function softmaxBackward(p: Tensor, dy: Tensor): Tensor {
  if (!T.sameShape(p.shape, dy.shape)) throw new InputError(`softmax backward: probabilities ${formatShape(p.shape)} and gradient ${formatShape(dy.shape)} differ in shape`);
  const cols = p.shape[p.ndim - 1] ?? 1;
  const pv = T.contiguousData(p);
  const g = T.contiguousData(dy);
  const out = T.allocate(T.promote(p.dtype, dy.dtype), pv.length);
  for (let base = 0; base < pv.length; base += cols) {
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += g[base + j]! * pv[base + j]!;
    for (let j = 0; j < cols; j++) out[base + j] = pv[base + j]! * (g[base + j]! - dot);
  }
  return new T.Tensor(out, p.shape);
}

export const softmax = defineOp({
  name: "softmax",
  inputs: ["x"],
  forward: ({ x }, attrs: SoftmaxAttrs) => softmaxForward(x, attrs),
  backward: ({ output, grad }) => ({ x: softmaxBackward(output, grad) }),
});
