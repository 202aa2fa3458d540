// sigmoid: y = 1 / (1 + e^-x); dx = dy * y * (1 - y)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const sigmoid = defineOp({
  name: "sigmoid",
  inputs: ["x"],
  forward: ({ x }) => T.sigmoid(x),
  backward: ({ output, grad }) => ({ x: T.zipWith(grad, output, (g, y) => g * y * (1 - y)) }),
});
