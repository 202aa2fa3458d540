/**
 * Which tokens a faithfulness metric may mask, and in which order (docs/GIM.md, "Faithfulness
 * metrics"): tokens are ranked by attribution, the first and the last token excluded. The
 * first token is often a sink the model relies on whatever the input; the last one is where
 * the prediction is read, so masking it changes the question rather than the evidence.
 */
import { Rng, InputError } from "@gim/tensor";

/** The positions a ranking covers for a sequence of `length` tokens: 1 .. length - 2 (none when length < 3). */
export function rankablePositions(length: number): number[] {
  if (!Number.isInteger(length) || length < 0) throw new InputError(`sequence length must be a non-negative integer, got ${length}`);
  return Array.from({ length: Math.max(0, length - 2) }, (_, i) => i + 1);
}

/**
 * The rankable positions (see {@link rankablePositions}) ordered by attribution, largest
 * (most supporting) first; ties keep position order. Signed: a token that pushes the
 * target logit down ranks last, so masking the top tokens removes support.
 */
export function rankTokens(attributions: readonly number[]): number[] {
  attributions.forEach((a, t) => {
    if (Number.isNaN(a)) throw new InputError(`attribution of token ${t} is NaN: cannot rank`);
  });
  return rankablePositions(attributions.length).sort((a, b) => attributions[b]! - attributions[a]! || a - b);
}

/** The rankable positions of a sequence of `length` tokens in a random order drawn from `rng` (the random baseline). */
export function randomRanking(length: number, rng: Rng): number[] {
  return rng.shuffle(rankablePositions(length));
}

/**
 * The generator of the random baseline for example `index` under `seed`: one stream per
 * example, so an example's random ranking does not depend on which other examples run.
 */
export function exampleRng(seed: number, index: number): Rng {
  // Mix the two integers into one 32-bit seed (an odd multiplier spreads consecutive indices).
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0);
}
