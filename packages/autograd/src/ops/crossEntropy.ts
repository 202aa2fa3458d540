// crossEntropy: mean over rows of -log softmax(logits)[target]  (logits [N, V], one target id per row)
//   L = (1/N) sum_i (logsumexp(x_i) - x_i[t_i]);  dx_i = dy * (softmax(x_i) - onehot(t_i)) / N
import * as T from "@gim/tensor";
import { formatShape, InputError } from "@gim/tensor";
import { defineOp } from "../op.js";

export interface CrossEntropyAttrs {
  /** The correct class of each row, in [0, V). */
  targets: ArrayLike<number>;
}

export const crossEntropy = defineOp({
  name: "crossEntropy",
  inputs: ["logits"],
  forward: ({ logits }, { targets }: CrossEntropyAttrs) => {
    const [n, v] = logits.shape as [number, number];
    if (logits.ndim !== 2 || targets.length !== n) {
      throw new InputError(`crossEntropy: logits must be [N, V] with N targets; got ${formatShape(logits.shape)} and ${targets.length} targets`);
    }
    const lse = T.logsumexp(logits, -1); // [N]
    let total = 0;
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= v) throw new InputError(`crossEntropy: target ${t} of row ${i} is out of range [0, ${v})`);
      total += lse.data[i]! - logits.get(i, t);
    }
    return T.scalar(total / n, { dtype: logits.dtype });
  },
  backward: ({ inputs: { logits }, attrs: { targets }, grad }) => {
    const [n, v] = logits.shape as [number, number];
    const probs = T.softmax(logits); // a fresh contiguous [N, V], ours to write
    for (let i = 0; i < n; i++) probs.data[i * v + targets[i]!]! -= 1;
    return { logits: T.mul(probs, grad.item() / n) };
  },
});
