// tanh: y = tanh x; dx = dy * (1 - y^2)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const tanh = defineOp({
  name: "tanh",
  inputs: ["x"],
  forward: ({ x }) => T.tanh(x),
  backward: ({ output, grad }) => ({ x: T.zipWith(grad, output, (g, y) => g * (1 - y * y)) }),
});
