// logsumexp over axes: y = log sum_i e^(x_i); dx_i = dy * e^(x_i - y) = dy * softmax(x)_i
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { keptShape, type ReduceAttrs } from "./_reduce.js";

export const logsumexp = defineOp({
  name: "logsumexp",
  inputs: ["x"],
  forward: ({ x }, { axes, keepdims }: ReduceAttrs) => T.logsumexp(x, axes, { keepdims }),
  backward: ({ inputs: { x }, output, attrs, grad }) => ({
    x: T.mul(keptShape(grad, x, attrs), T.exp(T.sub(x, keptShape(output, x, attrs)))),
  }),
});
