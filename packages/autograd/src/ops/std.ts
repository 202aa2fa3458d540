// std over the last axis (the LayerNorm scale statistic), kept as size 1:
//   s = sqrt(mean((x - mean x)^2) + eps);  dx = dy * (x - mean x) / (n s)
// It is its own op so that a rule can freeze it (GIM: s is a constant in backward).
// The row kernels are @gim/tensor's std and stdBackward.
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export interface StdAttrs {
  /** Added to the variance before the square root (LayerNorm's epsilon). */
  eps?: number;
}

export const std = defineOp({
  name: "std",
  inputs: ["x"],
  forward: ({ x }, { eps = 0 }: StdAttrs) => T.std(x, eps), // [..., 1]
  backward: ({ inputs: { x }, output: s, grad }) => ({ x: T.stdBackward(x, s, grad) }),
});
