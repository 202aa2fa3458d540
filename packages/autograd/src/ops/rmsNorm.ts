// rmsNorm with its scale statistic as an input (r = rms(x, { eps }), shape [..., 1]):
//   y = x / r * w
//   dx = dy * w / r        (r held fixed; rms's own backward adds the rest)
//   dr = -sum(dy * w * x) / r^2,   dw = sum over rows of dy * x / r
// The row kernels are @gim/tensor's rmsNorm and rmsNormBackward.
import * as T from "@gim/tensor";
import { formatShape, InputError } from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const rmsNorm = defineOp({
  name: "rmsNorm",
  inputs: ["x", "scale", "weight"],
  forward: ({ x, scale, weight }) => {
    const d = x.shape[x.ndim - 1];
    if (scale.shape[scale.ndim - 1] !== 1 || weight.ndim !== 1 || weight.shape[0] !== d) {
      throw new InputError(`rmsNorm: x ${formatShape(x.shape)} needs scale [..., 1] and weight [${d}]; got ${formatShape(scale.shape)}, ${formatShape(weight.shape)}`);
    }
    return T.rmsNorm(x, scale, weight);
  },
  backward: ({ inputs: { x, scale, weight }, grad, needs }) => {
    const g = T.rmsNormBackward(x, scale, weight, grad, needs);
    // dr comes per row: sum it where r was broadcast
    if (g.scale) g.scale = sumToShape(g.scale, scale.shape);
    return g; // dr per row, summed where r was broadcast
  },
});
