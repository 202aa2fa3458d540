// expand: y = x broadcast to a larger shape (size-1 dims repeated, a view); dx = sum of dy over the repeats
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import { sumToShape } from "./_broadcast.js";

export interface ExpandAttrs {
  shape: readonly number[];
}

export const expand = defineOp({
  name: "expand",
  inputs: ["x"],
  forward: ({ x }, { shape }: ExpandAttrs) => T.expand(x, shape),
  backward: ({ inputs: { x }, grad }) => ({ x: sumToShape(grad, x.shape) }),
});
