// sub: y = a - b (broadcasting); da = sum_to_a(dy), db = -sum_to_b(dy)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const sub = defineOp({
  name: "sub",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.sub(a, b),
  backward: ({ inputs: { a, b }, grad, needs }) => ({
    a: needs.a ? sumToShape(grad, a.shape) : undefined,
    b: needs.b ? T.neg(sumToShape(grad, b.shape)) : undefined,
  }),
});
