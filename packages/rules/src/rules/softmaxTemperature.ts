// Temperature-adjusted softmax gradients (GIM's TSG), for the attention softmax only:
//   forward unchanged:  p = softmax(s)
//   backward:           ds = pT * (dp - sum_k pT_k dp_k),   pT = softmax(s / T)   (masked entries: pT = 0)
// There is deliberately no 1/T factor: this is the softmax Jacobian evaluated at a flatter
// distribution, not the gradient of softmax(s / T). T = 1 gives the plain gradient.
import { rule, softmaxBackward, softmaxForward, type Rule } from "@gim/autograd";
import { Tags } from "@gim/transformer";
import { InputError } from "@gim/tensor";

/**
 * The smallest softmax temperature TSG accepts. softmax(s / T) is already one-hot there for
 * any scores that differ by more than 1e-27; far below it, 1 / T overflows and the softmax is NaN.
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
    throw new InputError(`${name} must be at least ${minSoftmaxTemperature} (softmax(s / T) is already one-hot there; far below it, 1 / T overflows and the softmax is NaN), got ${temperature}`);
  }
  return temperature;
}

/** GIM's TSG: the attention softmax's backward evaluated at softmax(scores / temperature). */
export function softmaxTemperature(temperature: number): Rule {
  checkSoftmaxTemperature(temperature);
  return rule("gim.softmaxTemperature", { op: "softmax", tag: Tags.pattern }, ({ inputs: { x }, attrs, grad }) => {
    const flatter = softmaxForward(x, attrs, temperature);
    return { x: softmaxBackward(flatter, grad) };
  });
}
