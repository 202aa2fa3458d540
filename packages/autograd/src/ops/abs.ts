// abs: y = |x|; dx = dy * sign(x)   (0 at x = 0, the subgradient PyTorch and JAX use)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const abs = defineOp({
  name: "abs",
  inputs: ["x"],
  forward: ({ x }) => T.abs(x),
  backward: ({ inputs: { x }, grad }) => ({ x: T.mul(grad, T.sign(x)) }),
});
