/** Locating NaN and Infinity: in a recorded forward (locateNonFinite) and in a backward (grad's checkFinite). */
import * as T from "@gim/tensor";
import { NonFiniteError } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { exp, grad, locateNonFinite, mul, noGrad, scaleGrad, scope, sqrt, sum, tanh, variable } from "../src/index.js";

const f64 = (values: number[]) => T.tensor(values, { dtype: "float64" });

describe("locateNonFinite", () => {
  it("is undefined for a finite result", () => {
    const x = variable(f64([1, 2]), "x");
    expect(locateNonFinite(sum(tanh(x)))).toBeUndefined();
  });

  it("names the first parameter, in the order the pass used them, that holds NaN or Infinity", () => {
    const a = variable(f64([1, NaN, 3]), "a");
    const b = variable(f64([Infinity, 1, 1]), "b");
    expect(locateNonFinite(sum(mul(tanh(a), b)))).toBe('parameter "a" holds NaN (element 1 of [3])');
    expect(locateNonFinite(sum(mul(tanh(b), a)))).toBe('parameter "b" holds Infinity (element 0 of [3])');
    expect(locateNonFinite(sum(variable(f64([1, -Infinity]))))).toBe("input 'x' [2] of sum holds -Infinity (element 1 of [2])");
    expect(locateNonFinite(variable(f64([NaN])))).toBe("an input [1] holds NaN (element 0 of [1])");
  });

  it("names the first op whose output is not finite although its inputs are (an overflow), with its module path", () => {
    const x = variable(f64([1, 800]), "x");
    const y = scope("h.0", () => scope("mlp", () => sum(tanh(exp(x)))));
    expect(locateNonFinite(y)).toBe("Infinity first appears in the output of exp at h.0.mlp (element 1 of [2]), whose inputs are finite");
    expect(locateNonFinite(sqrt(variable(f64([4, -1]))))).toBe("NaN first appears in the output of sqrt (element 1 of [2]), whose inputs are finite");
  });

  it("finds nothing to blame without a recorded graph, except the value itself", () => {
    const x = variable(f64([1, 800]), "x");
    expect(locateNonFinite(noGrad(() => exp(x)))).toBe("an input [2] holds Infinity (element 1 of [2])");
  });
});

describe("grad with checkFinite", () => {
  it("returns the same gradients as without it when they are finite", () => {
    const x = variable(f64([0.5, -1, 2]), "x");
    const y = sum(mul(tanh(x), x));
    expect(Array.from(grad(y, [x], { checkFinite: true })[0]!.data)).toEqual(Array.from(grad(y, [x])[0]!.data));
  });

  it("fails at the first backward that makes the gradient non-finite, naming the op, the rule and the input", () => {
    // sqrt(0) is finite, its derivative 1 / (2 sqrt(0)) is not.
    const x = variable(f64([0, 1]), "x");
    const y = sum(scope("attn", () => sqrt(mul(x, x))));
    expect(T.allFinite(grad(y, [x])[0]!)).toBe(false); // without the check: NaN, silently
    expect(() => grad(y, [x], { checkFinite: true })).toThrow(NonFiniteError);
    expect(() => grad(y, [x], { checkFinite: true })).toThrow(/^the gradients are not finite: the gradient first became Infinity in the backward of sqrt at attn \(the default backward\), for its input 'x' \(element 0 of \[2\]\)$/);
  });

  it("blames the rule that overflowed the gradient", () => {
    const x = variable(T.tensor([1, 2]), "x");
    const y = sum(tanh(x));
    const huge = scaleGrad("huge", 1e30, { op: "tanh" });
    const twice = [huge, scaleGrad("huge again", 1e30, { op: "sum" })];
    expect(() => grad(y, [x], { rules: twice, checkFinite: true })).toThrow(/the gradient first became Infinity in the backward of tanh \(rule 'huge'\), for its input 'x'/);
  });

  it("checks the seed and the sums where gradients meet", () => {
    const x = variable(T.tensor([1]), "x");
    expect(() => grad(tanh(x), [x], { seed: T.tensor([NaN]), checkFinite: true })).toThrow(/the seed \(dL\/dy\) holds NaN/);
    const big = variable(T.tensor([3e38]), "big");
    const y = sum(mul(big, big)); // d/dbig = big + big: each 3e38 is finite in float32, their sum is not
    expect(() => grad(y, [big], { checkFinite: true })).toThrow(/the gradient first became Infinity where the gradients into input 'b' of mul add up/);
  });
});
