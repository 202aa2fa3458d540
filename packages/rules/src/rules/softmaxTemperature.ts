// Temperature-adjusted softmax gradients (GIM's TSG), for the attention softmax only:
//   forward unchanged:  p = softmax(s)
//   backward:           ds = pT * (dp - sum_k pT_k dp_k),   pT = softmax(s / T)   (masked entries: pT = 0)
// There is deliberately no 1/T factor: this is the softmax Jacobian evaluated at a flatter
// distribution, not the gradient of softmax(s / T). T = 1 gives the plain gradient.
import { rule, softmaxBackward, softmaxForward, type Rule } from "@gim/autograd";
import * as T from "@gim/tensor";
import { Tags } from "@gim/transformer";
import { InputError } from "@gim/tensor";

/**
 * The smallest softmax temperature TSG accepts. Below it, scores / T overflow float32 for
 * attention scores of ordinary size (|s| up to 1e8), and the flatter softmax is NaN.
 */
export const minSoftmaxTemperature = 1e-30;

/**
 * Checks a softmax temperature: a finite number >= {@link minSoftmaxTemperature}. `name` is
 * what the message calls it (`the softmax temperature`, `--softmax-temperature`).
 */
export function checkSoftmaxTemperature(temperature: number, name = "the softmax temperature"): number {
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature <= 0) {
    throw new InputError(`${name} must be a positive number, got ${temperature}`);
  }
  if (temperature < minSoftmaxTemperature) {
    throw new InputError(`${name} must be at least ${minSoftmaxTemperature} (scores / T overflow below it, and the softmax is NaN), got ${temperature}`);
  }
  return temperature;
}

/** GIM's TSG: the attention softmax's backward evaluated at softmax(scores / temperature). */
export function softmaxTemperature(temperature: number): Rule {
  checkSoftmaxTemperature(temperature);
  return rule("gim.softmaxTemperature", { op: "softmax", tag: Tags.pattern }, ({ inputs: { x }, attrs, grad }) => {
    const flatter = softmaxForward(T.div(x, temperature), attrs);
    return { x: softmaxBackward(flatter, grad) };
  });
}
