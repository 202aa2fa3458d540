import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  abs,
  add,
  axpy,
  broadcastShapes,
  clamp,
  cos,
  div,
  eq,
  erf,
  erfScalar,
  exp,
  ge,
  gt,
  le,
  log,
  lt,
  map,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  reciprocal,
  relu,
  rsqrt,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  tensor,
  where,
  zeros,
  zipWith,
  type Tensor,
} from "../src/index.js";
import {
  allIndices,
  arbBroadcastShapes,
  arbDType,
  arbView,
  arbViewOf,
  broadcastRead,
  expectClose,
  round,
  tolFor,
  type ValueKind,
  type ViewCase,
} from "./arbitraries.js";

/**
 * math.erf(x) from Python 3.11.2 (`python3 -c "import math; print(repr(math.erf(x)))"`),
 * printed once and pasted here as data.
 */
const PYTHON_ERF: [number, number][] = [
  [0.0, 0.0],
  [1e-300, 1.1283791670955126e-300],
  [1e-20, 1.1283791670955125e-20],
  [1e-10, 1.1283791670955126e-10],
  [1e-05, 1.1283791670579e-05],
  [0.001, 0.0011283787909692365],
  [0.01, 0.011283415555849616],
  [0.1, 0.1124629160182849],
  [0.25, 0.2763263901682369],
  [0.3, 0.3286267594591274],
  [0.5, 0.5204998778130465],
  [0.75, 0.7111556336535151],
  [0.9, 0.7969082124228322],
  [1.0, 0.8427007929497149],
  [1.25, 0.9229001282564582],
  [1.5, 0.9661051464753108],
  [2.0, 0.9953222650189527],
  [2.5, 0.999593047982555],
  [2.75, 0.9998993780778803],
  [2.9, 0.9999589021219005],
  [2.999, 0.9999777698314002],
  [3.0, 0.9999779095030014],
  [3.001, 0.9999780483390822],
  [3.2, 0.9999939742388483],
  [3.5, 0.9999992569016276],
  [4.0, 0.9999999845827421],
  [4.5, 0.9999999998033839],
  [5.0, 0.9999999999984626],
  [5.5, 0.9999999999999927],
  [5.9, 0.9999999999999999],
  [6.0, 1.0],
  [6.5, 1.0],
  [10.0, 1.0],
  [-0.1, -0.1124629160182849],
  [-0.5, -0.5204998778130465],
  [-1.0, -0.8427007929497149],
  [-2.0, -0.9953222650189527],
  [-2.999, -0.9999777698314002],
  [-3.0, -0.9999779095030014],
  [-3.5, -0.9999992569016276],
  [-5.0, -0.9999999999984626],
  [-7.0, -1.0],
];

type Unary = [string, (x: Tensor) => Tensor, (v: number) => number, ValueKind];

// References written from the definitions, not from the kernels.
const UNARY: Unary[] = [
  ["neg", neg, (v) => 0 - v, "real"],
  ["exp", exp, (v) => Math.E ** v, "real"],
  ["log", log, (v) => Math.log(v), "wide"],
  ["sqrt", sqrt, (v) => (v < 0 ? Number.NaN : v ** 0.5), "wide"],
  ["rsqrt", rsqrt, (v) => (v < 0 ? Number.NaN : v ** -0.5), "wide"],
  ["tanh", tanh, (v) => (Math.exp(2 * v) - 1) / (Math.exp(2 * v) + 1), "real"],
  ["sigmoid", sigmoid, (v) => Math.exp(v) / (1 + Math.exp(v)), "real"],
  ["abs", abs, (v) => (v < 0 ? -v : v), "wide"],
  ["sign", sign, (v) => (v === 0 ? 0 : v / Math.abs(v)), "quarters"],
  ["square", square, (v) => v ** 2, "wide"],
  ["reciprocal", reciprocal, (v) => 1 / v, "quarters"],
  ["sin", sin, (v) => Math.sin(v), "wide"],
  ["cos", cos, (v) => Math.cos(v), "wide"],
  ["relu", relu, (v) => (v < 0 ? 0 : v), "quarters"],
];

type Binary = [string, (a: Tensor | number, b: Tensor | number) => Tensor, (x: number, y: number) => number];

const BINARY: Binary[] = [
  ["add", add, (x, y) => x + y],
  ["sub", sub, (x, y) => x - y],
  ["mul", mul, (x, y) => x * y],
  ["div", div, (x, y) => x / y],
  ["pow", pow, (x, y) => x ** y],
  ["maximum", maximum, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : x >= y ? x : y)],
  ["minimum", minimum, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : x <= y ? x : y)],
  ["eq", eq, (x, y) => Number(x === y)],
  ["ne", ne, (x, y) => Number(x !== y)],
  ["lt", lt, (x, y) => Number(x < y)],
  ["le", le, (x, y) => Number(x <= y)],
  ["gt", gt, (x, y) => Number(x > y)],
  ["ge", ge, (x, y) => Number(x >= y)],
];

/** Two random views whose shapes broadcast to `out`, each of a random dtype. */
const arbPair = fc
  .tuple(arbBroadcastShapes(), arbDType, arbDType, fc.constantFrom<ValueKind>("real", "quarters"))
  .chain(([[out, sa, sb], da, db, kind]) => fc.tuple(fc.constant(out), arbViewOf(sa, da, { kind }), arbViewOf(sb, db, { kind })));

/** Reference of a broadcast binary op by explicit loops over the output indices. */
function naiveBinary(out: number[], a: ViewCase, b: ViewCase, f: (x: number, y: number) => number): number[] {
  return allIndices(out).map((index) => f(broadcastRead(a.ref, a.shape, index), broadcastRead(b.ref, b.shape, index)));
}

describe("unary ops", () => {
  for (const [name, op, reference, kind] of UNARY) {
    it(`${name} matches its definition on random views of both dtypes`, () => {
      fc.assert(
        fc.property(arbView({ kind }), (c) => {
          const before = Array.from(c.t.toFlat());
          const y = op(c.t);
          expect(y.shape).toEqual(c.shape);
          expect(y.dtype).toBe(c.dtype);
          expect(y.isContiguous()).toBe(true);
          expectClose(y.toFlat(), c.ref.map((v) => round(reference(v), c.dtype)), { rtol: c.dtype === "float32" ? 2e-6 : 1e-13, atol: 1e-13 }, `${name} ${c.recipe}`);
          expect(Array.from(c.t.toFlat())).toEqual(before); // inputs are never mutated
        }),
      );
    });
  }

  it("NaN passes through every op, including sign and relu", () => {
    const nan = tensor([Number.NaN]);
    for (const [name, op] of UNARY) expect(Number.isNaN(op(nan).item()), name).toBe(true);
  });

  it("sigmoid saturates to exactly 0 and 1 without NaN", () => {
    expect(Array.from(sigmoid(tensor([-1000, 0, 1000], { dtype: "float64" })).data)).toEqual([0, 0.5, 1]);
  });

  it("map can change dtype", () => {
    const y = map(tensor([0.1, 0.2], { dtype: "float64" }), (v) => v * 3, "float32");
    expect(y.dtype).toBe("float32");
    expectClose(y.data, [Math.fround(0.1 * 3), Math.fround(0.2 * 3)]);
  });

  it("clamp limits to [lo, hi], keeps NaN and rejects an empty interval", () => {
    fc.assert(
      fc.property(arbView({ kind: "quarters" }), fc.double({ min: -3, max: 0, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), (c, lo, hi) => {
        const y = clamp(c.t, lo, hi);
        expectClose(y.toFlat(), c.ref.map((v) => round(Math.min(hi, Math.max(lo, v)), c.dtype)));
      }),
    );
    expect(Number.isNaN(clamp(tensor([Number.NaN]), 0, 1).item())).toBe(true);
    expect(Array.from(clamp(tensor([-5, 5]), 0).data)).toEqual([0, 5]);
    expect(() => clamp(tensor([1]), 2, 1)).toThrow("clamp: bounds [2, 1] are not an interval");
  });
});

describe("erfScalar", () => {
  it("matches Python's math.erf to 1e-14 (absolute and relative)", () => {
    for (const [x, expected] of PYTHON_ERF) {
      const v = erfScalar(x);
      expect(Math.abs(v - expected), `erf(${x}) = ${v}, expected ${expected}`).toBeLessThanOrEqual(1e-14);
      if (expected !== 0) expect(Math.abs(v - expected) / Math.abs(expected), `erf(${x}) relative`).toBeLessThanOrEqual(1e-14);
    }
  });

  it("is odd, bounded by 1 and non-decreasing", () => {
    let previous = -1;
    for (let x = -7; x <= 7; x += 0.01) {
      const v = erfScalar(x);
      expect(erfScalar(-x)).toBe(-v);
      expect(Math.abs(v)).toBeLessThanOrEqual(1);
      expect(v).toBeGreaterThanOrEqual(previous);
      previous = v;
    }
  });

  it("handles the special values", () => {
    expect(erfScalar(Infinity)).toBe(1);
    expect(erfScalar(-Infinity)).toBe(-1);
    expect(Number.isNaN(erfScalar(Number.NaN))).toBe(true);
    expect(Object.is(erfScalar(-0), -0)).toBe(true);
    expectClose(erf(tensor([0.5, -1], { dtype: "float64" })).data, [0.5204998778130465, -0.8427007929497149], { atol: 1e-15 });
  });
});

describe("binary ops with broadcasting", () => {
  for (const [name, op, reference] of BINARY) {
    it(`${name} matches explicit loops over the broadcast shape, for random views and mixed dtypes`, () => {
      fc.assert(
        fc.property(arbPair, ([out, a, b]) => {
          const y = op(a.t, b.t);
          const dtype = a.dtype === "float64" || b.dtype === "float64" ? "float64" : "float32";
          expect(y.shape).toEqual(out);
          expect(y.dtype).toBe(dtype);
          expectClose(y.toFlat(), naiveBinary(out, a, b, reference).map((v) => round(v, dtype)), tolFor(dtype), `${name} ${a.recipe} ${b.recipe}`);
        }),
      );
    });
  }

  it("a plain number acts as a 0-d tensor of the other operand's dtype", () => {
    fc.assert(
      fc.property(arbView(), fc.double({ min: -5, max: 5, noNaN: true }), (c, s) => {
        const right = sub(c.t, s);
        const left = sub(s, c.t);
        expect(right.dtype).toBe(c.dtype);
        expect(left.shape).toEqual(c.shape);
        // The number is first stored in the tensor's dtype, then the difference is rounded.
        const s32 = round(s, c.dtype);
        expectClose(right.toFlat(), c.ref.map((v) => round(v - s32, c.dtype)));
        expectClose(left.toFlat(), c.ref.map((v) => round(s32 - v, c.dtype)));
      }),
    );
    expect(add(1, 2).shape).toEqual([]);
    expect(add(1, 2).item()).toBe(3);
  });

  it("broadcastShapes aligns from the right and needs equal dims or 1", () => {
    expect(broadcastShapes([2, 1, 4], [3, 1])).toEqual([2, 3, 4]);
    expect(broadcastShapes([], [3])).toEqual([3]);
    expect(broadcastShapes([0], [1])).toEqual([0]);
    expect(broadcastShapes([1, 0], [5, 1])).toEqual([5, 0]);
    expect(() => broadcastShapes([0], [2])).toThrow("shapes [0] and [2] cannot be broadcast together");
  });

  it("incompatible shapes are errors naming both shapes", () => {
    expect(() => add(zeros([2, 3]), zeros([4]))).toThrow("shapes [2, 3] and [4] cannot be broadcast together");
    expect(() => mul(zeros([2, 3, 4]), zeros([3, 3, 1]))).toThrow("shapes [2, 3, 4] and [3, 3, 1] cannot be broadcast together");
    expect(() => where(zeros([2]), zeros([3]), 0)).toThrow("where: condition [2], values [3] and [] cannot be broadcast together");
  });

  it("zipWith and axpy use the same broadcasting", () => {
    fc.assert(
      fc.property(arbPair, fc.double({ min: -2, max: 2, noNaN: true }), ([out, a, b], alpha) => {
        const dtype = a.dtype === "float64" || b.dtype === "float64" ? "float64" : "float32";
        expectClose(axpy(alpha, a.t, b.t).toFlat(), naiveBinary(out, a, b, (x, y) => round(alpha * x + y, dtype)), tolFor(dtype));
        expectClose(zipWith(a.t, b.t, Math.atan2).toFlat(), naiveBinary(out, a, b, (x, y) => round(Math.atan2(x, y), dtype)), tolFor(dtype));
      }),
    );
  });

  it("comparisons with NaN are false except ne", () => {
    const n = tensor([Number.NaN]);
    expect([eq, lt, le, gt, ge].map((f) => f(n, n).item())).toEqual([0, 0, 0, 0, 0]);
    expect(ne(n, n).item()).toBe(1);
  });
});

describe("where", () => {
  it("picks a where cond is non-zero and b elsewhere, broadcasting all three", () => {
    fc.assert(
      fc.property(
        arbBroadcastShapes().chain(([out, sc, sa]) =>
          fc.tuple(fc.constant(out), arbViewOf(sc, "float32", { kind: "mask" }), arbViewOf(sa, "float64"), arbViewOf(out.slice(1), "float32")),
        ),
        ([out, c, a, b]) => {
          const y = where(c.t, a.t, b.t);
          expect(y.shape).toEqual(out);
          expect(y.dtype).toBe("float64");
          const expected = allIndices(out).map((index) =>
            broadcastRead(c.ref, c.shape, index) !== 0 ? broadcastRead(a.ref, a.shape, index) : broadcastRead(b.ref, b.shape, index),
          );
          expectClose(y.toFlat(), expected);
        },
      ),
    );
  });

  it("treats NaN in the condition as true and accepts numbers", () => {
    expect(Array.from(where(tensor([1, 0, Number.NaN]), 5, -5).data)).toEqual([5, -5, 5]);
    expect(where(1, 2, 3).item()).toBe(2);
  });
});
