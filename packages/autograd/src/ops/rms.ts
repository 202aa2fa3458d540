// rms over the last axis (the RMSNorm scale statistic), kept as size 1:
//   r = sqrt(mean(x^2) + eps);  dx = dy * x / (n r)
// It is its own op so that a rule can freeze it (GIM: r is a constant in backward).
// The row kernels are @gim/tensor's rms and rmsBackward.
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export interface RmsAttrs {
  /** Added to the mean square before the square root (RMSNorm's epsilon). */
  eps?: number;
}

export const rms = defineOp({
  name: "rms",
  inputs: ["x"],
  forward: ({ x }, { eps = 0 }: RmsAttrs) => T.rms(x, eps), // [..., 1]
  backward: ({ inputs: { x }, output: r, grad }) => ({ x: T.rmsBackward(x, r, grad) }),
});
