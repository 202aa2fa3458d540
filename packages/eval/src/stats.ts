/** Small statistics for the evaluation's summaries. */
import { bootstrapInterval, type Interval } from "@gim/rules";

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

/**
 * The pooled share Σ part / Σ whole over items (examples), with a percentile bootstrap
 * interval whose resamples (`samples`, see `bootstrapSamples`) draw whole items: the rows of
 * one example are not independent.
 */
export function pooledShare(items: readonly { readonly part: number; readonly whole: number }[], samples: readonly Uint32Array[]): Interval {
  return bootstrapInterval((sample) => {
    let part = 0;
    let whole = 0;
    const add = (i: number) => {
      part += items[i]!.part;
      whole += items[i]!.whole;
    };
    if (sample) for (let k = 0; k < sample.length; k++) add(sample[k]!);
    else for (let i = 0; i < items.length; i++) add(i);
    return part / whole;
  }, samples);
}
