/**
 * How well one set of scores agrees with another (a method's with exact patching's):
 * Spearman rank correlation and top-k overlap, and the orderings circuits are built from.
 */
import { InputError } from "@gim/tensor";

/** How components are ordered: by signed score (largest first) or by |score| (largest first). */
export type Ranking = "signed" | "absolute";

/**
 * Indices of `scores` from most to least important: by score descending ("signed") or by
 * |score| descending ("absolute"); ties keep index order.
 */
export function rankOrder(scores: readonly number[], ranking: Ranking): number[] {
  const key = ranking === "absolute" ? (i: number) => Math.abs(scores[i]!) : (i: number) => scores[i]!;
  scores.forEach((s, i) => {
    if (Number.isNaN(s)) throw new InputError(`score ${i} is NaN: cannot rank`);
  });
  return scores.map((_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
}

/** Ranks 1..n of `values` (1 = smallest), tied values sharing the mean of their ranks. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let i = start; i < end; i++) ranks[order[i]!] = rank;
    start = end;
  }
  return ranks;
}

/** Pearson correlation of two equal-length lists; NaN when either is constant (or shorter than 2). */
export function pearson(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new InputError(`correlation needs lists of one length, got ${a.length} and ${b.length}`);
  const n = a.length;
  if (n < 2) return Number.NaN;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  return sab / Math.sqrt(saa * sbb);
}

/**
 * Spearman rank correlation: the Pearson correlation of the average ranks (ties share the
 * mean rank). NaN when either list is constant, e.g. all scores 0.
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new InputError(`spearman needs lists of one length, got ${a.length} and ${b.length}`);
  for (const x of [...a, ...b]) if (Number.isNaN(x)) throw new InputError("spearman: a score is NaN");
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * Top-k overlap: |top_k(a) ∩ top_k(b)| / k, each list's top k by the given ranking
 * (default |score|: a component that matters in either direction). k is clamped to the length.
 */
export function topKOverlap(a: readonly number[], b: readonly number[], k: number, ranking: Ranking = "absolute"): number {
  if (a.length !== b.length) throw new InputError(`topKOverlap needs lists of one length, got ${a.length} and ${b.length}`);
  if (!Number.isInteger(k) || k < 1) throw new InputError(`topKOverlap: k must be a positive integer, got ${k}`);
  const kk = Math.min(k, a.length);
  const top = new Set(rankOrder(a, ranking).slice(0, kk));
  return rankOrder(b, ranking).slice(0, kk).filter((i) => top.has(i)).length / kk;
}

/** A method's (or exact patching's) agreement with exact patching. */
export interface Agreement {
  /** Spearman correlation with the exact scores (NaN when either is constant). */
  readonly spearman: number;
  /** |top-k by |score| ∩ exact top-k by |score|| / k. */
  readonly topKOverlap: number;
  readonly k: number;
  /** How many items the comparison covers. */
  readonly count: number;
}

/**
 * How `scores` agree with `exact` over the items `indices` (default: all): Spearman and the
 * top-k overlap by |score| with k = min(top, number of items) (NaN overlap when there are none).
 */
export function agreementWith(scores: readonly number[], exact: readonly number[], top: number, indices?: readonly number[]): Agreement {
  const pick = (xs: readonly number[]) => (indices ? indices.map((i) => xs[i]!) : [...xs]);
  const a = pick(scores);
  const b = pick(exact);
  const k = Math.min(top, a.length);
  return { spearman: spearman(a, b), topKOverlap: k > 0 ? topKOverlap(a, b, k) : Number.NaN, k, count: a.length };
}
