/** Small statistics for the evaluation's summaries. */

/** A mean with its standard error over `count` values. */
export interface MeanStat {
  readonly mean: number;
  /** Standard error of the mean (sample standard deviation / sqrt(count)); NaN for fewer than 2 values. */
  readonly se: number;
  readonly count: number;
}

/** Mean and standard error of the finite values of `values` (NaN ones are left out). */
export function meanStat(values: readonly number[]): MeanStat {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, se: Number.NaN, count: 0 };
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { mean, se: Number.NaN, count: n };
  const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), count: n };
}

/** The median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}
