// indexSelect: y[.., i, ..] = x[.., ids[i], ..] along one axis;
//   dx = zeros with dy[.., i, ..] added at row ids[i] (repeated ids accumulate)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";

export interface IndexSelectAttrs {
  axis: number;
  ids: ArrayLike<number>;
}

export const indexSelect = defineOp({
  name: "indexSelect",
  inputs: ["x"],
  forward: ({ x }, { axis, ids }: IndexSelectAttrs) => T.indexSelect(x, axis, ids),
  backward: ({ inputs: { x }, attrs: { axis, ids }, grad }) => ({ x: T.indexAdd(x.shape, axis, ids, grad) }),
});
