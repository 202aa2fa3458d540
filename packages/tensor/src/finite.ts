/**
 * Finding NaN and ±Infinity in a tensor. A scan is one pass over the elements (cheap next to
 * the op that produced them), so results can be checked before they are reported, and the
 * first bad element named.
 */
import { forEachIndex, type Tensor } from "./tensor.js";

/** The first non-finite element of a tensor (row-major order): its flat index and value. */
export interface NonFiniteElement {
  readonly index: number;
  readonly value: number;
}

/** The first NaN or ±Infinity in `t`, in row-major order; undefined when every element is finite. */
export function firstNonFinite(t: Tensor): NonFiniteElement | undefined {
  const data = t.data;
  if (t.isContiguous()) {
    // x - x is 0 for a finite x and NaN for NaN and ±Infinity: one comparison per element.
    for (let i = 0; i < t.size; i++) {
      const v = data[t.offset + i]!;
      if (v - v !== 0) return { index: i, value: v };
    }
    return undefined;
  }
  let found: NonFiniteElement | undefined;
  forEachIndex(t, (s, i) => {
    const v = data[s]!;
    if (found === undefined && v - v !== 0) found = { index: i, value: v };
  });
  return found;
}

/** Whether every element of `t` is finite (no NaN, no ±Infinity). */
export function allFinite(t: Tensor): boolean {
  return firstNonFinite(t) === undefined;
}

/** `NaN`, `Infinity` or `-Infinity`: a non-finite value as messages name it. */
export function describeNonFinite(value: number): string {
  return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
}
