/**
 * A tensor as text, the way NumPy and PyTorch print arrays: nested brackets aligned in
 * columns, one number format for the whole tensor, and only the first and last `edgeItems`
 * entries of each long dimension once the tensor has more than `threshold` elements.
 *
 *     tensor([[ 0.5000, -1.2500,  3.0000],
 *             [ 1.0000,  0.0000, -2.0000]], dtype=float32)
 *
 * The format is chosen from the finite values shown: integers print without decimals, values
 * spanning a wide range (largest |x| >= 1e8, or smallest nonzero |x| < 1e-4) in scientific
 * notation, the rest with `precision` decimals.
 */
import type { Tensor } from "./tensor.js";

/** How {@link formatTensor} abbreviates and rounds. */
export interface FormatOptions {
  /** Digits after the decimal point (default 4). */
  precision?: number;
  /** Tensors with more elements than this are abbreviated (default 1000). */
  threshold?: number;
  /** Entries kept at each end of an abbreviated dimension (default 3). */
  edgeItems?: number;
  /** Characters per line before a row wraps (default 80). */
  lineWidth?: number;
}

/** One dimension's entries that are shown: all of them, or both ends around a gap. */
function shownIndices(size: number, abbreviate: boolean, edge: number): (number | "...")[] {
  if (!abbreviate || size <= 2 * edge) return Array.from({ length: size }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), "...", ...Array.from({ length: edge }, (_, i) => size - edge + i)];
}

/** The number format shared by every element shown. */
function numberFormat(values: readonly number[], precision: number): (x: number) => string {
  const finite = values.filter(Number.isFinite);
  const special = (x: number): string | undefined => (Number.isNaN(x) ? "nan" : x === Infinity ? "inf" : x === -Infinity ? "-inf" : undefined);
  if (finite.every(Number.isInteger) && finite.every((x) => Math.abs(x) < 1e16)) {
    return (x) => special(x) ?? (Object.is(x, -0) ? "-0" : String(x));
  }
  const abs = finite.map(Math.abs).filter((x) => x > 0);
  const wide = abs.length > 0 && (Math.max(...abs) >= 1e8 || Math.min(...abs) < 1e-4);
  return (x) => special(x) ?? (wide ? x.toExponential(precision) : x.toFixed(precision));
}

/** The text of `t` (see the module comment). */
export function formatTensor(t: Tensor, options: FormatOptions = {}): string {
  const { precision = 4, threshold = 1000, edgeItems = 3, lineWidth = 80 } = options;
  const abbreviate = t.size > threshold;
  const shown = t.shape.map((d) => shownIndices(d, abbreviate, edgeItems));
  // Gather the shown values first: the format and the column width depend on all of them.
  const values: number[] = [];
  const gather = (axis: number, index: number[]): void => {
    if (axis === t.ndim) {
      values.push(t.get(...index));
      return;
    }
    for (const i of shown[axis]!) if (i !== "...") gather(axis + 1, [...index, i]);
  };
  if (t.size > 0) gather(0, []);
  const format = numberFormat(values, precision);
  const texts = values.map(format);
  const width = Math.max(0, ...texts.map((s) => s.length));
  const prefix = "tensor(";
  const suffix = `, dtype=${t.dtype})`;
  if (t.ndim === 0) return `${prefix}${texts[0]}${suffix}`;
  if (t.size === 0) return `${prefix}[], shape=[${t.shape.join(", ")}]${suffix}`;
  let next = 0;
  // `indent` is the column where this level's opening bracket stands.
  const render = (axis: number, indent: number): string => {
    const items: string[] = [];
    if (axis === t.ndim - 1) {
      for (const i of shown[axis]!) items.push(i === "..." ? "..." : texts[next++]!.padStart(width));
      const lines: string[] = [];
      let line = "";
      for (const [k, item] of items.entries()) {
        const piece = k < items.length - 1 ? `${item}, ` : item;
        if (line.length > 0 && indent + 1 + line.length + piece.length > lineWidth) {
          lines.push(line.trimEnd());
          line = "";
        }
        line += piece;
      }
      lines.push(line);
      return `[${lines.join(`\n${" ".repeat(indent + 1)}`)}]`;
    }
    for (const i of shown[axis]!) items.push(i === "..." ? "..." : render(axis + 1, indent + 1));
    // Blocks of higher dimensions are set apart by blank lines, as NumPy does.
    const gap = "," + "\n".repeat(Math.max(1, t.ndim - 1 - axis)) + " ".repeat(indent + 1);
    return `[${items.join(gap)}]`;
  };
  return `${prefix}${render(0, prefix.length)}${suffix}`;
}
