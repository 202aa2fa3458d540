/**
 * Evidence hit rate: how often a ranking's top token is one of the tokens the answer is known
 * to depend on (IOI: the indirect object's mention; induction: the token after the earlier
 * occurrence of the last token). The ranking is the same as for comprehensiveness, so the
 * first and last tokens are never the top token; evidence at those positions cannot be hit,
 * and {@link evidenceHitRate} counts the examples where no evidence is rankable.
 */
import { InputError } from "@gim/tensor";

/** Whether the top (first) position of `order` is in `evidence`; false for an empty ranking. */
export function topIsEvidence(order: readonly number[], evidence: readonly number[]): boolean {
  return order.length > 0 && evidence.includes(order[0]!);
}

/** A hit rate over examples. */
export interface HitRate {
  /** Examples whose top token is evidence. */
  readonly hits: number;
  /** Examples counted. */
  readonly count: number;
  /** hits / count (NaN without examples). */
  readonly rate: number;
  /** Examples whose evidence lies only at unrankable positions (they count as misses). */
  readonly unreachable: number;
}

/**
 * The share of examples whose top-ranked token is evidence. `orders[i]` ranks example i's
 * rankable positions (most important first); `evidence[i]` lists its evidence positions;
 * `lengths[i]` is its token count (to tell which evidence is rankable).
 */
export function evidenceHitRate(orders: readonly (readonly number[])[], evidence: readonly (readonly number[])[], lengths: readonly number[]): HitRate {
  if (orders.length !== evidence.length || orders.length !== lengths.length) {
    throw new InputError(`evidenceHitRate needs one ranking, one evidence list and one length per example; got ${orders.length}, ${evidence.length} and ${lengths.length}`);
  }
  let hits = 0;
  let unreachable = 0;
  orders.forEach((order, i) => {
    if (topIsEvidence(order, evidence[i]!)) hits++;
    if (!evidence[i]!.some((p) => p >= 1 && p <= lengths[i]! - 2)) unreachable++;
  });
  return { hits, count: orders.length, rate: orders.length === 0 ? Number.NaN : hits / orders.length, unreachable };
}
