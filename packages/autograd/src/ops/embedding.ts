// embedding: y[t] = weight[ids[t]]  (weight [vocab, d], y [T, d]); dweight = rows of dy added at ids
import * as T from "@gim/tensor";
import { formatShape, InputError } from "@gim/tensor";
import { defineOp } from "../op.js";

export interface EmbeddingAttrs {
  /** Token ids, each in [0, vocab). */
  ids: ArrayLike<number>;
}

export const embedding = defineOp({
  name: "embedding",
  inputs: ["weight"],
  forward: ({ weight }, { ids }: EmbeddingAttrs) => {
    if (weight.ndim !== 2) throw new InputError(`embedding weight must be [vocab, dim], got ${formatShape(weight.shape)}`);
    return T.indexSelect(weight, 0, ids); // [T, d]
  },
  backward: ({ inputs: { weight }, attrs: { ids }, grad }) => ({ weight: T.indexAdd(weight.shape, 0, ids, grad) }),
});
