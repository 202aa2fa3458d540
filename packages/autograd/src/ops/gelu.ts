// gelu, exact or with the tanh approximation (GPT-2's "gelu_new"):
//   exact: y = x Phi(x),                 dx = dy * (Phi(x) + x phi(x))
//   tanh:  y = x/2 (1 + tanh u), u = c (x + 0.044715 x^3), c = sqrt(2/pi)
//          dx = dy * (1/2 (1 + tanh u) + x/2 (1 - tanh^2 u) c (1 + 3 * 0.044715 x^2))
// The kernels (SIMD for float32) are @gim/tensor's gelu and geluBackward.
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export interface GeluAttrs {
  /** "tanh" (default; GPT-2's gelu_new) or "none" (exact, with erf). */
  approximate?: T.GeluApproximation;
}

export const gelu = defineOp({
  name: "gelu",
  inputs: ["x"],
  forward: ({ x }, { approximate = "tanh" }: GeluAttrs) => T.gelu(x, approximate),
  backward: ({ inputs: { x }, attrs: { approximate = "tanh" }, grad }) => ({ x: T.geluBackward(x, grad, approximate) }),
});
