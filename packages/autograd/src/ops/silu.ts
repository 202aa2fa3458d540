// silu (swish): y = x sigmoid(x);  dx = dy * sigmoid(x) (1 + x (1 - sigmoid(x)))
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export const silu = defineOp({
  name: "silu",
  inputs: ["x"],
  forward: ({ x }) => T.map(x, (v) => v * sigmoid(v)),
  backward: ({ inputs: { x }, grad }) => ({
    x: T.zipWith(grad, x, (g, v) => {
      const s = sigmoid(v);
      return g * s * (1 + v * (1 - s));
    }),
  }),
});
