// Temperature-adjusted softmax gradients (GIM's TSG), for the attention softmax only:
//   forward unchanged:  p = softmax(s)
//   backward:           ds = pT * (dp - sum_k pT_k dp_k),   pT = softmax(s / T)   (masked entries: pT = 0)
// There is deliberately no 1/T factor: this is the softmax Jacobian evaluated at a flatter
// distribution, not the gradient of softmax(s / T). T = 1 gives the plain gradient.
import { rule, softmaxBackward, softmaxForward, type Rule } from "@gim/autograd";
import * as T from "@gim/tensor";
import { Tags } from "@gim/transformer";
import { InputError } from "@gim/tensor";

/** GIM's TSG: the attention softmax's backward evaluated at softmax(scores / temperature). */
export function softmaxTemperature(temperature: number): Rule {
  if (!Number.isFinite(temperature) || temperature <= 0) {
    throw new InputError(`the softmax temperature must be a positive number, got ${temperature}`);
  }
  return rule("gim.softmaxTemperature", { op: "softmax", tag: Tags.pattern }, ({ inputs: { x }, attrs, grad }) => {
    const flatter = softmaxForward(T.div(x, temperature), attrs);
    return { x: softmaxBackward(flatter, grad) };
  });
}
