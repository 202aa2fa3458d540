// softmax over the last axis, optionally causal (query i sees keys j <= i + keys - queries)
// and, within that, limited to a sliding window of the last `window` keys it may see:
//   y = exp(x - max x) / sum exp(x - max x)     over the visible keys (masked entries: y = 0)
//   dx = y * (dy - sum(dy * y))                 (masked entries: dx = 0, since y = 0 there)
// The row kernels are @gim/tensor's softmax and softmaxBackward.
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

/** The mask: `causal`, and within it a sliding `window` (see @gim/tensor's `SoftmaxMask`). */
export type SoftmaxAttrs = T.SoftmaxMask;

export const softmax = defineOp({
  name: "softmax",
  inputs: ["x"],
  forward: ({ x }, attrs: SoftmaxAttrs) => T.softmax(x, attrs),
  backward: ({ output, grad }) => ({ x: T.softmaxBackward(output, grad) }),
});
