/** gradcheck itself: it passes right backwards and catches wrong ones, including subtle ones. */
import * as T from "@gim/tensor";
import { describe, expect, it } from "vitest";
import {
  assertGradcheck, defineOp, variable, exp, gradcheck, matmul, mul, rule, softmax, sum, tag, tanh, type Var,
} from "../src/index.js";

const f64 = (shape: number[], seed: number) => T.randNormal(shape, { seed, dtype: "float64" });

// y = 2x with a backward that ignores the upstream gradient: right only for an all-ones seed.
const doubleIgnoringGrad = defineOp({
  name: "doubleIgnoringGrad",
  inputs: ["x"],
  forward: ({ x }) => T.mul(x, 2),
  backward: ({ inputs: { x } }) => ({ x: T.fullLike(x, 2) }),
});

// y = x^2 summed to a scalar, whose backward forgets the (scalar) upstream gradient.
const sumSquaresIgnoringGrad = defineOp({
  name: "sumSquaresIgnoringGrad",
  inputs: ["x"],
  forward: ({ x }) => T.sum(T.square(x)),
  backward: ({ inputs: { x } }) => ({ x: T.mul(x, 2) }),
});

// y = x * b with a backward whose b-gradient misses the broadcast sum for b of shape [1, n].
const mulNoBroadcastSum = defineOp({
  name: "mulNoBroadcastSum",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.mul(a, b),
  backward: ({ inputs: { a, b }, grad }) => ({ a: T.mul(grad, b), b: T.narrow(T.mul(grad, a), 0, 0, 1) }),
});

describe("gradcheck", () => {
  it("passes correct backwards and reports the errors it measured", () => {
    const report = gradcheck((x, w) => softmax(matmul(x, w)), [f64([3, 4], 1), f64([4, 5], 2)]);
    expect(report.ok).toBe(true);
    expect(report.failures).toEqual([]);
    expect(report.maxAbsError).toBeLessThan(1e-8);
    expect(report.dotProduct.ok).toBe(true);
    expect(report.dotProduct.directions).toHaveLength(3);
    expect(report.inputs.map((s) => s.checked)).toEqual([12, 20]);
    expect(report.outputShape).toEqual([3, 5]);
    expect(report.format()).toMatch(/^gradcheck passed/);
  });

  it("catches a backward that is only right for an all-ones upstream gradient (non-scalar output)", () => {
    const x = f64([4, 3], 3);
    const report = gradcheck((v) => doubleIgnoringGrad(v), [x]);
    expect(report.ok).toBe(false);
    expect(report.failureCount).toBeGreaterThan(0);
    expect(report.dotProduct.ok).toBe(false);
  });

  it("catches a backward that ignores a scalar upstream gradient (the scalar seed is random too)", () => {
    expect(gradcheck((v) => sumSquaresIgnoringGrad(v), [f64([5], 4)]).ok).toBe(false);
  });

  it("catches a missing broadcast sum and points at the input and element", () => {
    const report = gradcheck((a, b) => mulNoBroadcastSum(a, b), [f64([3, 2], 5), f64([1, 2], 6)]);
    expect(report.ok).toBe(false);
    expect(report.failures.every((f) => f.input === 1)).toBe(true);
    expect(report.failures[0]!.index).toHaveLength(2);
    const text = report.format();
    expect(text).toMatch(/^gradcheck FAILED/);
    expect(text).toMatch(/input 1 \[1, 2\] at \[0, \d\]: analytic .*, numeric /);
  });

  it("refuses float32 inputs and says why", () => {
    expect(() => gradcheck((x) => tanh(x), [T.randNormal([3])])).toThrow(/input 0 .*float32.*float64.*rounding/);
  });

  it("refuses an fn with a float32 output, and non-finite values", () => {
    expect(() => gradcheck(() => variable(T.ones([2])), [f64([2], 1)])).toThrow(/float32 output.*float64/);
    expect(() => gradcheck((x) => exp(mul(x, 1000)), [T.full([2], 1, { dtype: "float64" })])).toThrow(/non-finite/);
    expect(() => gradcheck((x) => x, [T.tensor([Number.NaN], { dtype: "float64" })])).toThrow(/input 0 has a non-finite value/);
  });

  it("samples large inputs (maxElements) and still checks all of them with the dot-product test", () => {
    const report = gradcheck((x) => sum(tanh(x)), [f64([20, 30], 7)], { maxElements: 50 });
    expect(report.ok).toBe(true);
    expect(report.inputs[0]).toEqual({ shape: [20, 30], checked: 50, sampled: true });
    // A wrong backward on one element outside any sample is still caught by the directions.
    const broken = defineOp({
      name: "brokenAtOne",
      inputs: ["x"],
      forward: ({ x }) => T.tanh(x),
      backward: ({ output, grad }) => {
        const g = T.zipWith(grad, output, (d, y) => d * (1 - y * y));
        g.data[599] = g.data[599]! + 5; // wrong at the last element only
        return { x: g };
      },
    });
    const sampled = gradcheck((x) => broken(x), [f64([20, 30], 7)], { maxElements: 5, seed: 1 });
    expect(sampled.dotProduct.ok).toBe(false);
    expect(sampled.ok).toBe(false);
  });

  it("checks rules: an exact replacement passes, a rule that changes the gradient fails", () => {
    const exactTanh = rule("exactTanh", { op: "tanh" }, ({ output, grad }) => ({ x: T.mul(grad, T.sub(1, T.square(output))) }));
    const halfTanh = rule("halfTanh", { tag: "t" }, (_ctx, defaultBackward) => ({ x: T.mul(defaultBackward().x!, 0.5) }));
    const fn = (x: Var) => tag(tanh(x), "t");
    expect(gradcheck(fn, [f64([3, 3], 8)], { rules: [exactTanh] }).ok).toBe(true);
    const report = gradcheck(fn, [f64([3, 3], 8)], { rules: [halfTanh] });
    expect(report.ok).toBe(false);
    // The numeric side is the true derivative: analytic is half of it everywhere.
    for (const f of report.failures) expect(f.analytic).toBeCloseTo(f.numeric / 2, 6);
    expect(report.format()).toMatch(/rules: halfTanh/);
  });

  it("works on non-contiguous and broadcast (stride-0) inputs", () => {
    const base = f64([4, 3], 9);
    const transposed = T.transpose(base); // [3, 4]
    const reversed = T.slice(f64([7, 2], 10), 0, undefined, undefined, -2); // [4, 2]
    const expanded = T.expand(f64([1, 4], 11), [2, 4]);
    expect(transposed.isContiguous() || reversed.isContiguous()).toBe(false);
    expect(gradcheck((a, b) => matmul(mul(a, a), mul(tanh(b), 1.5)), [transposed, reversed]).ok).toBe(true);
    expect(gradcheck((c) => softmax(mul(c, c)), [expanded]).ok).toBe(true);
    // The perturbed copies keep the layout, so the caller's tensors are untouched.
    expect(T.contiguousData(base)).toEqual(T.contiguousData(f64([4, 3], 9)));
  });

  it("handles 0-d inputs and outputs", () => {
    expect(gradcheck((a, b) => mul(tanh(a), b), [T.scalar(0.3, { dtype: "float64" }), T.scalar(-1.2, { dtype: "float64" })]).ok).toBe(true);
  });

  it("assertGradcheck throws an Error carrying the readable report", () => {
    expect(() => assertGradcheck((v) => doubleIgnoringGrad(v), [f64([2, 2], 12)])).toThrow(/gradcheck FAILED[\s\S]*dot-product test/);
    expect(assertGradcheck((v) => tanh(v), [f64([2, 2], 12)]).ok).toBe(true);
  });

  it("is deterministic for a seed", () => {
    const a = gradcheck((v) => doubleIgnoringGrad(v), [f64([3], 13)], { seed: 5 });
    const b = gradcheck((v) => doubleIgnoringGrad(v), [f64([3], 13)], { seed: 5 });
    expect(a.failures).toEqual(b.failures);
  });
});
