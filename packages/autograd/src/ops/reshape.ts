// reshape: y = x with a new shape (a view when strides allow, else a copy); dx = reshape(dy, x.shape)
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import type { Var } from "../var.js";

export interface ReshapeAttrs {
  /** The new shape; one dim may be -1. */
  shape: readonly number[];
}

export const reshape = defineOp({
  name: "reshape",
  inputs: ["x"],
  forward: ({ x }, { shape }: ReshapeAttrs) => T.reshape(x, shape, { copy: true }),
  backward: ({ inputs: { x }, grad }) => ({ x: T.reshape(grad, x.shape, { copy: true }) }),
});

/** Inserts a size-1 axis (a reshape). */
export function unsqueeze(x: Var, axis: number): Var {
  const shape = [...x.shape];
  shape.splice(T.normalizeAxis(axis, x.ndim + 1, x.shape), 0, 1);
  return reshape(x, { shape });
}

/** Removes a size-1 axis, or all of them (a reshape). */
export function squeeze(x: Var, axis?: number): Var {
  if (axis === undefined) return reshape(x, { shape: x.shape.filter((d) => d !== 1) });
  return reshape(x, { shape: T.squeeze(x.value, axis).shape });
}

/** Flattens axes `start..end` (inclusive) into one (a reshape). */
export function flatten(x: Var, start = 0, end = -1): Var {
  const s = T.normalizeAxis(start, x.ndim, x.shape);
  const e = T.normalizeAxis(end, x.ndim, x.shape);
  const merged = T.sizeOf(x.shape.slice(s, e + 1));
  return reshape(x, { shape: [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)] });
}
