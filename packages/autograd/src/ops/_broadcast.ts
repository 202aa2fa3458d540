/** Shared by the backward of broadcasting ops: undo a broadcast by summing. */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";

/**
 * Sums `g` (of a broadcast shape) down to `shape`: over the leading dims `shape` lacks and
 * over dims where `shape` has size 1. The gradient of a broadcast is this sum.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (T.sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return T.reshape(T.sum(g, axes, { keepdims: true }), shape, { copy: true });
}
