// mean over axes: y = (1/n) sum_i x_i; dx = dy / n broadcast back over the reduced axes
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { keptShape, type ReduceAttrs } from "./_reduce.js";

export const mean = defineOp({
  name: "mean",
  inputs: ["x"],
  forward: ({ x }, { axes, keepdims }: ReduceAttrs) => T.mean(x, axes, { keepdims }),
  backward: ({ inputs: { x }, output, attrs, grad }) => {
    const n = x.size / Math.max(output.size, 1);
    return { x: T.expand(T.div(keptShape(grad, x, attrs), n), x.shape) };
  },
});
