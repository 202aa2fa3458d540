import * as T from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { add, grad, matmul, mul, scaleGrad, scope, softmax, sum, tag, tanh, variable, layerNorm, std, rule } from "../src/index.js";

describe("smoke", () => {
  it("differentiates", () => {
    const x = variable(T.randNormal([3, 4], { seed: 1, dtype: "float64" }));
    const w = variable(T.randNormal([4, 2], { seed: 2, dtype: "float64" }));
    const y = scope("block", () => sum(mul(tanh(tag(matmul(x, w), "h")), 2)));
    const [dx, dw] = grad(y, [x, w]);
    expect(dx!.shape).toEqual([3, 4]);
    expect(dw!.shape).toEqual([4, 2]);
    const traced = grad(y, [x], { rules: [scaleGrad("half", 0.5, { tag: "h" })], trace: true });
    expect(T.sub(traced.grads[0]!, T.mul(dx!, 0.5)).toFlat().every((v) => Math.abs(v) < 1e-12)).toBe(true);
    expect(traced.trace.find((e) => e.rule === "half")?.path).toBe("block");
    const p = softmax(add(x, 1), { causal: false });
    expect(p.shape).toEqual([3, 4]);
    const ln = layerNorm(x, std(x, { eps: 1e-5 }), T.ones([4], { dtype: "float64" }), T.zeros([4], { dtype: "float64" }));
    expect(ln.shape).toEqual([3, 4]);
    const r = rule("t", { op: "softmax" }, ({ inputs, grad }) => ({ x: T.mul(grad, inputs.x) }));
    expect(r.matches({ op: "softmax", path: "", tags: [] })).toBe(true);
  });
});
