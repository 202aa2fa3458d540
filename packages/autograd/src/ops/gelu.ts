// gelu, exact or with the tanh approximation (GPT-2's "gelu_new"):
//   exact: y = x Phi(x),                 dx = dy * (Phi(x) + x phi(x))
//   tanh:  y = x/2 (1 + tanh u), u = c (x + 0.044715 x^3), c = sqrt(2/pi)
//          dx = dy * (1/2 (1 + tanh u) + x/2 (1 - tanh^2 u) c (1 + 3 * 0.044715 x^2))
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export interface GeluAttrs {
  /** "tanh" (default; GPT-2's gelu_new) or "none" (exact, with erf). */
  approximate?: "tanh" | "none";
}

const C = Math.sqrt(2 / Math.PI);
const K = 0.044715;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const gelu = defineOp({
  name: "gelu",
  inputs: ["x"],
  forward: ({ x }, { approximate = "tanh" }: GeluAttrs) =>
    approximate === "tanh"
      ? T.map(x, (v) => 0.5 * v * (1 + Math.tanh(C * (v + K * v * v * v))))
      : T.map(x, (v) => 0.5 * v * (1 + T.erfScalar(v * INV_SQRT2))),
  backward: ({ inputs: { x }, attrs: { approximate = "tanh" }, grad }) => ({
    x: T.zipWith(grad, x, (g, v) => {
      if (approximate === "tanh") {
        const t = Math.tanh(C * (v + K * v * v * v));
        return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * K * v * v));
      }
      return g * (0.5 * (1 + T.erfScalar(v * INV_SQRT2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
    }),
  }),
});
