/** Shape arithmetic shared by every kernel: sizes, strides, axes and broadcasting. */
import { InputError } from "./errors.js";

/** The size of each dimension of a tensor, outermost first (`[]` for a scalar). */
export type Shape = readonly number[];

/** `[2, 3]` as a string, for error messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Checks that every dimension is a non-negative integer. */
export function checkShape(shape: Shape, what = "shape"): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new InputError(`${what} ${formatShape(shape)} has a dimension that is not a non-negative integer`);
    }
  }
}

/** Turns a possibly negative axis into an index in `[0, ndim)`, or throws naming the shape. */
export function normalizeAxis(axis: number, ndim: number, shape?: Shape): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= ndim) {
    const of = shape ? ` of a tensor of shape ${formatShape(shape)}` : ` of a ${ndim}-d tensor`;
    throw new InputError(`axis ${axis} is out of range${of}`);
  }
  return a;
}

/** Normalizes a list of axes (undefined = all), sorted and without duplicates. */
export function normalizeAxes(axes: number | readonly number[] | undefined, shape: Shape): number[] {
  const ndim = shape.length;
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(a, ndim, shape));
  if (new Set(out).size !== out.length) {
    throw new InputError(`axes [${list.join(", ")}] repeat an axis of a tensor of shape ${formatShape(shape)}`);
  }
  return out.sort((x, y) => x - y);
}

/** NumPy broadcasting: align from the right; each pair of dims must be equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new InputError(`shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a tensor of `shape`/`strides` as if it had the broadcast shape `target` (0 on repeated dims). */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const n = target.length;
  if (shape.length > n) throw new InputError(`shape ${formatShape(shape)} cannot be broadcast to ${formatShape(target)}, which has fewer dims`);
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const ti = n - shape.length + i;
    const d = shape[i]!;
    if (d === target[ti]) out[ti] = d === 1 ? 0 : strides[i]!;
    else if (d !== 1) throw new InputError(`shape ${formatShape(shape)} cannot be broadcast to ${formatShape(target)}`);
  }
  return out;
}

/** True when two shapes are equal dim by dim. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
