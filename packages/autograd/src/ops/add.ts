// add: y = a + b (broadcasting); da = sum_to_a(dy), db = sum_to_b(dy)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const add = defineOp({
  name: "add",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.add(a, b),
  backward: ({ inputs: { a, b }, grad, needs }) => ({
    a: needs.a ? sumToShape(grad, a.shape) : undefined,
    b: needs.b ? sumToShape(grad, b.shape) : undefined,
  }),
});
