// maximum: y = max(a, b) (broadcasting); the gradient goes to the larger input, split evenly on ties:
//   da = sum_to_a(dy * [a > b] + dy/2 * [a = b]), db = sum_to_b(dy * [b > a] + dy/2 * [a = b])
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

const share = (x: number, y: number): number => (x > y ? 1 : x === y ? 0.5 : 0);

export const maximum = defineOp({
  name: "maximum",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.maximum(a, b),
  backward: ({ inputs: { a, b }, grad, needs }) => ({
    a: needs.a ? sumToShape(T.mul(grad, T.zipWith(a, b, share)), a.shape) : undefined,
    b: needs.b ? sumToShape(T.mul(grad, T.zipWith(b, a, share)), b.shape) : undefined,
  }),
});
