// narrow: y = x[..., start : start + length, ...] along one axis (a view);
//   dx = dy padded with zeros to x's shape along that axis
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import type { Var } from "../var.js";

export interface NarrowAttrs {
  axis: number;
  start: number;
  length: number;
}

export const narrow = defineOp({
  name: "narrow",
  inputs: ["x"],
  forward: ({ x }, { axis, start, length }: NarrowAttrs) => T.narrow(x, axis, start, length),
  backward: ({ inputs: { x }, attrs: { axis, start, length }, grad }) => {
    const ax = T.normalizeAxis(axis, x.ndim);
    const first = start < 0 ? start + x.shape[ax]! : start; // as T.narrow reads a negative start
    return { x: T.pad(grad, ax, first, x.shape[ax]! - first - length) };
  },
});

/** Splits `x` along `axis` into pieces of the given sizes, or into `parts` equal pieces (narrows). */
export function split(x: Var, sizesOrParts: number | readonly number[], axis = -1): Var[] {
  const pieces = T.split(x.value, sizesOrParts, axis); // validates and gives the sizes
  const ax = T.normalizeAxis(axis, x.ndim, x.shape);
  let start = 0;
  return pieces.map((p) => {
    const length = p.shape[ax]!;
    const piece = narrow(x, { axis: ax, start, length });
    start += length;
    return piece;
  });
}
