/**
 * Test helpers for @gim/autograd: naive float64 references that work on logical values by
 * index arithmetic of their own (never the tensor kernels), random inputs with domains, and
 * value-preserving non-contiguous layouts (transposed, reversed with a step, offset into a
 * larger buffer whose other entries are NaN, so reading outside the view shows up).
 */
import * as T from "@gim/tensor";
import { Rng, Tensor } from "@gim/tensor";
import { expect } from "vitest";
import { allIndices, count, ravel } from "../../tensor/test/arbitraries.js";

export { allIndices, count };

/** A tensor's logical values in row-major order with its shape: the reference representation. */
export interface Naive {
  readonly shape: readonly number[];
  readonly values: readonly number[];
}

/** Reads a tensor's logical values one element at a time with `get`. */
export function naive(t: Tensor): Naive {
  return { shape: [...t.shape], values: allIndices(t.shape).map((i) => t.get(...i)) };
}

/** The element of `n` at a multi-index. */
export function at(n: Naive, index: readonly number[]): number {
  return n.values[ravel(index, n.shape)]!;
}

/** Builds a reference tensor from a function of the multi-index. */
export function build(shape: readonly number[], f: (index: number[]) => number): Naive {
  return { shape: [...shape], values: allIndices(shape).map(f) };
}

/** NumPy broadcasting of any number of shapes (written out here, not taken from the tensor package). */
export function broadcastAll(...shapes: (readonly number[])[]): number[] {
  const n = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s[s.length - n + i] ?? 1;
      if (k !== 1) {
        if (d !== 1 && d !== k) throw new Error(`test bug: shapes do not broadcast: ${JSON.stringify(shapes)}`);
        d = k;
      }
    }
    out.push(d);
  }
  return out;
}

/** The element of `n` that lands at `outIndex` of a broadcast result. */
export function atBroadcast(n: Naive, outIndex: readonly number[]): number {
  const lead = outIndex.length - n.shape.length;
  return at(n, n.shape.map((d, i) => (d === 1 ? 0 : outIndex[lead + i]!)));
}

/** Elementwise map. */
export function mapN(n: Naive, f: (v: number) => number): Naive {
  return { shape: n.shape, values: n.values.map(f) };
}

/** Elementwise function of broadcast operands. */
export function zipN(xs: readonly Naive[], f: (...vs: number[]) => number): Naive {
  const shape = broadcastAll(...xs.map((x) => x.shape));
  return build(shape, (i) => f(...xs.map((x) => atBroadcast(x, i))));
}

/** Reduction over `axes` (all when undefined) with `f` of the reduced values. */
export function reduceN(n: Naive, axes: number | readonly number[] | undefined, keepdims: boolean, f: (vs: number[]) => number): Naive {
  const nd = n.shape.length;
  const list = axes === undefined ? n.shape.map((_, i) => i) : (typeof axes === "number" ? [axes] : axes).map((a) => (a < 0 ? a + nd : a));
  const keptShape = n.shape.map((d, i) => (list.includes(i) ? 1 : d));
  const outShape = keepdims ? keptShape : n.shape.filter((_, i) => !list.includes(i));
  const groups = new Map<number, number[]>();
  allIndices(n.shape).forEach((idx) => {
    const key = ravel(idx.map((v, i) => (list.includes(i) ? 0 : v)), keptShape);
    const g = groups.get(key) ?? [];
    g.push(at(n, idx));
    groups.set(key, g);
  });
  return { shape: outShape, values: allIndices(keptShape).map((idx) => f(groups.get(ravel(idx, keptShape))!)) };
}

/** Applies `f` to each row along the last axis (f returns a row of the same length). */
export function rowsN(n: Naive, f: (row: number[], rowIndex: number[]) => number[]): Naive {
  const d = n.shape[n.shape.length - 1]!;
  const out: number[] = [];
  const lead = n.shape.slice(0, -1);
  for (const idx of allIndices(lead)) {
    const row = Array.from({ length: d }, (_, j) => at(n, [...idx, j]));
    out.push(...f(row, idx));
  }
  return { shape: n.shape, values: out };
}

/** Naive batched matmul with NumPy semantics (1-d operands are a row on the left, a column on the right). */
export function matmulN(a: Naive, b: Naive): Naive {
  const A = a.shape.length === 1 ? { shape: [1, ...a.shape], values: a.values } : a;
  const B = b.shape.length === 1 ? { shape: [...b.shape, 1], values: b.values } : b;
  const [m, k] = A.shape.slice(-2) as [number, number];
  const n = B.shape[B.shape.length - 1]!;
  const batch = broadcastAll(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const full = build([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2) as [number, number];
    let s = 0;
    for (let p = 0; p < k; p++) s += atBatch(A, bi, i, p) * atBatch(B, bi, p, j);
    return s;
  });
  const shape = [...batch, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return { shape, values: full.values };
}

function atBatch(x: Naive, batchIndex: readonly number[], i: number, j: number): number {
  const nb = x.shape.length - 2;
  const lead = batchIndex.length - nb;
  const idx = x.shape.slice(0, nb).map((d, q) => (d === 1 ? 0 : batchIndex[lead + q]!));
  return at(x, [...idx, i, j]);
}

/** Asserts a tensor equals a reference elementwise within `atol + rtol * |expected|`. */
export function expectClose(actual: Tensor, expected: Naive, atol = 1e-10, rtol = 1e-9, what = "value"): void {
  expect([...actual.shape], `${what}: shape`).toEqual([...expected.shape]);
  const got = naive(actual).values;
  got.forEach((v, i) => {
    const e = expected.values[i]!;
    if (!(Math.abs(v - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}: element ${i} of ${JSON.stringify(expected.shape)} is ${v}, expected ${e}`);
    }
  });
}

/** Asserts two tensors agree elementwise within tolerances. */
export function expectTensorsClose(actual: Tensor, expected: Tensor, atol = 1e-10, rtol = 1e-9, what = "value"): void {
  expectClose(actual, naive(expected), atol, rtol, what);
}

// ---------------------------------------------------------------------------------------------
// Random inputs with domains, and layouts.

/** Value domains of generated inputs. */
export type Domain =
  | "normal" // standard normal
  | "positive" // uniform in [0.5, 2.5]
  | "awayFromZero" // |x| uniform in [0.2, 2], random sign (relu/abs kinks, rms)
  | "denominator" // |x| uniform in [0.5, 2], random sign
  | "rowSpread" // along the last axis: distinct values at least 0.25 apart (std, layerNorm)
  | "distinct"; // all values distinct, at least 0.25 apart (max: no ties anywhere)

/** How a generated tensor is stored. */
export type Layout = "contiguous" | "transposed" | "reversed" | "expanded";

/** Contiguous float64 values of `shape` from `domain`. */
export function valuesIn(shape: readonly number[], domain: Domain, rng: Rng): Tensor {
  const n = count(shape);
  const data = new Float64Array(n);
  if (domain === "distinct" || domain === "rowSpread") {
    const row = domain === "distinct" ? n : (shape[shape.length - 1] ?? 1);
    for (let start = 0; start < n; start += row) {
      const order = rng.shuffle(Array.from({ length: row }, (_, j) => j));
      const shift = rng.normal();
      for (let j = 0; j < row; j++) data[start + j] = (order[j]! - (row - 1) / 2) * (0.25 + 0.1 * rng.uniform()) + shift * 0.3;
    }
    // A random offset per element smaller than half the gap keeps values distinct.
    for (let k = 0; k < n; k++) data[k]! += 0.05 * (rng.uniform() - 0.5);
    return new Tensor(data, shape);
  }
  for (let k = 0; k < n; k++) {
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    data[k] =
      domain === "normal" ? rng.normal()
      : domain === "positive" ? 0.5 + 2 * rng.uniform()
      : domain === "awayFromZero" ? sign * (0.2 + 1.8 * rng.uniform())
      : sign * (0.5 + 1.5 * rng.uniform());
  }
  return new Tensor(data, shape);
}

/**
 * The same logical values as `t` in a different storage layout:
 * - transposed: stored with the axes reversed, after a run of NaN padding (offset > 0);
 * - reversed: one axis read backwards with step -2 from a buffer twice as long, NaN in the gaps.
 * Both are views whose every element is at a distinct storage index.
 */
export function relayout(t: Tensor, layout: "contiguous" | "transposed" | "reversed", rng: Rng): Tensor {
  if (layout === "contiguous" || t.ndim === 0) return t;
  let view: Tensor;
  if (layout === "transposed") {
    const pad = 1 + rng.int(3);
    const reversedShape = [...t.shape].reverse();
    const data = new Float64Array(pad + t.size).fill(Number.NaN);
    const base = new Tensor(data, reversedShape, undefined, pad);
    view = T.permute(base, t.shape.map((_, i) => t.ndim - 1 - i));
  } else {
    const ax = rng.int(t.ndim);
    const s = t.shape[ax]!;
    const baseShape = [...t.shape];
    baseShape[ax] = 2 * s + 1;
    const base = new Tensor(new Float64Array(count(baseShape)).fill(Number.NaN), baseShape);
    view = T.slice(base, ax, 2 * s - 1, undefined, -2);
  }
  for (const idx of allIndices(t.shape)) view.set(idx, t.get(...idx));
  return view;
}

/** What a test case generator gets: a random base shape, a seeded generator, and input makers. */
export interface Gen {
  /** A random shape with 1 to 4 dims of sizes 1 to 5. */
  readonly shape: readonly number[];
  readonly rng: Rng;
  /** Random values of `shape` from `domain`, in this run's layout (possibly an expanded view). */
  draw(shape: readonly number[], domain?: Domain): Tensor;
  /** The same values in this run's (value-preserving) layout. */
  place(t: Tensor): Tensor;
  /** A shape that broadcasts against `shape`: some leading dims dropped, some dims set to 1. */
  partner(shape: readonly number[]): number[];
  /** `n` random integers in [0, size) (repeats allowed). */
  ids(n: number, size: number): number[];
  /** A random integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  /** A random element. */
  pick<V>(items: readonly V[]): V;
}

/** Makes a `Gen` for one property run. `layout: "mixed"` picks a layout per tensor. */
export function makeGen(shape: readonly number[], seed: number, layout: Layout | "mixed"): Gen {
  const rng = new Rng(seed);
  const chooseLayout = (): Layout => (layout === "mixed" ? (["contiguous", "transposed", "reversed", "expanded"] as const)[rng.int(4)]! : layout);
  const place = (t: Tensor, l = chooseLayout()): Tensor => relayout(t, l === "expanded" ? "transposed" : l, rng);
  const gen: Gen = {
    shape,
    rng,
    draw(s, domain = "normal") {
      const l = chooseLayout();
      if (l === "expanded" && domain !== "distinct") {
        // Expand along an axis of size > 1 (never the last for rowSpread, whose rows must vary).
        const axes = s.map((_, i) => i).filter((i) => s[i]! > 1 && !(domain === "rowSpread" && i === s.length - 1));
        if (axes.length > 0) {
          const ax = axes[rng.int(axes.length)]!;
          const small = [...s];
          small[ax] = 1;
          return T.expand(relayout(valuesIn(small, domain, rng), "contiguous", rng), s);
        }
      }
      return place(valuesIn(s, domain, rng), l);
    },
    place: (t) => place(t),
    partner(s) {
      const drop = rng.int(s.length);
      return s.slice(drop).map((d) => (rng.uniform() < 0.4 ? 1 : d));
    },
    ids: (n, size) => Array.from({ length: n }, () => rng.int(size)),
    int: (lo, hi) => lo + rng.int(hi - lo + 1),
    pick: (items) => items[rng.int(items.length)]!,
  };
  return gen;
}
