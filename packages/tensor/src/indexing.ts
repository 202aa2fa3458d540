/** Gathering by integer ids, joining and splitting, and triangular masks. */
import { allocate, promote, type DType } from "./dtype.js";
import { checkShape, contiguousStrides, formatShape, normalizeAxis, sizeOf } from "./shape.js";
import { contiguousData, Tensor, type FactoryOptions } from "./tensor.js";
import { narrow } from "./views.js";
import { InputError } from "./errors.js";

function checkIds(ids: ArrayLike<number>, size: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= size) {
      throw new InputError(`${what}: id ${id} at position ${i} is out of range [0, ${size})`);
    }
  }
}

/**
 * Rows `ids` of `x` along `axis`: `out[.., i, ..] = x[.., ids[i], ..]` (an embedding lookup on
 * axis 0). A copy; ids may repeat; an id outside `[0, size)` is an error naming it.
 */
export function indexSelect(x: Tensor, axis: number, ids: ArrayLike<number>): Tensor {
  const ax = normalizeAxis(axis, x.ndim, x.shape);
  checkIds(ids, x.shape[ax]!, `indexSelect on axis ${axis} of a tensor of shape ${formatShape(x.shape)}`);
  const shape = [...x.shape];
  shape[ax] = ids.length;
  const out = allocate(x.dtype, sizeOf(shape));
  // Copy one slice per id; each slice is walked with its own strides.
  const sliceSize = sizeOf(x.shape.slice(ax + 1));
  const outer = sizeOf(x.shape.slice(0, ax));
  const innerShape = x.shape.slice(ax + 1);
  const innerStrides = x.strides.slice(ax + 1);
  // Embedding rows of a contiguous table are copied with one subarray each.
  const innerContiguous = sameStrides(innerShape, innerStrides, contiguousStrides(innerShape));
  let o = 0;
  for (let p = 0; p < outer; p++) {
    const prefix = outerOffset(x, ax, p);
    for (let i = 0; i < ids.length; i++) {
      const start = prefix + ids[i]! * x.strides[ax]!;
      if (innerContiguous) out.set(x.data.subarray(start, start + sliceSize), o);
      else out.set(contiguousData(new Tensor(x.data, innerShape, innerStrides, start)), o);
      o += sliceSize;
    }
  }
  return new Tensor(out, shape);
}

// Strides agree on every dim that has more than one element.
function sameStrides(shape: readonly number[], a: readonly number[], b: readonly number[]): boolean {
  return shape.every((d, i) => d <= 1 || a[i] === b[i]);
}

/** Storage offset of the p-th (row-major) index over the dims before `axis`. */
function outerOffset(x: Tensor, axis: number, p: number): number {
  let off = x.offset;
  for (let d = axis - 1; d >= 0; d--) {
    const n = x.shape[d]!;
    off += (p % n) * x.strides[d]!;
    p = Math.floor(p / n);
  }
  return off;
}

/**
 * The transpose of `indexSelect`: a tensor of `shape` (zeros) with each slice of `src` added
 * at row `ids[i]` of `axis` (repeated ids accumulate). The backward of an embedding lookup.
 */
export function indexAdd(shape: readonly number[], axis: number, ids: ArrayLike<number>, src: Tensor): Tensor {
  checkShape(shape, "indexAdd shape");
  const ax = normalizeAxis(axis, shape.length, shape);
  checkIds(ids, shape[ax]!, `indexAdd on axis ${axis} of shape ${formatShape(shape)}`);
  const expected = [...shape];
  expected[ax] = ids.length;
  if (src.ndim !== expected.length || src.shape.some((d, i) => d !== expected[i])) {
    throw new InputError(`indexAdd: source of shape ${formatShape(src.shape)} does not match ${formatShape(expected)}`);
  }
  const out = allocate(src.dtype, sizeOf(shape));
  const s = contiguousData(src);
  const sliceSize = sizeOf(shape.slice(ax + 1));
  const outer = sizeOf(shape.slice(0, ax));
  let k = 0;
  for (let p = 0; p < outer; p++) {
    for (let i = 0; i < ids.length; i++) {
      const base = (p * shape[ax]! + ids[i]!) * sliceSize;
      for (let j = 0; j < sliceSize; j++) out[base + j]! += s[k++]!;
    }
  }
  return new Tensor(out, shape);
}

/** Joins tensors along `axis` into a new contiguous tensor; all other dims must agree; float64 wins. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new InputError("concat needs at least one tensor");
  const first = xs[0]!;
  const ax = normalizeAxis(axis, first.ndim, first.shape);
  for (const x of xs) {
    if (x.ndim !== first.ndim || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new InputError(`concat on axis ${axis}: shapes ${xs.map((t) => formatShape(t.shape)).join(", ")} differ off that axis`);
    }
  }
  const dtype: DType = xs.reduce<DType>((d, x) => promote(d, x.dtype), first.dtype);
  const shape = [...first.shape];
  shape[ax] = xs.reduce((n, x) => n + x.shape[ax]!, 0);
  // Row-major, the output is `outer` blocks, each the inputs' blocks for that outer index in turn.
  const outer = sizeOf(shape.slice(0, ax));
  const inner = sizeOf(shape.slice(ax + 1));
  const outBlock = shape[ax]! * inner;
  const out = allocate(dtype, sizeOf(shape));
  let start = 0;
  for (const x of xs) {
    const block = x.shape[ax]! * inner;
    const src = contiguousData(x, dtype);
    for (let p = 0; p < outer; p++) {
      const from = p * block;
      const to = p * outBlock + start;
      for (let j = 0; j < block; j++) out[to + j] = src[from + j]!;
    }
    start += block;
  }
  return new Tensor(out, shape);
}

/**
 * `x` with `before` zeros ahead of it and `after` zeros behind it along `axis`: a new
 * contiguous tensor whose narrow at `before` is `x` (the transpose of `narrow`, so the
 * gradient of a narrow). Copies whole blocks, one per index of the dims before `axis`.
 */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  const ax = normalizeAxis(axis, x.ndim, x.shape);
  if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) {
    throw new InputError(`pad on axis ${axis}: before and after must be integers >= 0, got ${before} and ${after}`);
  }
  const shape = [...x.shape];
  shape[ax] = x.shape[ax]! + before + after;
  const out = allocate(x.dtype, sizeOf(shape));
  const outer = sizeOf(shape.slice(0, ax));
  const inner = sizeOf(shape.slice(ax + 1));
  const block = x.shape[ax]! * inner;
  const src = x.isContiguous() ? x.data.subarray(x.offset, x.offset + x.size) : contiguousData(x);
  for (let p = 0; p < outer; p++) out.set(src.subarray(p * block, (p + 1) * block), p * shape[ax]! * inner + before * inner);
  return new Tensor(out, shape);
}

/**
 * Splits along `axis` into views (no copies) of the given sizes, or, given a number, into that
 * many equal pieces (NumPy's `split` convention, not torch's chunk size).
 */
export function split(x: Tensor, sizesOrParts: number | readonly number[], axis = 0): Tensor[] {
  const ax = normalizeAxis(axis, x.ndim, x.shape);
  const d = x.shape[ax]!;
  let sizes: number[];
  if (typeof sizesOrParts === "number") {
    if (!Number.isInteger(sizesOrParts) || sizesOrParts <= 0 || d % sizesOrParts !== 0) {
      throw new InputError(`split: axis ${axis} of size ${d} cannot be split into ${sizesOrParts} equal parts`);
    }
    sizes = new Array<number>(sizesOrParts).fill(d / sizesOrParts);
  } else {
    sizes = [...sizesOrParts];
    if (!sizes.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new InputError(`split: sizes [${sizes.join(", ")}] must be non-negative integers`);
    }
    if (sizes.reduce((a, b) => a + b, 0) !== d) {
      throw new InputError(`split: sizes [${sizes.join(", ")}] do not add up to ${d}, the size of axis ${axis}`);
    }
  }
  let start = 0;
  return sizes.map((n) => {
    const part = narrow(x, ax, start, n);
    start += n;
    return part;
  });
}

/**
 * A `rows x cols` mask with 1 on and below diagonal `k` and 0 above it (`k > 0` includes that
 * many diagonals above the main one, `k < 0` excludes that many below). Like NumPy's `tri`: it
 * makes a mask, it does not take a tensor; `mul(x, tril(m, n))` keeps the lower triangle of
 * `x`. `tril(T)` is the causal attention mask (query i sees keys j <= i).
 */
export function tril(rows: number, cols = rows, k = 0, options: FactoryOptions = {}): Tensor {
  checkMaskArgs("tril", rows, cols, k);
  const out = allocate(options.dtype ?? "float32", rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j <= Math.min(cols - 1, i + k); j++) out[i * cols + j] = 1;
  return new Tensor(out, [rows, cols]);
}

/**
 * A `rows x cols` mask with 1 on and above diagonal `k` and 0 below it; `triu(m, n, k)` is
 * `1 - tril(m, n, k - 1)`. `triu(T, T, 1)` marks the future keys a causal model must not see.
 */
export function triu(rows: number, cols = rows, k = 0, options: FactoryOptions = {}): Tensor {
  checkMaskArgs("triu", rows, cols, k);
  const out = allocate(options.dtype ?? "float32", rows * cols);
  for (let i = 0; i < rows; i++) for (let j = Math.max(0, i + k); j < cols; j++) out[i * cols + j] = 1;
  return new Tensor(out, [rows, cols]);
}

function checkMaskArgs(name: string, rows: number, cols: number, k: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || !Number.isInteger(k)) {
    throw new InputError(`${name}(${rows}, ${cols}, ${k}): sizes must be non-negative integers and k an integer`);
  }
}
