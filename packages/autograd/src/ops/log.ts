// log: y = ln x; dx = dy / x
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const log = defineOp({
  name: "log",
  inputs: ["x"],
  forward: ({ x }) => T.log(x),
  backward: ({ inputs: { x }, grad }) => ({ x: T.div(grad, x) }),
});
