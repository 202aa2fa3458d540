// silu (swish): y = x sigmoid(x);  dx = dy * sigmoid(x) (1 + x (1 - sigmoid(x)))
// The kernels (SIMD for float32) are @gim/tensor's silu and siluBackward.
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const silu = defineOp({
  name: "silu",
  inputs: ["x"],
  forward: ({ x }) => T.silu(x),
  backward: ({ inputs: { x }, grad }) => ({ x: T.siluBackward(x, grad) }),
});
