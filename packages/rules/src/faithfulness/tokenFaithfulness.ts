/**
 * Comprehensiveness and sufficiency of a token ranking (docs/GIM.md, "Faithfulness metrics"),
 * with f the target logit at the target position:
 *
 * - comprehensiveness: mask the top-1, top-2, ..., top-K ranked tokens (cumulatively;
 *   K = min(50, n)) and average (f(x) - f(x_masked)) / f(x) over the K steps. Higher is better:
 *   the tokens the ranking puts first carry the prediction.
 * - sufficiency: for r in {0.5, 0.8, 0.9, 0.95, 0.99}, mask the floor(r * n) least important
 *   tokens and average (f(x) - f(x_masked)) / f(x) over the ratios. Lower is better: the
 *   tokens the ranking keeps are enough.
 *
 * n is the number of rankable tokens (every token but the first and the last; see
 * `rankablePositions`). Masking replaces a token id by the baseline token id.
 *
 * f(x) <= 0: the normalisation by f(x) then flips or explodes the sign, so such an example
 * gets `defined: false` and NaN scores (the unnormalised drops are still given); averages
 * leave it out and count it.
 */
import { noGrad } from "@gim/autograd";
import type { CausalLM } from "@gim/transformer";
import { rankablePositions } from "./ranking.js";
import { InputError } from "@gim/tensor";

/** The masking ratios of sufficiency. */
export const sufficiencyRatios: readonly number[] = [0.5, 0.8, 0.9, 0.95, 0.99];

/** The most tokens comprehensiveness masks (its last step). */
export const comprehensivenessMaxSteps = 50;

/** `ids` with the tokens at `positions` replaced by `baseline`. */
export function maskPositions(ids: readonly number[], positions: readonly number[], baseline: number): number[] {
  const out = [...ids];
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= ids.length) throw new InputError(`mask position ${p} is out of range for a sequence of ${ids.length} tokens`);
    out[p] = baseline;
  }
  return out;
}

/** The sequences comprehensiveness runs: the top-1, top-2, ..., top-K tokens of `order` masked, K = min(maxSteps, order.length). */
export function comprehensivenessMasks(ids: readonly number[], order: readonly number[], baseline: number, maxSteps = comprehensivenessMaxSteps): number[][] {
  const steps = Math.min(maxSteps, order.length);
  return Array.from({ length: steps }, (_, i) => maskPositions(ids, order.slice(0, i + 1), baseline));
}

/** The sequences sufficiency runs: for each ratio r, the floor(r * n) last (least important) tokens of `order` masked, n = order.length. */
export function sufficiencyMasks(ids: readonly number[], order: readonly number[], baseline: number, ratios: readonly number[] = sufficiencyRatios): number[][] {
  const n = order.length;
  return ratios.map((r) => {
    const count = Math.floor(r * n);
    return maskPositions(ids, order.slice(n - count), baseline);
  });
}

/** f of each sequence (all of one length), e.g. the target logit; see {@link targetLogitFunction}. */
export type LogitFunction = (sequences: readonly (readonly number[])[]) => number[];

/** Options of {@link targetLogitFunction}. */
export interface TargetLogitFunctionOptions {
  /** The token whose logit is f. */
  readonly target: number;
  /** Where it is read; negative counts from the end (default -1, the last token). */
  readonly position?: number;
  /** Sequences per forward pass (default 64). */
  readonly batchSize?: number;
}

/** f(x) = logit[target] at `position`, run in batches without recording a graph. */
export function targetLogitFunction(model: CausalLM, options: TargetLogitFunctionOptions): LogitFunction {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(options.target) || options.target < 0 || options.target >= model.vocabSize) {
    throw new InputError(`target token id ${options.target} is outside the vocabulary [0, ${model.vocabSize})`);
  }
  return (sequences) =>
    noGrad(() => {
      const out: number[] = [];
      for (let start = 0; start < sequences.length; start += batchSize) {
        const batch = sequences.slice(start, start + batchSize) as number[][];
        const logits = model.forward({ ids: batch }, { positions: [options.position ?? -1] }).logits.value; // [B, 1, V]
        for (let b = 0; b < batch.length; b++) out.push(logits.get(b, 0, options.target));
      }
      return out;
    });
}

/** Comprehensiveness and sufficiency of one ranking of one example. */
export interface TokenFaithfulness {
  /** f(x), the unmasked target logit. */
  readonly logit: number;
  /** False when f(x) <= 0 (or not finite): the normalised scores are NaN. */
  readonly defined: boolean;
  /** n, the number of rankable tokens. */
  readonly rankable: number;
  /** Mean over steps of (f(x) - f(x_masked)) / f(x); higher is better. */
  readonly comprehensiveness: number;
  /** (f(x) - f(x with the top k masked)) / f(x) for k = 1 .. K. */
  readonly comprehensivenessSteps: readonly number[];
  /** Mean over ratios of (f(x) - f(x_masked)) / f(x); lower is better. */
  readonly sufficiency: number;
  /** (f(x) - f(x with the floor(r n) least important masked)) / f(x), per ratio. */
  readonly sufficiencySteps: readonly number[];
  /** The unnormalised drops f(x) - f(x_masked), defined whatever the sign of f(x). */
  readonly drops: { readonly comprehensiveness: readonly number[]; readonly sufficiency: readonly number[] };
}

/** Options of {@link tokenFaithfulness}. */
export interface TokenFaithfulnessOptions {
  /** The token id masked tokens become. */
  readonly baseline: number;
  /** The most steps of comprehensiveness (default 50). */
  readonly maxSteps?: number;
  /** Sufficiency ratios (default 0.5, 0.8, 0.9, 0.95, 0.99). */
  readonly ratios?: readonly number[];
}

/** Checks that `order` ranks every rankable position of a sequence of `length` tokens exactly once. */
export function checkRanking(order: readonly number[], length: number, label = "ranking"): void {
  const expected = rankablePositions(length);
  if (order.length !== expected.length) throw new InputError(`${label} has ${order.length} positions; a sequence of ${length} tokens has ${expected.length} rankable ones (1..${length - 2})`);
  const seen = new Set<number>();
  for (const p of order) {
    if (!Number.isInteger(p) || p < 1 || p > length - 2) throw new InputError(`${label} holds position ${p}, which is not rankable (1..${length - 2}: the first and last tokens are excluded)`);
    if (seen.has(p)) throw new InputError(`${label} holds position ${p} twice`);
    seen.add(p);
  }
}

/**
 * Comprehensiveness and sufficiency of each ranking in `orders` (each a full ranking of the
 * rankable positions of `ids`, most important first). Every masked sequence of every
 * ranking, and x itself, is evaluated once in one call of `f`: rankings that agree share
 * their forward passes, and f(x) comes from the same batched pass as the masked runs.
 */
export function tokenFaithfulness(ids: readonly number[], orders: readonly (readonly number[])[], f: LogitFunction, options: TokenFaithfulnessOptions): TokenFaithfulness[] {
  const maxSteps = options.maxSteps ?? comprehensivenessMaxSteps;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new InputError(`maxSteps must be a positive integer, got ${maxSteps}`);
  const ratios = options.ratios ?? sufficiencyRatios;
  for (const r of ratios) if (!(r >= 0 && r <= 1)) throw new InputError(`sufficiency ratio ${r} is not in [0, 1]`);
  orders.forEach((o, i) => checkRanking(o, ids.length, `ranking ${i}`));
  const plans = orders.map((order) => ({
    comprehensiveness: comprehensivenessMasks(ids, order, options.baseline, maxSteps),
    sufficiency: sufficiencyMasks(ids, order, options.baseline, ratios),
  }));
  // One evaluation of every distinct sequence, x first.
  const index = new Map<string, number>();
  const unique: number[][] = [];
  const slot = (seq: readonly number[]): number => {
    const key = seq.join(",");
    let at = index.get(key);
    if (at === undefined) {
      at = unique.length;
      index.set(key, at);
      unique.push([...seq]);
    }
    return at;
  };
  const xSlot = slot(ids);
  const slots = plans.map((p) => ({ comprehensiveness: p.comprehensiveness.map(slot), sufficiency: p.sufficiency.map(slot) }));
  const values = f(unique);
  if (values.length !== unique.length) throw new InputError(`the logit function returned ${values.length} values for ${unique.length} sequences`);
  const fx = values[xSlot]!;
  const defined = Number.isFinite(fx) && fx > 0;
  const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((s, v) => s + v, 0) / xs.length);
  return slots.map((s) => {
    const comprehensivenessDrops = s.comprehensiveness.map((i) => fx - values[i]!);
    const sufficiencyDrops = s.sufficiency.map((i) => fx - values[i]!);
    const comprehensivenessSteps = comprehensivenessDrops.map((d) => (defined ? d / fx : Number.NaN));
    const sufficiencySteps = sufficiencyDrops.map((d) => (defined ? d / fx : Number.NaN));
    return {
      logit: fx,
      defined,
      rankable: Math.max(0, ids.length - 2),
      comprehensiveness: defined && comprehensivenessSteps.length > 0 ? mean(comprehensivenessSteps) : Number.NaN,
      comprehensivenessSteps,
      sufficiency: defined ? mean(sufficiencySteps) : Number.NaN,
      sufficiencySteps,
      drops: { comprehensiveness: comprehensivenessDrops, sufficiency: sufficiencyDrops },
    };
  });
}
