import { allocate, dtypeOf, type DType, type Storage } from "./dtype.js";
import { checkShape, contiguousStrides, formatShape, sizeOf, type Shape } from "./shape.js";
import { InputError } from "./errors.js";
import { formatTensor } from "./format.js";

/** Nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | NestedArray[];

/**
 * A strided view of a float32 or float64 storage array.
 *
 * The element at index `[i0, i1, ...]` lives at `data[offset + i0 * strides[0] + i1 * strides[1] + ...]`.
 * Views (reshape, transpose, slice, expand, ...) share `data` and only change `shape`, `strides`
 * and `offset`. Strides may be negative (reversed slices) or 0 (broadcast dims). Nothing in
 * this package mutates a tensor after it is made, except the explicit in-place writer `set`.
 */
export class Tensor {
  /** The storage array, shared by every view of it. */
  readonly data: Storage;
  /** Size of each dimension (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** Storage step of each dimension, in elements (may be negative, or 0 on broadcast dims). */
  readonly strides: readonly number[];
  /** Storage index of the first element. */
  readonly offset: number;

  /**
   * Wraps `data` as a view of `shape` (row-major `strides` when omitted) starting at `offset`.
   * Throws if any element of the view would fall outside `data`.
   */
  constructor(data: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    checkShape(shape);
    const st = strides ?? contiguousStrides(shape);
    if (st.length !== shape.length) {
      throw new InputError(`strides [${st.join(", ")}] do not match shape ${formatShape(shape)}`);
    }
    if (!st.every(Number.isInteger) || !Number.isInteger(offset)) {
      throw new InputError(`a view of shape ${formatShape(shape)} needs integer strides and offset, got strides [${st.join(", ")}], offset ${offset}`);
    }
    // The lowest and highest storage index the view can touch must lie inside `data`.
    if (sizeOf(shape) > 0) {
      let lo = offset;
      let hi = offset;
      for (let i = 0; i < shape.length; i++) {
        const span = (shape[i]! - 1) * st[i]!;
        if (span < 0) lo += span;
        else hi += span;
      }
      if (lo < 0 || hi >= data.length) {
        throw new InputError(
          `a view of shape ${formatShape(shape)}, strides [${st.join(", ")}], offset ${offset} reaches outside its storage of ${data.length} elements`,
        );
      }
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...st]);
    this.offset = offset;
  }

  /** `"float32"` or `"float64"`, from the storage array. */
  get dtype(): DType {
    return dtypeOf(this.data);
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** True when the elements are laid out row-major with no gaps from `offset` on (always for an empty tensor). */
  isContiguous(): boolean {
    if (this.size === 0) return true;
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]!;
      if (d !== 1 && this.strides[i] !== expected) return false;
      expected *= d;
    }
    return true;
  }

  /** Storage index of a multi-index (negative indices count from the end). */
  indexOf(index: readonly number[]): number {
    if (index.length !== this.ndim) {
      throw new InputError(`index [${index.join(", ")}] has ${index.length} entries for a tensor of shape ${formatShape(this.shape)}`);
    }
    let pos = this.offset;
    for (let i = 0; i < index.length; i++) {
      const d = this.shape[i]!;
      const k = index[i]! < 0 ? index[i]! + d : index[i]!;
      if (!Number.isInteger(k) || k < 0 || k >= d) {
        throw new InputError(`index [${index.join(", ")}] is out of range for a tensor of shape ${formatShape(this.shape)}`);
      }
      pos += k * this.strides[i]!;
    }
    return pos;
  }

  /** The element at a multi-index. */
  get(...index: number[]): number {
    return this.data[this.indexOf(index)]!;
  }

  /** Writes one element in place (for building tensors; ops never mutate their inputs). */
  set(index: readonly number[], value: number): void {
    this.data[this.indexOf(index)] = value;
  }

  /** The single value of a tensor with one element. */
  item(): number {
    if (this.size !== 1) throw new InputError(`item() needs a tensor with one element, got shape ${formatShape(this.shape)}`);
    return this.data[this.offset]!;
  }

  /** The elements in row-major order, as a new contiguous storage array. */
  toFlat(): Storage {
    return contiguousData(this);
  }

  /** The elements as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const flat = this.toFlat();
    if (this.ndim === 0) return flat[0]!;
    let pos = 0;
    const build = (axis: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[axis]!; i++) out.push(axis === this.ndim - 1 ? flat[pos++]! : build(axis + 1));
      return out;
    };
    return build(0);
  }

  /**
   * The values as NumPy and PyTorch print them: aligned, one number format, long dimensions
   * abbreviated to their ends (`formatTensor` takes options).
   */
  toString(): string {
    return formatTensor(this);
  }

  /** What `console.log` and Node's `util.inspect` show: the same as `toString()`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return formatTensor(this);
  }
}

/**
 * Calls `visit(storageIndex, flatIndex)` for every element in row-major order.
 * The odometer walks the outer dims; the innermost dim is a tight loop.
 */
export function forEachIndex(t: Tensor, visit: (storageIndex: number, flatIndex: number) => void): void {
  const n = t.ndim;
  if (t.size === 0) return;
  if (n === 0) {
    visit(t.offset, 0);
    return;
  }
  const shape = t.shape;
  const strides = t.strides;
  const inner = shape[n - 1]!;
  const innerStride = strides[n - 1]!;
  const outer = t.size / inner;
  const counter = new Array<number>(n).fill(0);
  let base = t.offset;
  let flat = 0;
  for (let r = 0; r < outer; r++) {
    for (let j = 0; j < inner; j++) visit(base + j * innerStride, flat++);
    for (let d = n - 2; d >= 0; d--) {
      base += strides[d]!;
      if (++counter[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
}

/** A contiguous copy of the elements of `t` (the storage itself is never returned). */
export function contiguousData(t: Tensor, dtype: DType = t.dtype): Storage {
  const out = allocate(dtype, t.size);
  if (t.isContiguous()) {
    out.set(t.data.subarray(t.offset, t.offset + t.size));
    return out;
  }
  const src = t.data;
  forEachIndex(t, (s, i) => {
    out[i] = src[s]!;
  });
  return out;
}

/** Options shared by the tensor factories. */
export interface FactoryOptions {
  /** Element type of the new tensor (default `"float32"`). */
  dtype?: DType;
}

function inferShape(values: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] as NestedArray;
  }
  return shape;
}

/**
 * A tensor from nested arrays, or from values with an explicit shape (the values are read in
 * row-major order, so a nested array may be given a new shape of the same size). The data is
 * always copied. The dtype defaults to float64 for a `Float64Array` and float32 otherwise.
 *
 * ```ts
 * tensor([[1, 2], [3, 4]])                          // float32, shape [2, 2]
 * tensor([1, 2, 3, 4], { shape: [2, 2], dtype: "float64" })
 * ```
 */
export function tensor(values: NestedArray | ArrayLike<number>, options: FactoryOptions & { shape?: Shape } = {}): Tensor {
  const dtype = options.dtype ?? (values instanceof Float64Array ? "float64" : "float32");
  if (options.shape) {
    checkShape(options.shape);
    // Nested arrays are flattened first; a flat array or typed array is used as it is.
    const flat: ArrayLike<number> =
      typeof values === "number" ? [values] : Array.isArray(values) ? tensor(values, { dtype }).data : (values as ArrayLike<number>);
    if (sizeOf(options.shape) !== flat.length) {
      throw new InputError(`${flat.length} values do not fill shape ${formatShape(options.shape)}`);
    }
    const data = allocate(dtype, flat.length);
    data.set(flat);
    return new Tensor(data, options.shape);
  }
  if (typeof values === "number") return scalar(values, { dtype });
  if (!Array.isArray(values)) {
    const data = allocate(dtype, values.length);
    data.set(values);
    return new Tensor(data, [values.length]);
  }
  const shape = inferShape(values);
  const data = allocate(dtype, sizeOf(shape));
  let pos = 0;
  const fill = (v: NestedArray, axis: number): void => {
    if (axis === shape.length) {
      if (typeof v !== "number") throw new InputError(`nested array is ragged: expected a number at depth ${axis}`);
      data[pos++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[axis]) {
      throw new InputError(`nested array is ragged: expected ${shape[axis]} entries at depth ${axis}`);
    }
    for (const x of v) fill(x, axis + 1);
  };
  fill(values, 0);
  return new Tensor(data, shape);
}

/** A 0-d tensor. */
export function scalar(value: number, options: FactoryOptions = {}): Tensor {
  const data = allocate(options.dtype ?? "float32", 1);
  data[0] = value;
  return new Tensor(data, []);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: Shape, value: number, options: FactoryOptions = {}): Tensor {
  checkShape(shape);
  const data = allocate(options.dtype ?? "float32", sizeOf(shape));
  if (value !== 0) data.fill(value);
  return new Tensor(data, shape);
}

/** A tensor of `shape` filled with 0. */
export function zeros(shape: Shape, options: FactoryOptions = {}): Tensor {
  return full(shape, 0, options);
}

/** A tensor of `shape` filled with 1. */
export function ones(shape: Shape, options: FactoryOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** A tensor of the same shape and dtype as `t`, filled with `value`. */
export function fullLike(t: Tensor, value: number): Tensor {
  return full(t.shape, value, { dtype: t.dtype });
}

/** A tensor of the same shape and dtype as `t`, filled with 0. */
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { dtype: t.dtype });
}

/** A tensor of the same shape and dtype as `t`, filled with 1. */
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { dtype: t.dtype });
}

/**
 * `[start, start + step, ...]` up to but excluding `stop` (a 1-d tensor). With one argument,
 * `arange(n)` is `[0, 1, ..., n - 1]`. A negative step counts down.
 */
export function arange(start: number, stop?: number, step = 1, options: FactoryOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (!Number.isFinite(start) || !Number.isFinite(stop) || !Number.isFinite(step)) {
    throw new InputError(`arange(${start}, ${stop}, ${step}): bounds and step must be finite numbers`);
  }
  if (step === 0) throw new InputError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocate(options.dtype ?? "float32", n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** A contiguous copy of `t` that shares no storage with it (unlike `contiguous`, always copies). */
export function clone(t: Tensor): Tensor {
  return new Tensor(contiguousData(t), t.shape);
}

/** A contiguous tensor of the given dtype holding the same values: `t` itself if it already is one, else a copy. */
export function astype(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype && t.isContiguous()) return t;
  return new Tensor(contiguousData(t, dtype), t.shape);
}
