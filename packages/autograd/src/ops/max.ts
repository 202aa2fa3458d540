// max over axes: y = max_i x_i; dx_i = dy * [x_i = y] / (number of i with x_i = y)
// (ties share the gradient evenly, so the gradient sums to dy as for a unique maximum)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { keptShape, type ReduceAttrs } from "./_reduce.js";

export const max = defineOp({
  name: "max",
  inputs: ["x"],
  forward: ({ x }, { axes, keepdims }: ReduceAttrs) => T.max(x, axes, { keepdims }),
  backward: ({ inputs: { x }, output, attrs, grad }) => {
    const isMax = T.eq(x, keptShape(output, x, attrs));
    const ties = T.sum(isMax, attrs.axes, { keepdims: true });
    return { x: T.mul(isMax, T.div(keptShape(grad, x, attrs), ties)) };
  },
});
