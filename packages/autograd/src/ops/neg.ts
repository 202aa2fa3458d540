// neg: y = -x; dx = -dy
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const neg = defineOp({
  name: "neg",
  inputs: ["x"],
  forward: ({ x }) => T.neg(x),
  backward: ({ grad }) => ({ x: T.neg(grad) }),
});
