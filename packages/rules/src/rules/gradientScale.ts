// Gradient normalisation (GIM): where tensors are multiplied, each operand's gradient is
// divided by the number of operands, so gradient x input does not credit the whole product
// to every factor.
//   attention: v takes part in one product (pattern @ v): 1/2; q and k in two (q k^T, then @ v): 1/4.
//   gated MLP: down(act(gate(x)) * up(x)): the gate and up branch outputs each 1/2.
// The models tag q, k, v after projection (+ bias) and RoPE, before GQA repetition, and the
// gate_proj / up_proj outputs before the activation, each with an identity node; the rule
// scales the gradient passing back through that node.
import { scaleGrad, type Rule } from "@gim/autograd";
import { Tags } from "@gim/transformer";
import { InputError } from "@gim/tensor";

/** Which multiplied operand a scale applies to, and the tag of its place. */
export const scaledPlaces = {
  q: Tags.q,
  k: Tags.k,
  v: Tags.v,
  gate: Tags.gate,
  up: Tags.up,
} as const;

/** `"q"`, `"k"`, `"v"`, `"gate"` or `"up"`. */
export type ScaledPlace = keyof typeof scaledPlaces;

/**
 * The range of a gradient scale's magnitude (0 is allowed too: it cuts the gradient). Outside
 * it, the scaled float32 gradient overflows to Infinity or underflows to subnormal numbers.
 */
export const gradientScaleRange = { min: 1e-30, max: 1e30 } as const;

/**
 * Checks a gradient scale: 0, or a finite number whose magnitude is in {@link gradientScaleRange}.
 * `name` is what the message calls it (`the q gradient scale`, `--q-scale`).
 */
export function checkGradientScale(factor: number, name: string): number {
  if (typeof factor !== "number" || !Number.isFinite(factor)) throw new InputError(`${name} must be a finite number, got ${factor}`);
  const size = Math.abs(factor);
  if (factor !== 0 && (size < gradientScaleRange.min || size > gradientScaleRange.max)) {
    const why = size < gradientScaleRange.min ? "smaller ones underflow float32 gradients" : "larger ones overflow float32 gradients";
    throw new InputError(`${name} must be 0 or between ${gradientScaleRange.min} and ${gradientScaleRange.max} in magnitude (${why}), got ${factor}`);
  }
  return factor;
}

/** Multiplies the gradient through one kind of operand (`"q"`, `"k"`, `"v"`, `"gate"`, `"up"`) by `factor`. */
export function gradientScale(place: ScaledPlace, factor: number): Rule {
  checkGradientScale(factor, `the ${place} gradient scale`);
  // Only gated MLPs (Llama) have gate/up places: on GPT-2 these rules have nothing to do.
  const optional = place === "gate" || place === "up";
  return scaleGrad(`gim.${place}Scale`, factor, { op: "identity", tag: scaledPlaces[place] }, { optional });
}
