// rsqrt: y = 1 / sqrt(x); dx = -dy * y^3 / 2
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const rsqrt = defineOp({
  name: "rsqrt",
  inputs: ["x"],
  forward: ({ x }) => T.rsqrt(x),
  backward: ({ output, grad }) => ({ x: T.zipWith(grad, output, (g, y) => -0.5 * g * y * y * y) }),
});
