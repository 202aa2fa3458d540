import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arange, concat, indexAdd, indexSelect, mul, narrow, pad, split, sum, tensor, tril, triu, zeros, type DType } from "../src/index.js";
import { allIndices, arbDType, arbShape, arbView, arbViewOf, count, expectClose, ravel, round, tolFor } from "./arbitraries.js";

/** A view with ndim >= 1, an axis of it, and ids into that axis (repeats allowed, maybe none). */
const arbSelectCase = arbView({ minDims: 1 }).chain((c) =>
  fc.integer({ min: 0, max: c.shape.length - 1 }).chain((axis) =>
    fc.tuple(
      fc.constant(c),
      fc.constant(axis),
      c.shape[axis] === 0 ? fc.constant<number[]>([]) : fc.array(fc.nat(c.shape[axis]! - 1), { maxLength: 5 }),
    ),
  ),
);

describe("indexSelect", () => {
  it("out[.., i, ..] = x[.., ids[i], ..] on random views", () => {
    fc.assert(
      fc.property(arbSelectCase, fc.boolean(), ([c, axis, ids], negativeAxis) => {
        const y = indexSelect(c.t, negativeAxis ? axis - c.shape.length : axis, ids);
        const shape = [...c.shape];
        shape[axis] = ids.length;
        expect(y.shape).toEqual(shape);
        expect(y.dtype).toBe(c.dtype);
        const expected = allIndices(shape).map((index) => {
          const src = [...index];
          src[axis] = ids[index[axis]!]!;
          return c.ref[ravel(src, c.shape)]!;
        });
        expectClose(y.toFlat(), expected, {}, c.recipe);
      }),
    );
  });

  it("is an embedding lookup on axis 0 and accepts typed-array ids", () => {
    const table = tensor([
      [0, 1],
      [10, 11],
      [20, 21],
    ]);
    expect(indexSelect(table, 0, new Int32Array([2, 0, 2])).toArray()).toEqual([
      [20, 21],
      [0, 1],
      [20, 21],
    ]);
  });

  it("rejects out-of-range ids, naming the id, its position and the range", () => {
    const x = zeros([3, 4]);
    expect(() => indexSelect(x, 0, [0, 3])).toThrow("indexSelect on axis 0 of a tensor of shape [3, 4]: id 3 at position 1 is out of range [0, 3)");
    expect(() => indexSelect(x, 1, [-1])).toThrow("id -1 at position 0 is out of range [0, 4)");
    expect(() => indexSelect(x, 1, [1.5])).toThrow("id 1.5 at position 0");
    expect(() => indexSelect(x, 1, [Number.NaN])).toThrow("id NaN at position 0");
    expect(() => indexSelect(x, 2, [0])).toThrow("axis 2 is out of range of a tensor of shape [3, 4]");
  });
});

describe("indexAdd", () => {
  it("adds slice i of src at row ids[i] (repeated ids accumulate)", () => {
    fc.assert(
      fc.property(
        arbShape({ minDims: 1 }).chain((shape) =>
          fc.integer({ min: 0, max: shape.length - 1 }).chain((axis) =>
            fc.tuple(
              fc.constant(shape),
              fc.constant(axis),
              shape[axis] === 0 ? fc.constant<number[]>([]) : fc.array(fc.nat(shape[axis]! - 1), { maxLength: 5 }),
              arbDType,
            ),
          ),
        ).chain(([shape, axis, ids, dtype]) => {
          const srcShape = [...shape];
          srcShape[axis] = ids.length;
          return fc.tuple(fc.constant(shape), fc.constant(axis), fc.constant(ids), arbViewOf(srcShape, dtype));
        }),
        ([shape, axis, ids, src]) => {
          const y = indexAdd(shape, axis, ids, src.t);
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe(src.dtype);
          const expected = new Array<number>(count(shape)).fill(0);
          for (const index of allIndices(src.shape)) {
            const dst = [...index];
            dst[axis] = ids[index[axis]!]!;
            expected[ravel(dst, shape)]! += src.ref[ravel(index, src.shape)]!;
          }
          expectClose(y.toFlat(), expected.map((v) => round(v, src.dtype)), tolFor(src.dtype));
        },
      ),
    );
  });

  it("is the transpose of indexSelect: <indexSelect(x, ids), y> = <x, indexAdd(shape, ids, y)>", () => {
    fc.assert(
      fc.property(
        arbSelectCase.chain(([c, axis, ids]) => {
          const outShape = [...c.shape];
          outShape[axis] = ids.length;
          return fc.tuple(fc.constant(c), fc.constant(axis), fc.constant(ids), arbViewOf(outShape, "float64"));
        }),
        ([c, axis, ids, y]) => {
          const left = sum(mul(indexSelect(c.t, axis, ids), y.t)).item();
          const right = sum(mul(c.t, indexAdd(c.shape, axis, ids, y.t))).item();
          expect(Math.abs(left - right)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(left)));
        },
      ),
    );
  });

  it("rejects out-of-range ids and a source of the wrong shape, naming them", () => {
    expect(() => indexAdd([3, 2], 0, [5], zeros([1, 2]))).toThrow("indexAdd on axis 0 of shape [3, 2]: id 5 at position 0 is out of range [0, 3)");
    expect(() => indexAdd([3, 2], 0, [0, 1], zeros([1, 2]))).toThrow("indexAdd: source of shape [1, 2] does not match [2, 2]");
    expect(() => indexAdd([3, -2], 0, [0], zeros([1, 2]))).toThrow(/indexAdd shape \[3, -2\]/);
  });
});

describe("concat and split", () => {
  it("concat joins random views along an axis (float64 wins)", () => {
    fc.assert(
      fc.property(
        arbShape({ minDims: 1, maxDims: 3 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.integer({ min: 0, max: shape.length - 1 }),
            fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), arbDType), { minLength: 1, maxLength: 3 }),
          ).chain(([base, axis, parts]) =>
            fc.tuple(
              fc.constant(axis),
              fc.tuple(
                ...parts.map(([n, dtype]) => {
                  const s = [...base];
                  s[axis] = n;
                  return arbViewOf(s, dtype);
                }),
              ),
            ),
          ),
        ),
        ([axis, parts]) => {
          const y = concat(parts.map((p) => p.t), axis);
          const dtype: DType = parts.some((p) => p.dtype === "float64") ? "float64" : "float32";
          const shape = [...parts[0]!.shape];
          shape[axis] = parts.reduce((n, p) => n + p.shape[axis]!, 0);
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe(dtype);
          const expected = allIndices(shape).map((index) => {
            let k = index[axis]!;
            for (const p of parts) {
              if (k < p.shape[axis]!) {
                const src = [...index];
                src[axis] = k;
                return p.ref[ravel(src, p.shape)]!;
              }
              k -= p.shape[axis]!;
            }
            throw new Error("unreachable");
          });
          expectClose(y.toFlat(), expected);
        },
      ),
    );
  });

  it("split gives views that concat back to the input", () => {
    fc.assert(
      fc.property(
        arbView({ minDims: 1 }).chain((c) =>
          fc.integer({ min: 0, max: c.shape.length - 1 }).chain((axis) =>
            fc.tuple(fc.constant(c), fc.constant(axis), fc.array(fc.nat(c.shape[axis]!), { maxLength: 3 })),
          ),
        ),
        ([c, axis, cuts]) => {
          const points = [0, ...[...cuts].sort((a, b) => a - b), c.shape[axis]!];
          const sizes = points.slice(1).map((p, i) => p - points[i]!);
          const parts = split(c.t, sizes, axis);
          expect(parts.map((p) => p.shape[axis])).toEqual(sizes);
          for (const p of parts) expect(p.data).toBe(c.t.data);
          expectClose(concat(parts, axis).toFlat(), c.ref);
        },
      ),
    );
  });

  it("pad puts the view between zeros along an axis: narrow of the result gives it back, and the rest is 0", () => {
    fc.assert(
      fc.property(
        arbView({ minDims: 1 }).chain((c) => fc.tuple(fc.constant(c), fc.integer({ min: -c.shape.length, max: c.shape.length - 1 }), fc.nat(3), fc.nat(3))),
        ([c, axis, before, after]) => {
          const out = pad(c.t, axis, before, after);
          const ax = axis < 0 ? axis + c.shape.length : axis;
          expect(out.shape).toEqual(c.shape.map((d, i) => (i === ax ? d + before + after : d)));
          expect(out.dtype).toBe(c.t.dtype);
          expectClose(narrow(out, ax, before, c.shape[ax]!).toFlat(), c.ref);
          // Everything outside the window is zero: the padded sum equals the view's sum.
          const total = c.ref.reduce((s, v) => s + v, 0);
          expectClose([Array.from(out.toFlat()).reduce((s, v) => s + v, 0)], [total], { rtol: 1e-5, atol: 1e-4 });
          expect(Array.from(out.toFlat()).filter((v) => v !== 0).length).toBeLessThanOrEqual(c.ref.length);
        },
      ),
    );
    expect(pad(tensor([[1, 2], [3, 4]]), 1, 1, 2).toArray()).toEqual([[0, 1, 2, 0, 0], [0, 3, 4, 0, 0]]);
    expect(() => pad(tensor([1, 2]), 0, -1, 0)).toThrow("pad on axis 0: before and after must be integers >= 0, got -1 and 0");
  });

  it("split into equal parts, and errors that name sizes and shapes", () => {
    const x = arange(12);
    expect(split(x, 3).map((p) => Array.from(p.toFlat()))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(() => split(x, 5)).toThrow("split: axis 0 of size 12 cannot be split into 5 equal parts");
    expect(() => split(x, [5, 5])).toThrow("split: sizes [5, 5] do not add up to 12, the size of axis 0");
    expect(() => split(x, [-1, 13])).toThrow("split: sizes [-1, 13] must be non-negative integers");
    expect(() => concat([])).toThrow("concat needs at least one tensor");
    expect(() => concat([zeros([2, 3]), zeros([2, 4])], 0)).toThrow("concat on axis 0: shapes [2, 3], [2, 4] differ off that axis");
    expect(() => concat([zeros([2, 3]), zeros([3])], 0)).toThrow(/differ off that axis/);
    expect(concat([zeros([2, 3]), zeros([2, 4])], -1).shape).toEqual([2, 7]);
  });
});

describe("tril and triu masks", () => {
  it("tril is 1 where j <= i + k and triu 1 where j >= i + k", () => {
    fc.assert(
      fc.property(fc.nat(5), fc.nat(5), fc.integer({ min: -6, max: 6 }), arbDType, (rows, cols, k, dtype) => {
        const lower = tril(rows, cols, k, { dtype });
        const upper = triu(rows, cols, k, { dtype });
        expect(lower.shape).toEqual([rows, cols]);
        expect(lower.dtype).toBe(dtype);
        expect(Array.from(lower.data)).toEqual(allIndices([rows, cols]).map(([i, j]) => (j! <= i! + k ? 1 : 0)));
        expect(Array.from(upper.data)).toEqual(allIndices([rows, cols]).map(([i, j]) => (j! >= i! + k ? 1 : 0)));
        // Complements: triu(k) = 1 - tril(k - 1).
        const lowerBelow = tril(rows, cols, k - 1, { dtype });
        expect(Array.from(upper.data).map((v, i) => v + lowerBelow.data[i]!)).toEqual(new Array(rows * cols).fill(1));
      }),
    );
  });

  it("tril(T) is the causal mask, square by default", () => {
    expect(tril(3).toArray()).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
    expect(triu(3, 3, 1).toArray()).toEqual([
      [0, 1, 1],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    expect(() => tril(2.5)).toThrow("tril(2.5, 2.5, 0): sizes must be non-negative integers and k an integer");
    expect(() => triu(2, -1)).toThrow(/triu\(2, -1, 0\)/);
  });
});
