// div: y = a / b (broadcasting); da = sum_to_a(dy / b), db = -sum_to_b(dy * a / b^2) = -sum_to_b(dy * y / b)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const div = defineOp({
  name: "div",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.div(a, b),
  backward: ({ inputs: { a, b }, output, grad, needs }) => ({
    a: needs.a ? sumToShape(T.div(grad, b), a.shape) : undefined,
    b: needs.b ? T.neg(sumToShape(T.div(T.mul(grad, output), b), b.shape)) : undefined,
  }),
});
