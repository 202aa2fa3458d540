/**
 * Reductions along axes, with `keepdims` as in NumPy. The reduced axes are moved last and
 * the rest made contiguous, so every reduction is a loop over rows of one length.
 */
import { allocate } from "./dtype.js";
import { formatShape, normalizeAxes } from "./shape.js";
import { contiguousData, Tensor } from "./tensor.js";
import { permute } from "./views.js";

/** Which axes to reduce (a number, a list, or undefined for all) and whether to keep them as size 1. */
export interface ReduceOptions {
  keepdims?: boolean;
}

type Axes = number | readonly number[] | undefined;

/** Rows of the reduced axes: `rows[r * length + j]`, with the kept shape. */
function rowsOf(x: Tensor, axes: Axes, keepdims: boolean): { rows: Float32Array | Float64Array; length: number; count: number; shape: number[] } {
  const reduced = normalizeAxes(axes, x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !reduced.includes(i));
  const moved = permute(x, [...kept, ...reduced]);
  const length = reduced.reduce((n, a) => n * x.shape[a]!, 1);
  const shape = keepdims ? x.shape.map((d, i) => (reduced.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]!);
  return { rows: contiguousData(moved), length, count: length === 0 ? 0 : x.size / length, shape };
}

function reduceRows(x: Tensor, axes: Axes, options: ReduceOptions, row: (data: Float32Array | Float64Array, start: number, length: number) => number, emptyValue?: number, name = "reduction"): Tensor {
  const { rows, length, shape } = rowsOf(x, axes, options.keepdims ?? false);
  const outSize = shape.reduce((n, d) => n * d, 1);
  const out = allocate(x.dtype, outSize);
  if (length === 0) {
    if (emptyValue === undefined && outSize > 0) throw new RangeError(`${name} over an empty axis of a tensor of shape ${formatShape(x.shape)}`);
    out.fill(emptyValue ?? 0);
  } else {
    for (let r = 0; r < outSize; r++) out[r] = row(rows, r * length, length);
  }
  return new Tensor(out, shape);
}

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let acc = 0;
    for (let j = 0; j < n; j++) acc += d[s + j]!;
    return acc;
  }, 0);
}

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let acc = 0;
    for (let j = 0; j < n; j++) acc += d[s + j]!;
    return acc / n;
  }, Number.NaN);
}

/** Maximum over `axes` (NaN if any element is NaN). */
export function max(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let m = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = d[s + j]!;
      if (v > m || Number.isNaN(v)) m = v;
      if (Number.isNaN(m)) break;
    }
    return m;
  }, undefined, "max");
}

/** Minimum over `axes` (NaN if any element is NaN). */
export function min(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let m = Infinity;
    for (let j = 0; j < n; j++) {
      const v = d[s + j]!;
      if (v < m || Number.isNaN(v)) m = v;
      if (Number.isNaN(m)) break;
    }
    return m;
  }, undefined, "min");
}

/** Index of the first maximum along one axis (as float values, exact below 2^24). */
export function argmax(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axis, options, (d, s, n) => {
    let best = 0;
    for (let j = 1; j < n; j++) if (d[s + j]! > d[s + best]!) best = j;
    return best;
  }, undefined, "argmax");
}

/** log(sum(exp(x))) over `axes`, computed stably by subtracting the maximum first. */
export function logsumexp(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, d[s + j]!);
    if (m === -Infinity) return -Infinity;
    let acc = 0;
    for (let j = 0; j < n; j++) acc += Math.exp(d[s + j]! - m);
    return m + Math.log(acc);
  }, -Infinity);
}
