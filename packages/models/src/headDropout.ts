/**
 * Attention-head dropout, a training-only regulariser that makes heads back each other up:
 *
 *   for every layer l, sequence b and query head h, independently:
 *     scale[l][b, h] = 0              with probability rate   (the head's output z is dropped)
 *                    = 1 / (1 - rate) otherwise               (so the expected output is unchanged)
 *
 * The scales go to `forward` as `headScales` (see `ForwardOptions` in `@gim/transformer`); a
 * saved model never holds them, so inference runs every head at scale 1. A head that may vanish
 * at any step cannot be the only carrier of what the answer needs, which is the redundancy
 * that self-repair (one key or head compensating for another) comes from.
 */
import { InputError, Rng, Tensor } from "@gim/tensor";

/** One [batch, heads[l]] scale tensor per layer (see the top of this file); none when `rate` is 0. */
export function headDropoutScales(rate: number, heads: readonly number[], batch: number, rng: Rng): Tensor[] | undefined {
  if (!(rate >= 0 && rate < 1)) throw new InputError(`head dropout rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return undefined;
  const kept = 1 / (1 - rate);
  return heads.map((h) => {
    const scales = new Float32Array(batch * h);
    for (let i = 0; i < scales.length; i++) scales[i] = rng.uniform() < rate ? 0 : kept;
    return new Tensor(scales, [batch, h]);
  });
}
