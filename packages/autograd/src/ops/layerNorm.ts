// layerNorm with its scale statistic as an input (s = std(x, { eps }), shape [..., 1]):
//   y = (x - mean x) / s * w + b
//   with g = dy * w:  dx = (g - mean g) / s          (s held fixed; std's own backward adds the rest)
//                     ds = -sum(g * (x - mean x)) / s^2
//                     dw = sum over rows of dy * (x - mean x) / s,  db = sum over rows of dy
// Passing s in, rather than computing it inside, is what lets a rule freeze it.
// The row kernels are @gim/tensor's layerNorm and layerNormBackward.
import * as T from "@gim/tensor";
import { formatShape, InputError } from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const layerNorm = defineOp({
  name: "layerNorm",
  inputs: ["x", "scale", "weight", "bias"],
  forward: ({ x, scale, weight, bias }) => {
    const d = x.shape[x.ndim - 1];
    if (scale.shape[scale.ndim - 1] !== 1 || weight.ndim !== 1 || weight.shape[0] !== d || bias.ndim !== 1 || bias.shape[0] !== d) {
      throw new InputError(
        `layerNorm: x ${formatShape(x.shape)} needs scale [..., 1], weight [${d}] and bias [${d}]; got ${formatShape(scale.shape)}, ${formatShape(weight.shape)}, ${formatShape(bias.shape)}`,
      );
    }
    return T.layerNorm(x, scale, weight, bias);
  },
  backward: ({ inputs: { x, scale, weight }, grad, needs }) => {
    const g = T.layerNormBackward(x, scale, weight, grad, needs);
    // ds comes per row: sum it where s was broadcast
    if (g.scale) g.scale = sumToShape(g.scale, scale.shape);
    return g;
  },
});
