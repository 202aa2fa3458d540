// pow: y = a^b (broadcasting); da = sum_to_a(dy * b * a^(b-1)), db = sum_to_b(dy * y * ln a)
// db is only defined for a > 0 (where ln a exists); it is 0 where a^b is 0 (a = 0, b > 0).
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const pow = defineOp({
  name: "pow",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.pow(a, b),
  backward: ({ inputs: { a, b }, output, grad, needs }) => ({
    a: needs.a ? sumToShape(T.mul(grad, T.mul(b, T.pow(a, T.sub(b, 1)))), a.shape) : undefined,
    b: needs.b ? sumToShape(T.mul(grad, T.zipWith(output, a, (y, x) => (y === 0 ? 0 : y * Math.log(x)))), b.shape) : undefined,
  }),
});
