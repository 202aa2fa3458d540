// linear: y = x @ W^T  (x [..., in], W [out, in] as in torch.nn.Linear, y [..., out])
//   dx = dy @ W,  dW = dy^T @ x  (with the leading dims of x and dy flattened into rows)
// Add a bias with `add`; GPT-2's Conv1D ([in, out] weights) is `linear(x, transpose(W))`.
import * as T from "@gim/tensor";
import { formatShape, InputError } from "@gim/tensor";
import { defineOp } from "../op.js";

export const linear = defineOp({
  name: "linear",
  inputs: ["x", "weight"],
  forward: ({ x, weight }) => {
    if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
      throw new InputError(`linear: input of shape ${formatShape(x.shape)} does not fit a weight of shape ${formatShape(weight.shape)} ([out, in])`);
    }
    return T.matmul(x, T.transpose(weight));
  },
  backward: ({ inputs: { x, weight }, grad, needs }) => {
    const rows = (t: T.Tensor) => T.reshape(t, [-1, t.shape[t.ndim - 1]!], { copy: true }); // [N, features]
    return {
      x: needs.x ? T.matmul(grad, weight) : undefined,
      weight: needs.weight ? T.matmul(T.transpose(rows(grad)), rows(x)) : undefined,
    };
  },
});
