/** Shared by the reduction ops: attributes, and the kept-dims shape of an upstream gradient. */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";

export interface ReduceAttrs {
  /** Axes to reduce (all when omitted). */
  axes?: number | readonly number[];
  /** Keep reduced axes as size 1. */
  keepdims?: boolean;
}

/** Reshapes a reduction's upstream gradient (or output) to x's rank, with size 1 on reduced axes. */
export function keptShape(g: Tensor, x: Tensor, attrs: ReduceAttrs): Tensor {
  const reduced = T.normalizeAxes(attrs.axes, x.shape);
  return T.reshape(g, x.shape.map((d, i) => (reduced.includes(i) ? 1 : d)), { copy: true });
}
