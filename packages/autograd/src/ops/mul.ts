// mul: y = a * b (broadcasting); da = sum_to_a(dy * b), db = sum_to_b(dy * a)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const mul = defineOp({
  name: "mul",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.mul(a, b),
  backward: ({ inputs: { a, b }, grad, needs }) => ({
    a: needs.a ? sumToShape(T.mul(grad, b), a.shape) : undefined,
    b: needs.b ? sumToShape(T.mul(grad, a), b.shape) : undefined,
  }),
});
