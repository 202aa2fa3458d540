/**
 * The GIM preset: the four modifications of Edin et al. (2025) as one ordered rule set.
 * Each part can be switched off (temperature 1, scale 1, freezeNorm false); with every part
 * off the set is empty and gradients are exactly the plain ones.
 */
import type { Rule } from "@gim/autograd";
import { freezeNorm } from "./rules/freezeNorm.js";
import { gradientScale } from "./rules/gradientScale.js";
import { softmaxTemperature } from "./rules/softmaxTemperature.js";

/** The settings of the four GIM modifications; a part is off at temperature 1, scale 1 or `freezeNorm: false`. */
export interface GimOptions {
  /** Attention softmax backward at softmax(s / T) (TSG). 1 = off. */
  temperature?: number;
  /** Treat every norm's std / rms as a constant in backward. */
  freezeNorm?: boolean;
  /** Gradient scale on queries (two products: 1/4). 1 = off. */
  qScale?: number;
  /** Gradient scale on keys (two products: 1/4). 1 = off. */
  kScale?: number;
  /** Gradient scale on values (one product: 1/2). 1 = off. */
  vScale?: number;
  /** Gradient scale on the gate branch of gated MLPs (1/2). 1 = off. */
  gateScale?: number;
  /** Gradient scale on the up branch of gated MLPs (1/2). 1 = off. */
  upScale?: number;
}

/** The defaults of the reference Python package. */
export const gimDefaults: Readonly<Required<GimOptions>> = Object.freeze({
  temperature: 2,
  freezeNorm: true,
  qScale: 0.25,
  kScale: 0.25,
  vScale: 0.5,
  gateScale: 0.5,
  upScale: 0.5,
});

/** Every modification off: the plain gradient. */
export const gimOff: Readonly<Required<GimOptions>> = Object.freeze({
  temperature: 1,
  freezeNorm: false,
  qScale: 1,
  kScale: 1,
  vScale: 1,
  gateScale: 1,
  upScale: 1,
});

/** The GIM rule set (only the parts that are on), with unspecified options at their defaults. */
export function gim(options: GimOptions = {}): Rule[] {
  const o = { ...gimDefaults, ...options };
  const rules: Rule[] = [];
  if (o.freezeNorm) rules.push(freezeNorm());
  if (o.temperature !== 1) rules.push(softmaxTemperature(o.temperature));
  const scales = [["q", o.qScale], ["k", o.kScale], ["v", o.vScale], ["gate", o.gateScale], ["up", o.upScale]] as const;
  for (const [place, factor] of scales) if (factor !== 1) rules.push(gradientScale(place, factor));
  return rules;
}
