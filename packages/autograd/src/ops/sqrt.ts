// sqrt: y = sqrt(x); dx = dy / (2 y)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const sqrt = defineOp({
  name: "sqrt",
  inputs: ["x"],
  forward: ({ x }) => T.sqrt(x),
  backward: ({ output, grad }) => ({ x: T.div(grad, T.mul(output, 2)) }),
});
