// sum over axes: y = sum_i x_i; dx = dy broadcast back over the reduced axes
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { keptShape, type ReduceAttrs } from "./_reduce.js";

export const sum = defineOp({
  name: "sum",
  inputs: ["x"],
  forward: ({ x }, { axes, keepdims }: ReduceAttrs) => T.sum(x, axes, { keepdims }),
  backward: ({ inputs: { x }, attrs, grad }) => ({ x: T.expand(keptShape(grad, x, attrs), x.shape) }),
});
