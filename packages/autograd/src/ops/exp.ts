// exp: y = e^x; dx = dy * y
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const exp = defineOp({
  name: "exp",
  inputs: ["x"],
  forward: ({ x }) => T.exp(x),
  backward: ({ output, grad }) => ({ x: T.mul(grad, output) }),
});
