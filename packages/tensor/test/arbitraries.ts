/**
 * Test helpers for @gim/tensor: fast-check arbitraries that build random (often non-contiguous)
 * views together with an independent reference of their logical values, plus naive index
 * arithmetic and a tolerant comparison.
 *
 * The reference of a view is computed from the recipe that built it (permutation, steps,
 * padding, broadcast dims) by plain arithmetic on the physical storage layout; it never reads
 * `strides` or `offset`, so it checks the tensor's view arithmetic instead of repeating it.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { expand, narrow, permute, slice, squeeze, Tensor, type DType } from "../src/index.js";

/** Row-major flat index of a multi-index. */
export function ravel(index: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i]! + index[i]!;
  return flat;
}

/** Multi-index of a row-major flat index. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let i = shape.length - 1; i >= 0; i--) {
    index[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return index;
}

/** Number of elements of a shape. */
export function count(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Every multi-index of `shape` in row-major order (nested loops written as recursion). */
export function allIndices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]): void => {
    if (prefix.length === shape.length) {
      out.push(prefix);
      return;
    }
    for (let i = 0; i < shape[prefix.length]!; i++) walk([...prefix, i]);
  };
  walk([]);
  return out;
}

/** Flattens nested arrays from `toArray()` (a number for a 0-d tensor). */
export function flatten(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flatten) : [v as number];
}

/** The value a float64 number takes when stored in `dtype`. */
export function round(v: number, dtype: DType): number {
  return dtype === "float32" ? Math.fround(v) : v;
}

/** Tolerances of a comparison: |a - e| <= atol + rtol * |e|. */
export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/**
 * Expects two equally long sequences to agree within tolerance. NaN matches NaN, an infinity
 * matches the same infinity, and -0 matches 0. Reports the first mismatch.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, what = "values"): void {
  const { rtol = 0, atol = 0 } = tol;
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) expect.fail(`${what}: element ${i} is ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Default tolerance for results rounded to `dtype`. */
export function tolFor(dtype: DType): Tolerance {
  return dtype === "float32" ? { rtol: 2e-6, atol: 1e-6 } : { rtol: 1e-12, atol: 1e-12 };
}

/** A shape of `minDims..maxDims` dims, each in `0..maxDim`; zero-size dims are rarer than others. */
export function arbShape(options: { minDims?: number; maxDims?: number; maxDim?: number; allowZero?: boolean } = {}): fc.Arbitrary<number[]> {
  const { minDims = 0, maxDims = 4, maxDim = 4, allowZero = true } = options;
  const dim = allowZero
    ? fc.oneof({ arbitrary: fc.constant(0), weight: 1 }, { arbitrary: fc.integer({ min: 1, max: maxDim }), weight: 12 })
    : fc.integer({ min: 1, max: maxDim });
  return fc.array(dim, { minLength: minDims, maxLength: maxDims });
}

/** Which element types to try. */
export const arbDType: fc.Arbitrary<DType> = fc.constantFrom<DType>("float32", "float64");

/** How the values of a random tensor are drawn. */
export type ValueKind = "real" | "quarters" | "wide" | "mask";

/** A random tensor (usually a non-contiguous view) and the row-major list of its logical values. */
export interface ViewCase {
  /** The view under test. */
  t: Tensor;
  /** Its logical shape. */
  shape: number[];
  /** Its values in row-major order, computed from the recipe, not from strides. */
  ref: number[];
  /** Storage index of each element in row-major order, from the recipe. */
  pos: number[];
  /** Element type. */
  dtype: DType;
  /** A contiguous tensor over the whole storage (writing into it changes the view). */
  storage: Tensor;
  /** The recipe, for failure messages. */
  recipe: string;
}

interface DimRecipe {
  step: number;
  padBefore: number;
  padAfter: number;
  broadcast: boolean;
  useNarrow: boolean;
}

const arbDimRecipe: fc.Arbitrary<DimRecipe> = fc.record({
  step: fc.constantFrom(1, 1, 2, 3, -1, -1, -2),
  padBefore: fc.integer({ min: 0, max: 2 }),
  padAfter: fc.integer({ min: 0, max: 2 }),
  broadcast: fc.constantFrom(false, false, false, true),
  useNarrow: fc.boolean(),
});

// A small deterministic generator (an LCG), independent of the package's Rng.
function lcgValues(seed: number, n: number, kind: ValueKind): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 4294967296;
    if (kind === "mask") out.push(u < 0.5 ? 0 : 1);
    else if (kind === "quarters") out.push(Math.round((u * 6 - 3) * 4) / 4); // many ties
    else if (kind === "wide") out.push((u * 2 - 1) * 50);
    else out.push(u * 8 - 4);
  }
  return out;
}

/**
 * A random view of logical shape `shape`: physical storage in a random axis order with a
 * random offset, then per axis a slice with a random step (negative included) or a narrow,
 * then broadcast (stride-0) axes, some of them new leading axes.
 */
export function arbViewOf(shape: readonly number[], dtype: DType, options: { kind?: ValueKind; contiguousOnly?: boolean } = {}): fc.Arbitrary<ViewCase> {
  const n = shape.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  return fc
    .record({
      perm: n === 0 ? fc.constant<number[]>([]) : fc.shuffledSubarray(idx, { minLength: n, maxLength: n }),
      dims: fc.array(arbDimRecipe, { minLength: n, maxLength: n }),
      prefix: fc.integer({ min: 0, max: 3 }),
      suffix: fc.integer({ min: 0, max: 2 }),
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      dropLeading: fc.boolean(),
    })
    .map(({ perm, dims, prefix, suffix, seed, dropLeading }) => {
      if (options.contiguousOnly) {
        perm = idx;
        dims = dims.map(() => ({ step: 1, padBefore: 0, padAfter: 0, broadcast: false, useNarrow: false }));
        suffix = 0;
      }
      const baseDims = dims.map((r, i) =>
        r.broadcast ? 1 : r.padBefore + (shape[i] === 0 ? 0 : (shape[i]! - 1) * Math.abs(r.step) + 1) + r.padAfter,
      );
      const physShape = perm.map((i) => baseDims[i]!);
      const physSize = count(physShape);
      const values = lcgValues(seed, prefix + physSize + suffix, options.kind ?? "real");
      const data = dtype === "float32" ? new Float32Array(values) : new Float64Array(values);
      const storage = new Tensor(data, [data.length]);
      const physical = new Tensor(data, physShape, undefined, prefix);
      const inverse = idx.map((i) => perm.indexOf(i));
      let v = permute(physical, inverse); // logical axis order, shape baseDims
      dims.forEach((r, i) => {
        if (r.broadcast) return;
        const len = shape[i]!;
        if (r.step === 1 && r.useNarrow) v = narrow(v, i, r.padBefore, len);
        else if (len === 0) v = slice(v, i, r.padBefore, r.padBefore, r.step);
        else if (r.step > 0) v = slice(v, i, r.padBefore, r.padBefore + (len - 1) * r.step + 1, r.step);
        else {
          const start = baseDims[i]! - 1 - r.padAfter;
          const stop = start + len * r.step;
          v = slice(v, i, start, stop < 0 ? undefined : stop, r.step);
        }
      });
      // Leading broadcast axes may also be absent from the base and created by expand.
      let lead = 0;
      while (dropLeading && lead < n && dims[lead]!.broadcast) {
        v = squeeze(v, 0);
        lead++;
      }
      const t = expand(v, shape);
      // Reference: logical index -> base coordinate -> physical row-major position.
      const ref: number[] = [];
      const pos: number[] = [];
      for (let f = 0; f < count(shape); f++) {
        const index = unravel(f, shape);
        const coord = index.map((k, i) => {
          const r = dims[i]!;
          if (r.broadcast) return 0;
          return r.step > 0 ? r.padBefore + k * r.step : baseDims[i]! - 1 - r.padAfter + k * r.step;
        });
        pos.push(prefix + ravel(perm.map((i) => coord[i]!), physShape));
        ref.push(data[pos[pos.length - 1]!]!);
      }
      const recipe = JSON.stringify({ shape, dtype, perm, dims, prefix, dropLeading });
      return { t, shape: [...shape], ref, pos, dtype, storage, recipe };
    });
}

/** A random view of a random shape and dtype. */
export function arbView(
  options: { minDims?: number; maxDims?: number; maxDim?: number; allowZero?: boolean; kind?: ValueKind; dtype?: DType; contiguousOnly?: boolean } = {},
): fc.Arbitrary<ViewCase> {
  const dtypes = options.dtype ? fc.constant(options.dtype) : arbDType;
  return fc.tuple(arbShape(options), dtypes).chain(([shape, dtype]) => arbViewOf(shape, dtype, options));
}

/**
 * Shapes `a` and `b` made from a random shape by dropping some leading dims and turning some
 * dims into 1, with the shape `out` they broadcast to. Returns `[out, a, b]`.
 */
export function arbBroadcastShapes(options: { maxDims?: number; maxDim?: number } = {}): fc.Arbitrary<[number[], number[], number[]]> {
  return arbShape({ maxDims: options.maxDims ?? 4, maxDim: options.maxDim ?? 4 }).chain((out) => {
    const operand = fc
      .tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
      .map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
    return fc.tuple(operand, operand).map(([a, b]): [number[], number[], number[]] => {
      // Where both operands have a 1 the result has 1; dims both dropped are not in the result.
      const at = (s: number[], i: number) => s[s.length - out.length + i] ?? 1;
      const full = out.map((d, i) => (at(a, i) !== 1 || at(b, i) !== 1 ? d : 1));
      return [full.slice(out.length - Math.max(a.length, b.length)), a, b];
    });
  });
}

/** Reads the value of a reference list at a multi-index, with NumPy broadcasting into `target`. */
export function broadcastRead(ref: readonly number[], shape: readonly number[], targetIndex: readonly number[]): number {
  const lead = targetIndex.length - shape.length;
  const index = shape.map((d, i) => (d === 1 ? 0 : targetIndex[lead + i]!));
  return ref[ravel(index, shape)]!;
}
