/**
 * Reductions along axes, with `keepdims` as in NumPy. The reduced axes are moved last (and
 * copied into row-major order when that view is not already), so every reduction is a loop
 * over rows of one length.
 */
import { allocate, type Storage } from "./dtype.js";
import { formatShape, normalizeAxes, sizeOf } from "./shape.js";
import { contiguousData, Tensor } from "./tensor.js";
import { permute } from "./views.js";
import { InputError } from "./errors.js";

/** Options of a reduction. */
export interface ReduceOptions {
  /** Keep each reduced axis as a dim of size 1 (so the result broadcasts against the input). */
  keepdims?: boolean;
}

/** Which axes to reduce: one axis, a list (negative counts from the end), or undefined for all. */
export type Axes = number | readonly number[] | undefined;

/**
 * Rows of the reduced axes: row r is `rows[base + r * length + j]`, with the kept shape. The
 * input's own storage when the moved view is already row-major (a reduction over the last
 * axes of a contiguous tensor, the common case), else a contiguous copy.
 */
function rowsOf(x: Tensor, axes: Axes, keepdims: boolean): { rows: Storage; base: number; length: number; shape: number[] } {
  const reduced = normalizeAxes(axes, x.shape);
  const kept = x.shape.map((_, i) => i).filter((i) => !reduced.includes(i));
  const moved = permute(x, [...kept, ...reduced]);
  const length = reduced.reduce((n, a) => n * x.shape[a]!, 1);
  const shape = keepdims ? x.shape.map((d, i) => (reduced.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]!);
  if (moved.isContiguous()) return { rows: moved.data, base: moved.offset, length, shape };
  return { rows: contiguousData(moved), base: 0, length, shape };
}

function reduceRows(x: Tensor, axes: Axes, options: ReduceOptions, row: (data: Storage, start: number, length: number) => number, emptyValue?: number, name = "reduction"): Tensor {
  const { rows, base, length, shape } = rowsOf(x, axes, options.keepdims ?? false);
  const outSize = sizeOf(shape);
  const out = allocate(x.dtype, outSize);
  if (length === 0) {
    if (emptyValue === undefined && outSize > 0) throw new InputError(`${name} over an empty axis of a tensor of shape ${formatShape(x.shape)}`);
    out.fill(emptyValue ?? 0);
  } else {
    for (let r = 0; r < outSize; r++) out[r] = row(rows, base + r * length, length);
  }
  return new Tensor(out, shape);
}

/** Sum over `axes` (all by default), accumulated in float64 whatever the dtype; empty axes give 0. */
export function sum(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let acc = 0;
    for (let j = 0; j < n; j++) acc += d[s + j]!;
    return acc;
  }, 0);
}

/** Mean over `axes` (all by default), accumulated in float64; empty axes give NaN. */
export function mean(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let acc = 0;
    for (let j = 0; j < n; j++) acc += d[s + j]!;
    return acc / n;
  }, Number.NaN);
}

/** Maximum over `axes` (NaN if any element is NaN; an empty axis is an error, as max has no identity). */
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

/** Minimum over `axes` (NaN if any element is NaN; an empty axis is an error). */
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

/**
 * Index of the first maximum along one axis, as float values of `x`'s dtype (exact below 2^24).
 * A NaN counts as the maximum, so the index of the first NaN is returned (as in NumPy).
 */
export function argmax(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, checkOneAxis(axis, "argmax"), options, (d, s, n) => {
    let best = 0;
    if (Number.isNaN(d[s]!)) return 0;
    for (let j = 1; j < n; j++) {
      const v = d[s + j]!;
      if (Number.isNaN(v)) return j;
      if (v > d[s + best]!) best = j;
    }
    return best;
  }, undefined, "argmax");
}

/** Index of the first minimum along one axis; the mirror of {@link argmax} (the first NaN wins). */
export function argmin(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, checkOneAxis(axis, "argmin"), options, (d, s, n) => {
    let best = 0;
    if (Number.isNaN(d[s]!)) return 0;
    for (let j = 1; j < n; j++) {
      const v = d[s + j]!;
      if (Number.isNaN(v)) return j;
      if (v < d[s + best]!) best = j;
    }
    return best;
  }, undefined, "argmin");
}

// argmax over several axes would need a convention for flattening them; only one is allowed.
function checkOneAxis(axis: number, name: string): number {
  if (typeof axis !== "number") throw new InputError(`${name} takes a single axis, got ${String(axis)}`);
  return axis;
}

/**
 * log(sum(exp(x))) over `axes`, computed stably by subtracting the maximum first (no overflow
 * at large values). Empty axes give `-Infinity`; a NaN gives NaN; `+Infinity` gives `+Infinity`.
 */
export function logsumexp(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  return reduceRows(x, axes, options, (d, s, n) => {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, d[s + j]!);
    // All -Infinity (or +Infinity present): exp(x - m) would be NaN, but the answer is m.
    if (m === -Infinity || m === Infinity) return m;
    let acc = 0;
    for (let j = 0; j < n; j++) acc += Math.exp(d[s + j]! - m);
    return m + Math.log(acc);
  }, -Infinity);
}
