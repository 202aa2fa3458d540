/**
 * Row kernels of LayerNorm and RMSNorm over the last axis, for the autograd ops `std`, `rms`,
 * `layerNorm` and `rmsNorm` (which hold the math): each statistic, normalisation and
 * gradient is one pass per row in JavaScript numbers (float64), rounded once to the dtype,
 * instead of a chain of broadcast ops that each allocate a tensor.
 *
 * The scale statistic is an input of the normalisation (so a rule can freeze it), of shape
 * `[..., 1]`; a scale that broadcasts to x's rows (e.g. `[1]`) is read per row.
 */
import { allocate, promote, type Storage } from "./dtype.js";
import { InputError } from "./errors.js";
import { broadcastShapes, formatShape, sameShape, sizeOf } from "./shape.js";
import { contiguousData, Tensor } from "./tensor.js";
import { expand } from "./views.js";

/** Rows of `x` over its last axis: the values (a contiguous copy when needed), row length and count. */
function rowsOf(x: Tensor): { v: Storage; d: number; rows: number } {
  const d = x.shape[x.ndim - 1] ?? 1;
  const v = x.isContiguous() ? x.data.subarray(x.offset, x.offset + x.size) : contiguousData(x);
  return { v, d, rows: sizeOf(x.shape.slice(0, -1)) };
}

/** One value per row of `x` from a `[..., 1]` statistic that broadcasts to x's rows. */
function perRow(x: Tensor, stat: Tensor, what: string): Storage {
  const rowShape = [...x.shape.slice(0, -1), 1];
  let shape: number[];
  try {
    shape = broadcastShapes(rowShape, stat.shape);
  } catch {
    shape = [];
  }
  if (!sameShape(shape, rowShape)) throw new InputError(`${what}: a statistic of shape ${formatShape(stat.shape)} does not broadcast to the rows of x ${formatShape(x.shape)}`);
  return contiguousData(expand(stat, rowShape));
}

/** The mean of `d` values from `v[o]`. */
function meanOf(v: Storage, o: number, d: number): number {
  let total = 0;
  for (let j = 0; j < d; j++) total += v[o + j]!;
  return total / d;
}

function checkVector(t: Tensor, d: number, what: string, name: string): void {
  if (t.ndim !== 1 || t.shape[0] !== d) throw new InputError(`${what}: x has rows of ${d}, so ${name} must be [${d}], got ${formatShape(t.shape)}`);
}

/** `sqrt(mean((x - mean x)^2) + eps)` over the last axis, kept as size 1 (the LayerNorm scale). */
export function std(x: Tensor, eps = 0): Tensor {
  const { v, d, rows } = rowsOf(x);
  const out = allocate(x.dtype, rows);
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    const mean = meanOf(v, o, d);
    let sq = 0;
    for (let j = 0; j < d; j++) sq += (v[o + j]! - mean) ** 2;
    out[r] = Math.sqrt(sq / d + eps);
  }
  return new Tensor(out, [...x.shape.slice(0, -1), 1]);
}

/** The vector-Jacobian product of {@link std} at `x` with output `s`: `dx = dy (x - mean x) / (n s)`. */
export function stdBackward(x: Tensor, s: Tensor, dy: Tensor): Tensor {
  const { v, d, rows } = rowsOf(x);
  const sv = perRow(x, s, "stdBackward");
  const g = perRow(x, dy, "stdBackward");
  const out = allocate(promote(x.dtype, dy.dtype), v.length);
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    const mean = meanOf(v, o, d);
    const k = g[r]! / (d * sv[r]!);
    for (let j = 0; j < d; j++) out[o + j] = (v[o + j]! - mean) * k;
  }
  return new Tensor(out, x.shape);
}

/** `sqrt(mean(x^2) + eps)` over the last axis, kept as size 1 (the RMSNorm scale). */
export function rms(x: Tensor, eps = 0): Tensor {
  const { v, d, rows } = rowsOf(x);
  const out = allocate(x.dtype, rows);
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += v[o + j]! ** 2;
    out[r] = Math.sqrt(sq / d + eps);
  }
  return new Tensor(out, [...x.shape.slice(0, -1), 1]);
}

/** The vector-Jacobian product of {@link rms} at `x` with output `r`: `dx = dy x / (n r)`. */
export function rmsBackward(x: Tensor, r: Tensor, dy: Tensor): Tensor {
  const { v, d, rows } = rowsOf(x);
  const rv = perRow(x, r, "rmsBackward");
  const g = perRow(x, dy, "rmsBackward");
  const out = allocate(promote(x.dtype, dy.dtype), v.length);
  for (let row = 0, o = 0; row < rows; row++, o += d) {
    const k = g[row]! / (d * rv[row]!);
    for (let j = 0; j < d; j++) out[o + j] = v[o + j]! * k;
  }
  return new Tensor(out, x.shape);
}

/** `(x - mean x) / scale * weight + bias` over the last axis (`bias` omitted: RMSNorm's `x / scale * weight` when `center` is false). */
function normalize(x: Tensor, scale: Tensor, weight: Tensor, bias: Tensor | undefined, center: boolean, what: string): Tensor {
  const { v, d, rows } = rowsOf(x);
  checkVector(weight, d, what, "weight");
  if (bias) checkVector(bias, d, what, "bias");
  const s = perRow(x, scale, what);
  const w = contiguousData(weight);
  const b = bias ? contiguousData(bias) : undefined;
  const dtype = [scale, weight, ...(bias ? [bias] : [])].reduce((t, u) => promote(t, u.dtype), x.dtype);
  const out = allocate(dtype, v.length);
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    const mean = center ? meanOf(v, o, d) : 0;
    const inv = s[r]!;
    for (let j = 0; j < d; j++) out[o + j] = ((v[o + j]! - mean) / inv) * w[j]! + (b ? b[j]! : 0);
  }
  return new Tensor(out, x.shape);
}

/** LayerNorm with a given scale: `(x - mean x) / scale * weight + bias` over the last axis. */
export function layerNorm(x: Tensor, scale: Tensor, weight: Tensor, bias: Tensor): Tensor {
  return normalize(x, scale, weight, bias, true, "layerNorm");
}

/** RMSNorm with a given scale: `x / scale * weight` over the last axis. */
export function rmsNorm(x: Tensor, scale: Tensor, weight: Tensor): Tensor {
  return normalize(x, scale, weight, undefined, false, "rmsNorm");
}

/** Gradients of a normalisation; `scale` is per row (`[..., 1]` of x's leading shape: sum it to the scale's own shape). */
export interface NormGrads {
  x?: Tensor;
  scale?: Tensor;
  weight?: Tensor;
  bias?: Tensor;
}

/** Which gradients to compute. */
export interface NormNeeds {
  x: boolean;
  scale: boolean;
  weight: boolean;
  bias?: boolean;
}

/**
 * The vector-Jacobian product of a normalisation with its scale held as an input, per row with
 * `c = x - mean x` (LayerNorm) or `c = x` (RMSNorm) and `g = dy * weight`:
 * `dx = (g - mean g) / s` (LayerNorm) or `g / s` (RMSNorm), `ds = -sum(g c) / s^2`,
 * `dweight = sum over rows of dy c / s`, `dbias = sum over rows of dy`.
 */
function normalizeBackward(x: Tensor, scale: Tensor, weight: Tensor, dy: Tensor, needs: NormNeeds, center: boolean, what: string): NormGrads {
  const { v, d, rows } = rowsOf(x);
  checkVector(weight, d, what, "weight");
  if (!sameShape(dy.shape, x.shape)) throw new InputError(`${what}: the gradient ${formatShape(dy.shape)} does not match x ${formatShape(x.shape)}`);
  const s = perRow(x, scale, what);
  const w = contiguousData(weight);
  const g = rowsOf(dy).v;
  const dtype = promote(promote(x.dtype, dy.dtype), promote(scale.dtype, weight.dtype));
  const dx = needs.x ? allocate(dtype, v.length) : undefined;
  const ds = needs.scale ? allocate(dtype, rows) : undefined;
  const dw = needs.weight ? new Float64Array(d) : undefined;
  const db = needs.bias ? new Float64Array(d) : undefined;
  for (let r = 0, o = 0; r < rows; r++, o += d) {
    let mean = 0;
    let meanG = 0;
    for (let j = 0; j < d; j++) {
      mean += v[o + j]!;
      meanG += g[o + j]! * w[j]!;
    }
    mean = center ? mean / d : 0;
    meanG = center ? meanG / d : 0;
    const sr = s[r]!;
    let dot = 0;
    for (let j = 0; j < d; j++) {
      const gj = g[o + j]! * w[j]!;
      const c = v[o + j]! - mean;
      if (dx) dx[o + j] = (gj - meanG) / sr;
      dot += gj * c;
      if (dw) dw[j] += (g[o + j]! * c) / sr;
      if (db) db[j] += g[o + j]!;
    }
    if (ds) ds[r] = -dot / (sr * sr);
  }
  const vector = (values: Float64Array): Tensor => {
    const out = allocate(dtype, d);
    out.set(values);
    return new Tensor(out, [d]);
  };
  // Only the gradients asked for are keys of the result.
  const grads: NormGrads = {};
  if (dx) grads.x = new Tensor(dx, x.shape);
  if (ds) grads.scale = new Tensor(ds, [...x.shape.slice(0, -1), 1]);
  if (dw) grads.weight = vector(dw);
  if (db) grads.bias = vector(db);
  return grads;
}

/** The vector-Jacobian product of {@link layerNorm} with the scale held as an input (see the op `layerNorm`). */
export function layerNormBackward(x: Tensor, scale: Tensor, weight: Tensor, dy: Tensor, needs: NormNeeds): NormGrads {
  return normalizeBackward(x, scale, weight, dy, needs, true, "layerNormBackward");
}

/** The vector-Jacobian product of {@link rmsNorm} with the scale held as an input (see the op `rmsNorm`). */
export function rmsNormBackward(x: Tensor, scale: Tensor, weight: Tensor, dy: Tensor, needs: NormNeeds): NormGrads {
  return normalizeBackward(x, scale, weight, dy, { ...needs, bias: false }, false, "rmsNormBackward");
}
