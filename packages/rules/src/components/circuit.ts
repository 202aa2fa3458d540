/**
 * Circuit faithfulness as the circuit grows, after the circuit-localization track of the
 * Mechanistic Interpretability Benchmark (MIB, Mueller et al. 2025), at the level of
 * components (nodes).
 *
 * The circuit C_k is the first k components of a ranking. Running it means: the clean
 * prompts, with every component outside C_k patched with its corrupted activation; the
 * components inside compute normally from whatever reaches them. The embeddings are a
 * component too, so C_N (all N components) is the clean run and C_0 (none) the corrupted run.
 *
 *   f(k) = (M(C_k) - M(C_0)) / (M(C_N) - M(C_0))
 *
 * (MIB's faithfulness, with its empty circuit C_0 and full model C_N as computed here: equal
 * to M(corrupted) and M(clean)). f(0) = 0 and f(N) = 1 exactly. Summaries:
 *
 * - `area`: trapezoid rule over x = k/N in [0, 1] of f (over the k evaluated); with the
 *   signed ranking this is the analogue of MIB's CPR (higher is better);
 * - `areaFromOne`: the same of |1 - f|; with the absolute ranking, MIB's CMD (lower is better);
 * - `mib`: MIB's own recipe: circuit sizes k = floor(p * N) for p in 0.001, 0.002, 0.005,
 *   0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, trapezoid over p (so over [0.001, 1], not normalised).
 *
 * When M(C_N) and M(C_0) are (nearly) equal, f is undefined: the curve holds NaN and
 * `defined` is false.
 */
import type { CausalLM } from "@gim/transformer";
import { rankOrder, type Ranking } from "./agreement.js";
import type { Metric, Prompts } from "./logitMetric.js";
import { preparePair, type PreparedPair } from "./pair.js";
import { corruptRun, runPatched, type PatchedRun } from "./patching.js";
import { InputError } from "@gim/tensor";

/** MIB's circuit sizes, as fractions of the scored items. */
export const mibFractions: readonly number[] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** Faithfulness of the top-k circuits of one ranking. */
export interface FaithfulnessCurve {
  readonly ranking: Ranking;
  /** Component indices, most important first. */
  readonly order: readonly number[];
  /** Number of components N. */
  readonly total: number;
  /** Circuit sizes evaluated, ascending. */
  readonly ks: readonly number[];
  /** M of each circuit run. */
  readonly metrics: readonly number[];
  /** f(k) for each k; NaN when undefined. */
  readonly faithfulness: readonly number[];
  /** False when M(C_N) and M(C_0) are too close to normalise by. */
  readonly defined: boolean;
  /** M(C_N): the full circuit (the clean run). */
  readonly metricFull: number;
  /** M(C_0): the empty circuit (the corrupted run). */
  readonly metricEmpty: number;
  /** Trapezoid area of f over k/N. */
  readonly area: number;
  /** Trapezoid area of |1 - f| over k/N. */
  readonly areaFromOne: number;
  /** MIB's recipe over its circuit sizes. */
  readonly mib: { readonly fractions: readonly number[]; readonly ks: readonly number[]; readonly faithfulness: readonly number[]; readonly area: number; readonly areaFromOne: number };
}

/** Options of {@link circuitFaithfulness}. */
export interface CircuitOptions {
  readonly metric: Metric;
  /**
   * Order by signed score ("signed", default: largest first when M(clean) > M(corrupted), smallest
   * first otherwise, i.e. most supportive of the difference first) or by |score| ("absolute").
   */
  readonly ranking?: Ranking;
  /** Circuit sizes to evaluate (default every k from 0 to N when N <= 64, else 65 evenly spaced); 0, N and MIB's sizes are always added. */
  readonly ks?: readonly number[];
  /** Sequences per forward pass (default 64). */
  readonly batchSize?: number;
  /**
   * For the signed ranking: +1 ranks the largest score first, -1 the smallest (default: the
   * sign of M(clean) - M(corrupted) of these prompts). Fix it when curves of several prompt
   * sets must share one ranking.
   */
  readonly direction?: 1 | -1;
}

/** Relative gap below which M(clean) and M(corrupted) count as equal (f undefined). */
export const undefinedGap = 1e-6;

/**
 * Faithfulness of the circuits made of the top-k components by `scores` (one per component
 * of `listComponents(model)`, e.g. a method's attribution scores), for every k asked.
 */
export function circuitFaithfulness(model: CausalLM, clean: Prompts, corrupted: Prompts, scores: readonly number[], options: CircuitOptions): FaithfulnessCurve {
  return faithfulnessFromPair(preparePair(model, clean, corrupted, options.metric), scores, options);
}

/** {@link circuitFaithfulness} for a prepared pair. */
export function faithfulnessFromPair(pair: PreparedPair, scores: readonly number[], options: Omit<CircuitOptions, "metric"> = {}): FaithfulnessCurve {
  const components = pair.graph.components;
  if (scores.length !== components.length) throw new InputError(`circuit: ${scores.length} scores given for ${components.length} components`);
  return faithfulnessCurve(pair, scores, options, (kept) => corruptRun(pair, removedOf(components, kept)));
}

/** Items not in `kept` (an order prefix). */
function removedOf<T>(items: readonly T[], kept: readonly number[]): T[] {
  const inside = new Set(kept);
  return items.filter((_, i) => !inside.has(i));
}

/** Default circuit sizes: every k up to 64 items, else 65 evenly spaced ones (one forward pass each). */
function defaultKs(total: number): number[] {
  if (total <= 64) return Array.from({ length: total + 1 }, (_, k) => k);
  return Array.from({ length: 65 }, (_, i) => Math.round((i * total) / 64));
}

/**
 * The faithfulness curve of the circuits made of the top-k items by `scores` (components or
 * edges): `runFor(kept)` is the patched run of the circuit that keeps the items `kept`.
 */
export function faithfulnessCurve(
  pair: PreparedPair,
  scores: readonly number[],
  options: Omit<CircuitOptions, "metric">,
  runFor: (kept: readonly number[]) => PatchedRun,
  record?: readonly string[],
): FaithfulnessCurve {
  const total = scores.length;
  const ranking = options.ranking ?? "signed";
  // Signed: most supportive of the clean-minus-corrupted difference first (score descending when it is positive).
  const direction = options.direction ?? (Math.sign(pair.metricClean - pair.metricCorrupted) || 1);
  const order = rankOrder(ranking === "signed" ? scores.map((s) => s * direction) : scores, ranking);
  const mibKs = mibFractions.map((p) => Math.floor(p * total));
  for (const k of options.ks ?? []) {
    if (!Number.isInteger(k) || k < 0 || k > total) throw new InputError(`circuit size ${k} is out of range [0, ${total}]`);
  }
  const ks = [...new Set([0, total, ...mibKs, ...(options.ks ?? defaultKs(total))])].sort((a, b) => a - b);
  const runs = ks.map((k) => runFor(order.slice(0, k)));
  const metrics = runPatched(pair.model, pair.clean, runs, pair.metric, { batchSize: options.batchSize, record });
  return { ranking, order, total, ks, metrics, ...curveFromMetrics(ks, metrics, total) };
}

/**
 * f(k) and its summaries from M of each circuit size: `ks` ascending from 0 to `total` and
 * holding MIB's sizes, `metrics[i]` the M of the circuit of size `ks[i]`.
 */
export function curveFromMetrics(
  ks: readonly number[],
  metrics: readonly number[],
  total: number,
): Pick<FaithfulnessCurve, "faithfulness" | "defined" | "metricFull" | "metricEmpty" | "area" | "areaFromOne" | "mib"> {
  const metricEmpty = metrics[0]!;
  const metricFull = metrics[metrics.length - 1]!;
  const gap = metricFull - metricEmpty;
  const defined = Math.abs(gap) > undefinedGap * Math.max(1, Math.abs(metricFull), Math.abs(metricEmpty));
  const faithfulness = metrics.map((m) => (defined ? (m - metricEmpty) / gap + 0 : Number.NaN)); // + 0: no -0 when the gap is negative
  const xs = ks.map((k) => (total === 0 ? 0 : k / total));
  const mibKs = mibFractions.map((p) => Math.floor(p * total));
  const mibF = mibKs.map((k) => faithfulness[ks.indexOf(k)]!);
  return {
    faithfulness,
    defined,
    metricFull,
    metricEmpty,
    area: trapezoid(xs, faithfulness),
    areaFromOne: trapezoid(xs, faithfulness.map((f) => Math.abs(1 - f))),
    mib: { fractions: mibFractions, ks: mibKs, faithfulness: mibF, area: trapezoid(mibFractions, mibF), areaFromOne: trapezoid(mibFractions, mibF.map((f) => Math.abs(1 - f))) },
  };
}

/** Trapezoid rule: sum over i of (x[i+1] - x[i]) * (y[i] + y[i+1]) / 2. */
export function trapezoid(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new InputError(`trapezoid: ${xs.length} x values but ${ys.length} y values`);
  let area = 0;
  for (let i = 0; i + 1 < xs.length; i++) area += (xs[i + 1]! - xs[i]!) * (ys[i]! + ys[i + 1]!) / 2;
  return area;
}
