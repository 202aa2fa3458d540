/**
 * Views: new shapes, strides and offsets over the same storage, without copying.
 * Only `contiguous` (and `reshape` of a view whose strides cannot express the new shape,
 * when asked to with `{ copy: true }`) copies.
 */
import { broadcastStrides, checkShape, contiguousStrides, formatShape, normalizeAxis, sizeOf, type Shape } from "./shape.js";
import { contiguousData, Tensor } from "./tensor.js";
import { InputError } from "./errors.js";

/** `t` itself if its elements are already row-major without gaps (at any offset), else a contiguous copy. */
export function contiguous(t: Tensor): Tensor {
  return t.isContiguous() ? t : new Tensor(contiguousData(t), t.shape);
}

/** Resolves one `-1` in a target shape from the element count. */
function resolveShape(size: number, target: Shape, from: Shape): number[] {
  const out = [...target];
  const unknown = out.indexOf(-1);
  if (unknown !== out.lastIndexOf(-1)) throw new InputError(`reshape to ${formatShape(target)}: only one dimension may be -1`);
  if (unknown >= 0) {
    const known = sizeOf(out.filter((_, i) => i !== unknown));
    if (known === 0 || size % known !== 0) {
      throw new InputError(`cannot reshape a tensor of shape ${formatShape(from)} to ${formatShape(target)}`);
    }
    out[unknown] = size / known;
  }
  checkShape(out, "reshape target");
  if (sizeOf(out) !== size) throw new InputError(`cannot reshape a tensor of shape ${formatShape(from)} (${size} elements) to ${formatShape(target)}`);
  return out;
}

/**
 * Strides for viewing `t` with `shape`, or null when the existing strides cannot express it.
 * Groups of old dims that merge or split must be contiguous among themselves (as in NumPy).
 */
function viewStrides(t: Tensor, shape: number[]): number[] | null {
  // Drop size-1 dims: their strides are free.
  const oldDims: number[] = [];
  const oldStrides: number[] = [];
  t.shape.forEach((d, i) => {
    if (d !== 1) {
      oldDims.push(d);
      oldStrides.push(t.strides[i]!);
    }
  });
  const strides = new Array<number>(shape.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < shape.length) {
    if (shape[ni] === 1) {
      strides[ni] = 1;
      ni++;
      continue;
    }
    if (oi >= oldDims.length) return null;
    // Take the smallest run of old dims [oi, oj) and new dims [ni, nj) with equal products.
    let oj = oi + 1;
    let nj = ni + 1;
    let po = oldDims[oi]!;
    let pn = shape[ni]!;
    while (po !== pn) {
      if (po < pn) po *= oldDims[oj++]!;
      else pn *= shape[nj++]!;
    }
    // The old run must be contiguous within itself.
    for (let k = oi; k < oj - 1; k++) {
      if (oldStrides[k] !== oldStrides[k + 1]! * oldDims[k + 1]!) return null;
    }
    let s = oldStrides[oj - 1]!;
    for (let k = nj - 1; k >= ni; k--) {
      strides[k] = s;
      s *= shape[k]!;
    }
    oi = oj;
    ni = nj;
  }
  return oi === oldDims.length ? strides : null;
}

/**
 * The same elements with a new shape (one dim may be -1). A view when the strides allow it;
 * otherwise an error, unless `{ copy: true }` asks for a contiguous copy.
 */
export function reshape(t: Tensor, shape: Shape, options: { copy?: boolean } = {}): Tensor {
  const target = resolveShape(t.size, shape, t.shape);
  if (t.size === 0) return new Tensor(t.data, target, contiguousStrides(target), 0);
  const strides = viewStrides(t, target);
  if (strides) return new Tensor(t.data, target, strides, t.offset);
  if (options.copy) return new Tensor(contiguousData(t), target);
  throw new InputError(
    `cannot view a tensor of shape ${formatShape(t.shape)} with strides [${t.strides.join(", ")}] as ${formatShape(target)} without a copy; call contiguous() first or pass { copy: true }`,
  );
}

/** Reorders the axes: `out.shape[i] = t.shape[axes[i]]`. */
export function permute(t: Tensor, axes: readonly number[]): Tensor {
  const n = t.ndim;
  const norm = axes.map((a) => normalizeAxis(a, n, t.shape));
  if (norm.length !== n || new Set(norm).size !== n) {
    throw new InputError(`permute: [${axes.join(", ")}] is not a permutation of the ${n} axes of a tensor of shape ${formatShape(t.shape)}`);
  }
  return new Tensor(t.data, norm.map((a) => t.shape[a]!), norm.map((a) => t.strides[a]!), t.offset);
}

/** Swaps two axes (by default the last two, as for a matrix transpose; with the defaults a 0-d or 1-d tensor is returned as is). */
export function transpose(t: Tensor, a = -2, b = -1): Tensor {
  const n = t.ndim;
  if (n < 2 && a === -2 && b === -1) return t;
  const axes = Array.from({ length: n }, (_, i) => i);
  const i = normalizeAxis(a, n, t.shape);
  const j = normalizeAxis(b, n, t.shape);
  [axes[i], axes[j]] = [axes[j]!, axes[i]!];
  return permute(t, axes);
}

/** `length` entries of `axis` from `start` on (negative start counts from the end). */
export function narrow(t: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = normalizeAxis(axis, t.ndim, t.shape);
  const d = t.shape[ax]!;
  const s = start < 0 ? start + d : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > d) {
    throw new InputError(`narrow(axis ${axis}, start ${start}, length ${length}) is out of range for a tensor of shape ${formatShape(t.shape)}`);
  }
  const shape = [...t.shape];
  shape[ax] = length;
  return new Tensor(t.data, shape, t.strides, t.offset + s * t.strides[ax]!);
}

/**
 * Python-style slice `start:stop:step` along one axis (negative bounds count from the end;
 * bounds are clamped as in Python; a negative step walks backwards).
 */
export function slice(t: Tensor, axis: number, start?: number, stop?: number, step = 1): Tensor {
  const ax = normalizeAxis(axis, t.ndim, t.shape);
  if (!Number.isInteger(step) || step === 0) throw new InputError(`slice: step must be a non-zero integer, got ${step}`);
  if ((start !== undefined && !Number.isInteger(start)) || (stop !== undefined && !Number.isInteger(stop))) {
    throw new InputError(`slice: bounds must be integers, got start ${start}, stop ${stop}`);
  }
  const d = t.shape[ax]!;
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const norm = (v: number) => (v < 0 ? v + d : v);
  let first: number;
  let count: number;
  if (step > 0) {
    const b = clamp(norm(start ?? 0), 0, d);
    const e = clamp(norm(stop ?? d), 0, d);
    first = b;
    count = Math.max(0, Math.ceil((e - b) / step));
  } else {
    const b = clamp(norm(start ?? d - 1), -1, d - 1);
    const e = stop === undefined ? -1 : clamp(norm(stop), -1, d - 1);
    first = b;
    count = Math.max(0, Math.ceil((e - b) / step));
  }
  const shape = [...t.shape];
  shape[ax] = count;
  const strides = [...t.strides];
  strides[ax] = t.strides[ax]! * step;
  return new Tensor(t.data, shape, strides, count > 0 ? t.offset + first * t.strides[ax]! : t.offset);
}

/** The sub-tensor at `index` along `axis` (the axis is dropped). */
export function select(t: Tensor, axis: number, index: number): Tensor {
  const ax = normalizeAxis(axis, t.ndim, t.shape);
  const d = t.shape[ax]!;
  const i = index < 0 ? index + d : index;
  if (!Number.isInteger(i) || i < 0 || i >= d) {
    throw new InputError(`select: index ${index} is out of range for axis ${axis} of a tensor of shape ${formatShape(t.shape)}`);
  }
  return new Tensor(
    t.data,
    t.shape.filter((_, k) => k !== ax),
    t.strides.filter((_, k) => k !== ax),
    t.offset + i * t.strides[ax]!,
  );
}

/** Broadcasts `t` to `shape` by repeating size-1 dims with stride 0 (no copy). */
export function expand(t: Tensor, shape: Shape): Tensor {
  if (shape.length < t.ndim) {
    throw new InputError(`cannot expand a tensor of shape ${formatShape(t.shape)} to fewer dims ${formatShape(shape)}`);
  }
  checkShape(shape, "expand target");
  return new Tensor(t.data, shape, broadcastStrides(t.shape, t.strides, shape), t.offset);
}

/** Inserts a size-1 axis at `axis` (which may be `ndim`, or negative counting from `ndim + 1`). */
export function unsqueeze(t: Tensor, axis: number): Tensor {
  const ax = normalizeAxis(axis, t.ndim + 1, t.shape);
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape.splice(ax, 0, 1);
  strides.splice(ax, 0, ax < t.ndim ? t.strides[ax]! * t.shape[ax]! : 1);
  return new Tensor(t.data, shape, strides, t.offset);
}

/** Removes size-1 axes: the given one (which must have size 1) or all of them. */
export function squeeze(t: Tensor, axis?: number): Tensor {
  if (axis === undefined) {
    const keep = t.shape.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
    return new Tensor(t.data, keep.map((i) => t.shape[i]!), keep.map((i) => t.strides[i]!), t.offset);
  }
  const ax = normalizeAxis(axis, t.ndim, t.shape);
  if (t.shape[ax] !== 1) throw new InputError(`squeeze: axis ${axis} of a tensor of shape ${formatShape(t.shape)} does not have size 1`);
  return select(t, ax, 0);
}
