/**
 * Paired bootstrap confidence intervals over prompts (evaluation pairs): draw `resamples` sets
 * of n prompt indices with replacement (seeded), compute a statistic on each — the same
 * resamples for every method, so a difference between two methods is computed on the same
 * prompts (paired) — and report the percentile interval (2.5% and 97.5% for 95%). The point
 * estimate is the statistic on all prompts.
 */
import * as T from "@gim/tensor";
import { InputError } from "@gim/tensor";

/** A point estimate with a bootstrap confidence interval. */
export interface Interval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  /** Resamples on which the statistic was defined (not NaN). */
  readonly resamples: number;
}

/** Options of the bootstrap. */
export interface BootstrapOptions {
  /** Resamples (default 2000). */
  readonly resamples?: number;
  /** Seed of the index draws (default 0). */
  readonly seed?: number;
  /** Confidence level (default 0.95). */
  readonly level?: number;
}

/** Resamples of n indices with replacement, seeded: `resamples` arrays of n indices in [0, n). */
export function bootstrapSamples(n: number, options: BootstrapOptions = {}): Uint32Array[] {
  const count = options.resamples ?? 2000;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`a bootstrap needs at least one item, got ${n}`);
  if (!Number.isInteger(count) || count < 1) throw new InputError(`bootstrap resamples must be a positive integer, got ${count}`);
  const rng = new T.Rng(options.seed ?? 0);
  return Array.from({ length: count }, () => Uint32Array.from({ length: n }, () => rng.int(n)));
}

/**
 * The statistic on all items (`statistic(undefined)`) and its percentile interval over
 * `samples`. Resamples where the statistic is NaN are left out (and counted).
 */
export function bootstrapInterval(statistic: (sample: ArrayLike<number> | undefined) => number, samples: readonly Uint32Array[], level = 0.95): Interval {
  if (!(level > 0 && level < 1)) throw new InputError(`a confidence level must be in (0, 1), got ${level}`);
  const values = samples.map((s) => statistic(s)).filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const estimate = statistic(undefined);
  if (values.length === 0) return { estimate, low: Number.NaN, high: Number.NaN, resamples: 0 };
  return { estimate, low: quantile(values, (1 - level) / 2), high: quantile(values, 1 - (1 - level) / 2), resamples: values.length };
}

/** The q-quantile of sorted values, linearly interpolated between order statistics. */
export function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (at - below) * (sorted[above]! - sorted[below]!);
}

/** Whether an interval excludes 0 (a difference the data supports). */
export function excludesZero(i: Interval): boolean {
  return i.low > 0 || i.high < 0;
}
