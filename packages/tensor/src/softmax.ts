/**
 * Softmax over the last axis, optionally causal and within a sliding window, and its
 * vector-Jacobian product: the kernels under the autograd op `softmax` (which holds the math),
 * of `crossEntropy`, and of rules that evaluate the softmax's Jacobian elsewhere (GIM's
 * temperature rule).
 */
import { allocate, promote } from "./dtype.js";
import { InputError } from "./errors.js";
import { formatShape, sameShape } from "./shape.js";
import { contiguousData, Tensor } from "./tensor.js";

/** Which keys a softmax row may see. */
export interface SoftmaxMask {
  /** Mask keys after the query over the last two dims: entry [i, j] is kept where j <= i + (cols - rows). */
  causal?: boolean;
  /**
   * With `causal`: each query also sees at most this many keys, the last ones it may see
   * (itself and the `window - 1` before it), as in sliding-window attention (Mistral).
   */
  window?: number;
}

/** Checks the attrs against x [..., queries, keys]; a causal softmax needs queries <= keys (else a query would see no key). */
function checkMask(x: Tensor, { causal = false, window }: SoftmaxMask): void {
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
 * softmax(x / temperature) along the last axis, with masked entries exactly 0: a new contiguous
 * tensor. One pass per row: max, exp and sum over the keys the query may see. The temperature
 * (default 1) divides inside the exponent, exp((x - max) / temperature), so a rule that needs the
 * flatter softmax (GIM's TSG) pays no extra tensor. Rules that recompute the attention softmax
 * must mask as the forward did: pass the op's attrs as `mask`.
 */
export function softmax(x: Tensor, mask: SoftmaxMask = {}, temperature = 1): Tensor {
  checkMask(x, mask);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new InputError(`softmax: the temperature must be a positive finite number, got ${temperature}`);
  const inverse = 1 / temperature;
  const cols = x.shape[x.ndim - 1] ?? 1;
  const rows = x.ndim >= 2 ? x.shape[x.ndim - 2]! : 1;
  const src = x.isContiguous() ? x.data.subarray(x.offset, x.offset + x.size) : contiguousData(x);
  const out = allocate(x.dtype, src.length);
  for (let r = 0, base = 0; base < src.length; r++, base += cols) {
    const end = mask.causal ? (r % rows) + cols - rows + 1 : cols; // keys first..end-1 are visible
    const first = mask.window === undefined ? 0 : Math.max(0, end - mask.window);
    let max = -Infinity;
    for (let j = first; j < end; j++) max = Math.max(max, src[base + j]!);
    let total = 0;
    for (let j = first; j < end; j++) total += out[base + j] = Math.exp((src[base + j]! - max) * inverse);
    for (let j = first; j < end; j++) out[base + j]! /= total;
  }
  return new Tensor(out, x.shape);
}

/** The softmax VJP at probabilities p: dx = p * (dy - sum(dy * p)), one pass per row. */
export function softmaxBackward(p: Tensor, dy: Tensor): Tensor {
  if (!sameShape(p.shape, dy.shape)) throw new InputError(`softmax backward: probabilities ${formatShape(p.shape)} and gradient ${formatShape(dy.shape)} differ in shape`);
  const cols = p.shape[p.ndim - 1] ?? 1;
  const pv = p.isContiguous() ? p.data.subarray(p.offset, p.offset + p.size) : contiguousData(p);
  const g = dy.isContiguous() ? dy.data.subarray(dy.offset, dy.offset + dy.size) : contiguousData(dy);
  const out = allocate(promote(p.dtype, dy.dtype), pv.length);
  for (let base = 0; base < pv.length; base += cols) {
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += g[base + j]! * pv[base + j]!;
    for (let j = 0; j < cols; j++) out[base + j] = pv[base + j]! * (g[base + j]! - dot);
  }
  return new Tensor(out, p.shape);
}
