/**
 * The LayerNorm and RMSNorm row kernels against their definitions written with broadcast ops,
 * on random views, in both dtypes; the backward kernels against the same gradients written
 * with broadcast ops (the form the autograd ops had before the kernels).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  add, div, layerNorm, layerNormBackward, mean, mul, neg, randNormal, rms, rmsBackward, rmsNorm, rmsNormBackward, sqrt, square, std,
  stdBackward, sub, sum, tensor, type Tensor,
} from "../src/index.js";
import { arbViewOf, expectClose, tolFor } from "./arbitraries.js";

const rowMean = (t: Tensor): Tensor => mean(t, -1, { keepdims: true });
const rowSum = (t: Tensor): Tensor => sum(t, -1, { keepdims: true });
/** Sum over every axis but the last: the gradient of a [d] vector broadcast over rows. */
const overRows = (t: Tensor): Tensor => sum(t, t.shape.slice(0, -1).map((_, i) => i));

const arbCase = fc
  .record({ lead: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 }), d: fc.integer({ min: 1, max: 9 }), dtype: fc.constantFrom("float32" as const, "float64" as const) })
  .chain(({ lead, d, dtype }) => fc.tuple(arbViewOf([...lead, d], dtype), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0, 1e-5)));

describe("norm kernels", () => {
  it("agree with the definitions written with broadcast ops, forward and backward", () => {
    fc.assert(
      fc.property(arbCase, ([c, seed, eps]) => {
        const x = c.t;
        const d = x.shape[x.ndim - 1]!;
        const tol = { ...tolFor(x.dtype), atol: x.dtype === "float32" ? 1e-4 : 1e-10 };
        const w = randNormal([d], { seed, dtype: x.dtype });
        const b = randNormal([d], { seed: seed + 1, dtype: x.dtype });
        const dy = randNormal(x.shape, { seed: seed + 2, dtype: x.dtype });
        const centered = sub(x, rowMean(x));
        const s = std(x, eps);
        expectClose(s.toFlat(), sqrt(add(rowMean(square(centered)), eps)).toFlat(), tol, "std");
        const r = rms(x, eps);
        expectClose(r.toFlat(), sqrt(add(rowMean(square(x)), eps)).toFlat(), tol, "rms");
        const ds = randNormal(s.shape, { seed: seed + 3, dtype: x.dtype });
        expectClose(stdBackward(x, s, ds).toFlat(), mul(centered, div(ds, mul(s, d))).toFlat(), tol, "std'");
        expectClose(rmsBackward(x, r, ds).toFlat(), mul(x, div(ds, mul(r, d))).toFlat(), tol, "rms'");
        // A positive scale away from zero keeps the comparison well conditioned.
        const scale = add(s, 0.5);
        expectClose(layerNorm(x, scale, w, b).toFlat(), add(mul(div(centered, scale), w), b).toFlat(), tol, "layerNorm");
        expectClose(rmsNorm(x, scale, w).toFlat(), mul(div(x, scale), w).toFlat(), tol, "rmsNorm");
        const g = mul(dy, w);
        const ln = layerNormBackward(x, scale, w, dy, { x: true, scale: true, weight: true, bias: true });
        expectClose(ln.x!.toFlat(), div(sub(g, rowMean(g)), scale).toFlat(), tol, "layerNorm dx");
        expectClose(ln.scale!.toFlat(), neg(div(rowSum(mul(g, centered)), square(scale))).toFlat(), tol, "layerNorm ds");
        expectClose(ln.weight!.toFlat(), overRows(mul(dy, div(centered, scale))).toFlat(), tol, "layerNorm dw");
        expectClose(ln.bias!.toFlat(), overRows(dy).toFlat(), tol, "layerNorm db");
        const rn = rmsNormBackward(x, scale, w, dy, { x: true, scale: true, weight: false });
        expect(Object.keys(rn).sort()).toEqual(["scale", "x"]);
        expectClose(rn.x!.toFlat(), div(g, scale).toFlat(), tol, "rmsNorm dx");
        expectClose(rn.scale!.toFlat(), neg(div(rowSum(mul(g, x)), square(scale))).toFlat(), tol, "rmsNorm ds");
      }),
      { numRuns: 60 },
    );
  });

  it("reads a scale that broadcasts to the rows, and names shapes that do not fit", () => {
    const x = tensor([[1, 2, 3], [4, 6, 8]]);
    const one = tensor([1, 1, 1]);
    expect(layerNorm(x, tensor([2]), one, tensor([0, 0, 0])).toArray()).toEqual([[-0.5, 0, 0.5], [-1, 0, 1]]);
    expect(() => layerNorm(x, tensor([[1], [2], [3]]), one, one)).toThrow("layerNorm: a statistic of shape [3, 1] does not broadcast to the rows of x [2, 3]");
    expect(() => rmsNorm(x, tensor([1]), tensor([1, 1]))).toThrow("rmsNorm: x has rows of 3, so weight must be [3], got [2]");
  });
});
