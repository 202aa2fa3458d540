// logSoftmax over the last axis: y = x - logsumexp(x); dx = dy - softmax(x) * sum(dy)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export const logSoftmax = defineOp({
  name: "logSoftmax",
  inputs: ["x"],
  forward: ({ x }) => T.sub(x, T.logsumexp(x, -1, { keepdims: true })),
  backward: ({ output, grad }) => ({
    x: T.sub(grad, T.mul(T.exp(output), T.sum(grad, -1, { keepdims: true }))),
  }),
});
