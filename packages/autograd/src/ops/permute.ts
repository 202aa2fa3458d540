// permute: y = x with axes reordered (y.shape[i] = x.shape[axes[i]], a view); dx = permute(dy, inverse(axes))
import * as T from "@gim/tensor";
import { defineOp } from "../op.js";
import type { Var } from "../var.js";

export interface PermuteAttrs {
  axes: readonly number[];
}

export const permute = defineOp({
  name: "permute",
  inputs: ["x"],
  forward: ({ x }, { axes }: PermuteAttrs) => T.permute(x, axes),
  backward: ({ inputs: { x }, attrs: { axes }, grad }) => {
    const norm = axes.map((a) => T.normalizeAxis(a, x.ndim));
    return { x: T.permute(grad, norm.map((_, i) => norm.indexOf(i))) };
  },
});

/** Swaps two axes (the last two by default): a permute. */
export function transpose(x: Var, a = -2, b = -1): Var {
  const axes = Array.from({ length: x.ndim }, (_, i) => i);
  const i = T.normalizeAxis(a, x.ndim, x.shape);
  const j = T.normalizeAxis(b, x.ndim, x.shape);
  [axes[i], axes[j]] = [axes[j]!, axes[i]!];
  return permute(x, { axes });
}
