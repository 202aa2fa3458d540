// where: y = cond ? a : b (broadcasting; cond is a constant, true where non-zero)
//   da = sum_to_a(dy * [cond]), db = sum_to_b(dy * [!cond]); cond gets no gradient
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const where = defineOp({
  name: "where",
  inputs: ["cond", "a", "b"],
  forward: ({ cond, a, b }) => T.where(cond, a, b),
  backward: ({ inputs: { cond, a, b }, grad, needs }) => ({
    a: needs.a ? sumToShape(T.where(cond, grad, 0), a.shape) : undefined,
    b: needs.b ? sumToShape(T.where(cond, 0, grad), b.shape) : undefined,
  }),
});
