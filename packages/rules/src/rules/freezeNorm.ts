// Norm freeze (GIM): a norm's scale statistic is a constant in backward.
//   LayerNorm y = (x - mean x) / s * w + b:  with g = dy * w,  dx = (g - mean g) / s   (mean x stays differentiable)
//   RMSNorm   y = x / r * w:                 dx = dy * w / r
// The models compute s (std) and r (rms) as their own ops tagged "norm.scale" and pass them
// into the norm op, whose default backward already holds them fixed. Stopping the gradient
// at the statistic is therefore the whole rule.
import { stopGrad, type Rule } from "@gim/autograd";
import { Tags } from "@gim/transformer";

/** GIM's norm freeze: no gradient through any norm's std / rms statistic. */
export function freezeNorm(): Rule {
  return stopGrad("gim.freezeNorm", { op: ["std", "rms"], tag: Tags.normScale });
}
