// std over the last axis (the LayerNorm scale statistic), kept as size 1:
//   s = sqrt(mean((x - mean x)^2) + eps);  dx = dy * (x - mean x) / (n s)
// It is its own op so that a rule can freeze it (GIM: s is a constant in backward).
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export interface StdAttrs {
  /** Added to the variance before the square root (LayerNorm's epsilon). */
  eps?: number;
}

export const std = defineOp({
  name: "std",
  inputs: ["x"],
  forward: ({ x }, { eps = 0 }: StdAttrs) => {
    const centered = T.sub(x, T.mean(x, -1, { keepdims: true }));
    return T.sqrt(T.add(T.mean(T.square(centered), -1, { keepdims: true }), eps)); // [..., 1]
  },
  backward: ({ inputs: { x }, output: s, grad }) => {
    const n = x.shape[x.ndim - 1]!;
    const centered = T.sub(x, T.mean(x, -1, { keepdims: true }));
    return { x: T.mul(centered, T.div(grad, T.mul(s, n))) };
  },
});
