/**
 * Elementwise kernels with NumPy broadcasting. One strided loop serves every op: the
 * outer dims advance like an odometer and the innermost dim is a tight loop, so transposed
 * and broadcast views are read in place, never copied first.
 */
import { allocate, promote, type DType, type Storage } from "./dtype.js";
import { broadcastShapes, broadcastStrides, formatShape, sizeOf } from "./shape.js";
import { contiguousData, scalar, Tensor } from "./tensor.js";
import { expand } from "./views.js";
import { InputError } from "./errors.js";

/** A tensor or a plain number (a 0-d tensor of the other operand's dtype). */
export type TensorLike = Tensor | number;

function asTensor(x: TensorLike, dtype: DType): Tensor {
  return typeof x === "number" ? scalar(x, { dtype }) : x;
}

/** Applies `f` to every element of `x`; the result is a new contiguous tensor of `dtype` (default `x.dtype`). */
export function map(x: Tensor, f: (v: number) => number, dtype: DType = x.dtype): Tensor {
  const size = x.size;
  const out = allocate(dtype, size);
  const src = x.data;
  if (x.isContiguous()) {
    const o = x.offset;
    for (let i = 0; i < size; i++) out[i] = f(src[o + i]!);
    return new Tensor(out, x.shape);
  }
  const n = x.ndim;
  const shape = x.shape;
  const strides = x.strides;
  const inner = shape[n - 1]!;
  const si = strides[n - 1]!;
  const counter = new Array<number>(n).fill(0);
  let base = x.offset;
  for (let o = 0; o < size; ) {
    for (let j = 0; j < inner; j++) out[o++] = f(src[base + j * si]!);
    for (let d = n - 2; d >= 0; d--) {
      base += strides[d]!;
      if (++counter[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
  return new Tensor(out, shape);
}

/**
 * Computes one row of a broadcast binary op: `out[o + j] = a[oa + j * ia] op b[ob + j * ib]`
 * for j < n. Each arithmetic op has its own row kernel with the op inline, so the hot loop
 * makes no call per element.
 */
type RowKernel = (out: Storage, o: number, a: Storage, oa: number, ia: number, b: Storage, ob: number, ib: number, n: number) => void;

/**
 * The broadcasting loop shared by every binary op: the outer dims advance like an odometer
 * and `row` computes the innermost dim. Same-shape contiguous operands (or a scalar with a
 * contiguous tensor) are one row.
 */
function broadcastLoop(a: TensorLike, b: TensorLike, row: RowKernel): Tensor {
  const dtype = promote(typeof a === "number" ? "float32" : a.dtype, typeof b === "number" ? "float32" : b.dtype);
  const ta = asTensor(a, dtype);
  const tb = asTensor(b, dtype);
  const shape = broadcastShapes(ta.shape, tb.shape);
  const size = sizeOf(shape);
  const out = allocate(dtype, size);
  if (size === 0) return new Tensor(out, shape);
  const flatA = ta.isContiguous() && (ta.size === size || ta.size === 1);
  const flatB = tb.isContiguous() && (tb.size === size || tb.size === 1);
  if (shape.length === 0 || (flatA && flatB)) {
    row(out, 0, ta.data, ta.offset, ta.size === 1 ? 0 : 1, tb.data, tb.offset, tb.size === 1 ? 0 : 1, size);
    return new Tensor(out, shape);
  }
  const n = shape.length;
  const sa = broadcastStrides(ta.shape, ta.strides, shape);
  const sb = broadcastStrides(tb.shape, tb.strides, shape);
  const inner = shape[n - 1]!;
  const ia = sa[n - 1]!;
  const ib = sb[n - 1]!;
  const counter = new Array<number>(n).fill(0);
  let oa = ta.offset;
  let ob = tb.offset;
  for (let o = 0; o < size; o += inner) {
    row(out, o, ta.data, oa, ia, tb.data, ob, ib, inner);
    for (let d = n - 2; d >= 0; d--) {
      oa += sa[d]!;
      ob += sb[d]!;
      if (++counter[d]! < shape[d]!) break;
      oa -= sa[d]! * shape[d]!;
      ob -= sb[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
  return new Tensor(out, shape);
}

/**
 * Applies `f` to broadcast pairs of elements of `a` and `b`; the result is a new contiguous
 * tensor of the promoted dtype (float64 if either tensor is float64; a number counts as float32).
 */
export function zipWith(a: TensorLike, b: TensorLike, f: (x: number, y: number) => number): Tensor {
  return broadcastLoop(a, b, (out, o, da, oa, ia, db, ob, ib, n) => {
    for (let j = 0; j < n; j++) out[o + j] = f(da[oa + j * ia]!, db[ob + j * ib]!);
  });
}

const addRow: RowKernel = (out, o, a, oa, ia, b, ob, ib, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[oa + j * ia]! + b[ob + j * ib]!;
};
const subRow: RowKernel = (out, o, a, oa, ia, b, ob, ib, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[oa + j * ia]! - b[ob + j * ib]!;
};
const mulRow: RowKernel = (out, o, a, oa, ia, b, ob, ib, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[oa + j * ia]! * b[ob + j * ib]!;
};
const divRow: RowKernel = (out, o, a, oa, ia, b, ob, ib, n) => {
  for (let j = 0; j < n; j++) out[o + j] = a[oa + j * ia]! / b[ob + j * ib]!;
};

/** `-x` elementwise. */
export const neg = (x: Tensor): Tensor => map(x, (v) => -v);
/** `e^x` elementwise. */
export const exp = (x: Tensor): Tensor => map(x, Math.exp);
/** Natural logarithm elementwise (`-Infinity` at 0, NaN below). */
export const log = (x: Tensor): Tensor => map(x, Math.log);
/** Square root elementwise (NaN below 0). */
export const sqrt = (x: Tensor): Tensor => map(x, Math.sqrt);
/** `1 / sqrt(x)` elementwise (as in RMSNorm). */
export const rsqrt = (x: Tensor): Tensor => map(x, (v) => 1 / Math.sqrt(v));
/** Hyperbolic tangent elementwise. */
export const tanh = (x: Tensor): Tensor => map(x, Math.tanh);
/** `1 / (1 + e^-x)` elementwise (saturates to exactly 0 or 1 without overflow errors). */
export const sigmoid = (x: Tensor): Tensor => map(x, (v) => 1 / (1 + Math.exp(-v)));
/** Absolute value elementwise. */
export const abs = (x: Tensor): Tensor => map(x, Math.abs);
/** -1, 0 or 1 by the sign of each element (NaN stays NaN). */
export const sign = (x: Tensor): Tensor => map(x, (v) => (v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : Number.NaN));
/** `x * x` elementwise. */
export const square = (x: Tensor): Tensor => map(x, (v) => v * v);
/** `1 / x` elementwise. */
export const reciprocal = (x: Tensor): Tensor => map(x, (v) => 1 / v);
/** Sine elementwise. */
export const sin = (x: Tensor): Tensor => map(x, Math.sin);
/** Cosine elementwise. */
export const cos = (x: Tensor): Tensor => map(x, Math.cos);
/** `max(x, 0)` elementwise (NaN stays NaN). */
export const relu = (x: Tensor): Tensor => map(x, (v) => (v > 0 || v !== v ? v : 0));
/** The error function elementwise (see {@link erfScalar}); exact GELU is `x/2 * (1 + erf(x/sqrt 2))`. */
export const erf = (x: Tensor): Tensor => map(x, erfScalar);

/** Limits every element to `[lo, hi]` (either bound may be omitted with `-Infinity`/`Infinity`; NaN stays NaN). */
export function clamp(x: Tensor, lo = -Infinity, hi = Infinity): Tensor {
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new InputError(`clamp: bounds [${lo}, ${hi}] are not an interval`);
  return map(x, (v) => (v < lo ? lo : v > hi ? hi : v));
}

/**
 * The error function to double precision.
 * |x| < 3: erf x = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)), a series of positive
 * terms (no cancellation). |x| >= 3: erfc x = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
 * a continued fraction evaluated from a fixed depth that has converged there.
 */
export function erfScalar(x: number): number {
  const z = Math.abs(x);
  if (Number.isNaN(x)) return Number.NaN;
  if (z === 0) return x; // keeps the sign of -0
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= (2 * z * z) / (2 * n + 1);
      sum += term;
    }
    const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
    return x < 0 ? -r : r;
  }
  if (z > 6) return x < 0 ? -1 : 1;
  let f = z;
  for (let k = 60; k >= 1; k--) f = z + k / 2 / f;
  const erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

// Binary ops: NumPy broadcasting; a plain number acts as a 0-d tensor; float64 wins over float32.

/** `a + b` elementwise, broadcasting. */
export const add = (a: TensorLike, b: TensorLike): Tensor => broadcastLoop(a, b, addRow);
/** `a - b` elementwise, broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => broadcastLoop(a, b, subRow);
/** `a * b` elementwise, broadcasting. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => broadcastLoop(a, b, mulRow);
/** `a / b` elementwise, broadcasting (IEEE: `1/0 = Infinity`, `0/0 = NaN`). */
export const div = (a: TensorLike, b: TensorLike): Tensor => broadcastLoop(a, b, divRow);
/** `a ** b` elementwise, broadcasting (as `Math.pow`: a negative base with a fractional exponent is NaN). */
export const pow = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, Math.pow);
/** The larger of `a` and `b` elementwise, broadcasting (NaN if either is NaN). */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, Math.max);
/** The smaller of `a` and `b` elementwise, broadcasting (NaN if either is NaN). */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, Math.min);

// Comparisons give 1 where true and 0 where false (any comparison with NaN is false, except `ne`).

/** 1 where `a == b`, else 0. */
export const eq = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, (x, y) => (x === y ? 1 : 0));
/** 1 where `a != b`, else 0. */
export const ne = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, (x, y) => (x !== y ? 1 : 0));
/** 1 where `a < b`, else 0. */
export const lt = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, (x, y) => (x < y ? 1 : 0));
/** 1 where `a <= b`, else 0. */
export const le = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, (x, y) => (x <= y ? 1 : 0));
/** 1 where `a > b`, else 0. */
export const gt = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, (x, y) => (x > y ? 1 : 0));
/** 1 where `a >= b`, else 0. */
export const ge = (a: TensorLike, b: TensorLike): Tensor => zipWith(a, b, (x, y) => (x >= y ? 1 : 0));

/**
 * `cond ? a : b` elementwise, broadcasting all three (cond is true where non-zero, NaN included).
 * The dtype comes from `a` and `b`; the condition's dtype does not matter.
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const dtype = promote(typeof a === "number" ? "float32" : a.dtype, typeof b === "number" ? "float32" : b.dtype);
  const [tc, ta, tb] = [asTensor(cond, dtype), asTensor(a, dtype), asTensor(b, dtype)];
  let shape: number[];
  try {
    shape = broadcastShapes(broadcastShapes(tc.shape, ta.shape), tb.shape);
  } catch {
    throw new InputError(
      `where: condition ${formatShape(tc.shape)}, values ${formatShape(ta.shape)} and ${formatShape(tb.shape)} cannot be broadcast together`,
    );
  }
  const [c, x, y] = [tc, ta, tb].map((t) => contiguousData(expand(t, shape)));
  const out = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = c![i] !== 0 ? x![i]! : y![i]!;
  return new Tensor(out, shape);
}

/** Multiplies by a scalar and adds a tensor: `alpha * x + y`, broadcasting. */
export function axpy(alpha: number, x: TensorLike, y: TensorLike): Tensor {
  return zipWith(x, y, (u, v) => alpha * u + v);
}
