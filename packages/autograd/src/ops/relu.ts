// relu: y = max(x, 0); dx = dy * [x > 0]
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const relu = defineOp({
  name: "relu",
  inputs: ["x"],
  forward: ({ x }) => T.relu(x),
  backward: ({ inputs: { x }, grad }) => ({ x: T.zipWith(grad, x, (g, v) => (v > 0 ? g : 0)) }),
});
