// matmul: y = a @ b  ([..., m, k] @ [..., k, n] -> [..., m, n], batch dims broadcast; a 1-d
// operand is a row on the left or a column on the right)
//   da = dy @ b^T, db = a^T @ dy   (each summed over the batch dims its operand was broadcast along)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export const matmul = defineOp({
  name: "matmul",
  inputs: ["a", "b"],
  forward: ({ a, b }) => T.matmul(a, b),
  backward: ({ inputs: { a, b }, grad, needs }) => {
    // Work with 2-d-or-more operands, as the forward did.
    const A = a.ndim === 1 ? T.unsqueeze(a, 0) : a; // [..., m, k]
    const B = b.ndim === 1 ? T.unsqueeze(b, 1) : b; // [..., k, n]
    let G = grad;
    if (a.ndim === 1) G = T.unsqueeze(G, G.ndim - (b.ndim === 1 ? 0 : 1)); // [..., 1, n]
    if (b.ndim === 1) G = T.unsqueeze(G, G.ndim); // [..., m, 1]
    return {
      a: needs.a ? T.reshape(sumToShape(T.matmul(G, T.transpose(B)), A.shape), a.shape) : undefined,
      b: needs.b ? T.reshape(sumToShape(T.matmul(T.transpose(A), G), B.shape), b.shape) : undefined,
    };
  },
});
