import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { argmax, argmin, logsumexp, max, mean, min, sub, sum, tensor, zeros, type Axes, type Tensor } from "../src/index.js";
import { allIndices, arbView, count, expectClose, ravel, round, tolFor, type ViewCase } from "./arbitraries.js";

type Reduction = (x: Tensor, axes?: Axes, options?: { keepdims?: boolean }) => Tensor;

/** Naive reductions of one row of values, written from the definitions. */
const NAIVE: Record<string, (values: number[]) => number> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  mean: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  max: (v) => (v.some(Number.isNaN) ? Number.NaN : v.reduce((a, b) => (b > a ? b : a), -Infinity)),
  min: (v) => (v.some(Number.isNaN) ? Number.NaN : v.reduce((a, b) => (b < a ? b : a), Infinity)),
  logsumexp: (v) => Math.log(v.reduce((a, b) => a + Math.exp(b), 0)),
};

const REDUCTIONS: [string, Reduction][] = [
  ["sum", sum],
  ["mean", mean],
  ["max", max],
  ["min", min],
  ["logsumexp", logsumexp],
];

/**
 * Reference reduction by explicit loops: for every output index, collect the values over all
 * indices of the reduced axes (row-major), then apply `row`.
 */
function naiveReduce(c: ViewCase, reduced: number[], keepdims: boolean, row: (values: number[]) => number): { shape: number[]; values: number[] } {
  const keptShape = c.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
  const values = allIndices(keptShape).map((outIndex) => {
    const rows = allIndices(reduced.map((a) => c.shape[a]!)).map((r) => {
      const index = [...outIndex];
      reduced.forEach((a, k) => (index[a] = r[k]!));
      return c.ref[ravel(index, c.shape)]!;
    });
    return row(rows);
  });
  const shape = keepdims ? keptShape : c.shape.filter((_, i) => !reduced.includes(i));
  return { shape, values };
}

/** A view, possibly with one NaN written into it, and axes to reduce in one of the accepted spellings. */
const arbReduceCase = arbView({ kind: "quarters" }).chain((c) => {
  const n = c.shape.length;
  const axesArb: fc.Arbitrary<{ axes: Axes; reduced: number[] }> = fc.oneof(
    fc.constant({ axes: undefined, reduced: c.shape.map((_, i) => i) }),
    fc.subarray(c.shape.map((_, i) => i)).chain((sub) =>
      fc.tuple(fc.shuffledSubarray(sub, { minLength: sub.length, maxLength: sub.length }), fc.array(fc.boolean(), { minLength: sub.length, maxLength: sub.length })).map(([order, negative]) => ({
        axes: order.map((a, k) => (negative[k] ? a - n : a)),
        reduced: [...sub].sort((x, y) => x - y),
      })),
    ),
    ...(n > 0 ? [fc.integer({ min: -n, max: n - 1 }).map((a) => ({ axes: a as Axes, reduced: [a < 0 ? a + n : a] }))] : []),
  );
  return fc.tuple(fc.constant(c), axesArb, fc.boolean(), fc.option(fc.nat(Math.max(0, c.ref.length - 1)), { freq: 4 }));
});

/** Writes NaN into the storage of element `f` (and into every element sharing its storage). */
function injectNaN(c: ViewCase, f: number | null): void {
  if (f === null || c.ref.length === 0) return;
  const p = c.pos[f]!;
  c.storage.set([p], Number.NaN);
  c.pos.forEach((q, g) => {
    if (q === p) c.ref[g] = Number.NaN;
  });
}

describe("reductions over random views and axes", () => {
  for (const [name, op] of REDUCTIONS) {
    it(`${name} matches explicit loops, with and without keepdims, NaN included`, () => {
      fc.assert(
        fc.property(arbReduceCase, ([c, { axes, reduced }, keepdims, nanAt]) => {
          injectNaN(c, nanAt);
          const { shape, values } = naiveReduce(c, reduced, keepdims, NAIVE[name]!);
          const rowLength = count(reduced.map((a) => c.shape[a]!));
          if (rowLength === 0 && values.length > 0 && (name === "max" || name === "min")) {
            expect(() => op(c.t, axes, { keepdims })).toThrow(`${name} over an empty axis of a tensor of shape [${c.shape.join(", ")}]`);
            return;
          }
          const y = op(c.t, axes, { keepdims });
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe(c.dtype);
          expectClose(y.toFlat(), values.map((v) => round(v, c.dtype)), tolFor(c.dtype), `${name} axes ${JSON.stringify(axes)} ${c.recipe}`);
        }),
        { numRuns: 150 },
      );
    });
  }

  for (const [name, op, better] of [
    ["argmax", argmax, (a: number, b: number) => a > b],
    ["argmin", argmin, (a: number, b: number) => a < b],
  ] as const) {
    it(`${name} returns the first best index along one axis (ties and NaN: first wins)`, () => {
      fc.assert(
        fc.property(
          arbReduceCase.filter(([c]) => c.shape.length > 0).chain(([c, , keepdims, nanAt]) =>
            fc.tuple(fc.constant(c), fc.integer({ min: -c.shape.length, max: c.shape.length - 1 }), fc.constant(keepdims), fc.constant(nanAt)),
          ),
          ([c, axis, keepdims, nanAt]) => {
            injectNaN(c, nanAt);
            const a = axis < 0 ? axis + c.shape.length : axis;
            const first = (row: number[]): number => {
              const nan = row.findIndex(Number.isNaN);
              if (nan >= 0) return nan;
              let best = 0;
              row.forEach((v, j) => {
                if (better(v, row[best]!)) best = j;
              });
              return best;
            };
            const { shape, values } = naiveReduce(c, [a], keepdims, first);
            if (c.shape[a] === 0 && values.length > 0) {
              expect(() => op(c.t, axis, { keepdims })).toThrow(`${name} over an empty axis`);
              return;
            }
            const y = op(c.t, axis, { keepdims });
            expect(y.shape).toEqual(shape);
            expectClose(y.toFlat(), values);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});

describe("reduction details", () => {
  it("keepdims results broadcast back against the input (softmax-style centring)", () => {
    const x = tensor([
      [[1, 5], [3, 2]],
      [[0, -1], [4, 4]],
    ]);
    const m = max(x, [0, 2], { keepdims: true });
    expect(m.shape).toEqual([1, 2, 1]);
    expect(Array.from(m.data)).toEqual([5, 4]);
    const centred = sub(x, m);
    expect(centred.toArray()).toEqual([
      [[-4, 0], [-1, -2]],
      [[-5, -6], [0, 0]],
    ]);
    expect(sum(x, [-1, 0]).toArray()).toEqual([5, 13]);
    expect(sum(x).shape).toEqual([]);
    expect(sum(x, undefined, { keepdims: true }).shape).toEqual([1, 1, 1]);
    expect(sum(x, []).toArray()).toEqual(x.toArray());
  });

  it("empty axes: sum 0, mean NaN, logsumexp -Infinity, max/argmax errors", () => {
    const e = zeros([2, 0]);
    expect(Array.from(sum(e, 1).data)).toEqual([0, 0]);
    expect(Array.from(mean(e, 1).data).every(Number.isNaN)).toBe(true);
    expect(Array.from(logsumexp(e, 1).data)).toEqual([-Infinity, -Infinity]);
    expect(() => max(e, 1)).toThrow("max over an empty axis of a tensor of shape [2, 0]");
    expect(() => argmax(e, 1)).toThrow("argmax over an empty axis of a tensor of shape [2, 0]");
    // Reducing the non-empty axis of an empty tensor gives an empty result, not an error.
    expect(max(e, 0).shape).toEqual([0]);
  });

  it("sums accumulate in float64 even for float32 tensors", () => {
    // 2^24 + 1 + 1 + ... is lost one by one in float32 arithmetic but not in float64.
    const values = [2 ** 24, ...new Array<number>(16).fill(1)];
    expect(sum(tensor(values)).item()).toBe(2 ** 24 + 16);
  });

  it("logsumexp is stable at large magnitudes and handles infinities", () => {
    const big = tensor([1000, 1000], { dtype: "float64" });
    expect(logsumexp(big).item()).toBeCloseTo(1000 + Math.LN2, 12);
    expect(logsumexp(tensor([-1000, -1000], { dtype: "float64" })).item()).toBeCloseTo(-1000 + Math.LN2, 12);
    // logsumexp([a, a + d]) = a + d + log1p(exp(-d)).
    expect(logsumexp(tensor([1e4, 1e4 + 3], { dtype: "float64" })).item()).toBeCloseTo(1e4 + 3 + Math.log1p(Math.exp(-3)), 9);
    expect(logsumexp(tensor([88, 89, 90])).item()).toBeCloseTo(90 + Math.log(1 + Math.exp(-1) + Math.exp(-2)), 4); // exp(90) overflows float32
    expect(logsumexp(tensor([Infinity, 0])).item()).toBe(Infinity);
    expect(logsumexp(tensor([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect(logsumexp(tensor([-Infinity, 0])).item()).toBe(0);
    expect(Number.isNaN(logsumexp(tensor([Infinity, Number.NaN])).item())).toBe(true);
    expect(Number.isNaN(logsumexp(tensor([Number.NaN, 1])).item())).toBe(true);
  });

  it("argmax picks the first of tied maxima and the first NaN", () => {
    expect(argmax(tensor([1, 3, 3, 2])).item()).toBe(1);
    expect(argmax(tensor([-Infinity, -Infinity])).item()).toBe(0);
    expect(argmax(tensor([1, Number.NaN, 3, Number.NaN])).item()).toBe(1);
    expect(argmin(tensor([2, 0, 0, 1])).item()).toBe(1);
    expect(Array.from(argmax(tensor([[0, 9], [7, 7]]), 0).data)).toEqual([1, 0]);
    expect(argmax(tensor([[0, 9], [7, 7]]), 1, { keepdims: true }).toArray()).toEqual([[1], [0]]);
  });

  it("bad axes are errors naming the shape", () => {
    const x = zeros([2, 3]);
    expect(() => sum(x, 2)).toThrow("axis 2 is out of range of a tensor of shape [2, 3]");
    expect(() => sum(x, [0, -2])).toThrow("axes [0, -2] repeat an axis of a tensor of shape [2, 3]");
    expect(() => argmax(x, [0, 1] as never)).toThrow("argmax takes a single axis, got 0,1");
    expect(() => argmax(tensor(3))).toThrow("axis -1 is out of range of a tensor of shape []");
  });
});
