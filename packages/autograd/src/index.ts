/**
 * `@gim/autograd`: a graph recorded by the forward pass, whose backward rules are chosen at
 * backward time.
 *
 * ```ts
 * const x = variable(T.randNormal([4, 8]));
 * const y = sum(tanh(x));
 * const [dx] = grad(y, [x]);                                  // default rules
 * const [dx2] = grad(y, [x], { rules: [scaleGrad("half", 0.5, { op: "tanh" })] });
 * ```
 *
 * @packageDocumentation
 */
export { Var, variable, describeNode, graphNodes, type Node, type NodeInfo } from "./var.js";
export {
  defineOp, applyOp, toVar,
  type VarLike, type InputNames, type Named, type Grads, type BackwardContext, type OpDef, type AnyOpDef, type OpArgs, type OpFunction,
} from "./op.js";
export { scope, currentPath, tagged, currentTags, noGrad, isRecording, withForwardHook, activeHooks, withDefaultContext, type ForwardHook } from "./context.js";
export { grad, type GradOptions, type TraceEntry, type TracedGrads } from "./grad.js";
export { rule, scaleGrad, stopGrad, describeMatch, type Rule, type RuleMatch, type RuleBackward, type RuleOptions } from "./rules.js";
export { compileGlob, type PathGlob } from "./glob.js";
export {
  gradcheck, assertGradcheck, GradcheckReport,
  type GradcheckOptions, type GradcheckFailure, type DotProductDirection, type DotProductReport, type GradcheckInputSummary,
} from "./gradcheck.js";
export { SGD, type SgdOptions, type SgdState } from "./optim/sgd.js";
export { Adam, type AdamOptions, type AdamState } from "./optim/adam.js";
export { ops, opNames, type OpName, type OpDefOf, type OpInputs, type OpAttrs } from "./registry.js";

export { abs } from "./ops/abs.js";
export { add } from "./ops/add.js";
export { concat, type ConcatAttrs } from "./ops/concat.js";
export { crossEntropy, type CrossEntropyAttrs } from "./ops/crossEntropy.js";
export { div } from "./ops/div.js";
export { embedding, type EmbeddingAttrs } from "./ops/embedding.js";
export { exp } from "./ops/exp.js";
export { expand, type ExpandAttrs } from "./ops/expand.js";
export { gelu, type GeluAttrs } from "./ops/gelu.js";
export { identity, tag } from "./ops/identity.js";
export { indexSelect, type IndexSelectAttrs } from "./ops/indexSelect.js";
export { layerNorm } from "./ops/layerNorm.js";
export { linear } from "./ops/linear.js";
export { log } from "./ops/log.js";
export { logSoftmax } from "./ops/logSoftmax.js";
export { logsumexp } from "./ops/logsumexp.js";
export { matmul } from "./ops/matmul.js";
export { max } from "./ops/max.js";
export { maximum } from "./ops/maximum.js";
export { mean } from "./ops/mean.js";
export { minimum } from "./ops/minimum.js";
export { mul } from "./ops/mul.js";
export { narrow, split, type NarrowAttrs } from "./ops/narrow.js";
export { neg } from "./ops/neg.js";
export { permute, transpose, type PermuteAttrs } from "./ops/permute.js";
export { pow } from "./ops/pow.js";
export { relu } from "./ops/relu.js";
export { reshape, squeeze, unsqueeze, flatten, type ReshapeAttrs } from "./ops/reshape.js";
export { rms, type RmsAttrs } from "./ops/rms.js";
export { rmsNorm } from "./ops/rmsNorm.js";
export { rsqrt } from "./ops/rsqrt.js";
export { sigmoid } from "./ops/sigmoid.js";
export { silu } from "./ops/silu.js";
export { softmax, type SoftmaxAttrs } from "./ops/softmax.js";
/** The softmax kernels of `@gim/tensor` (`T.softmax`, `T.softmaxBackward`), under the names rules import them by. */
export { softmax as softmaxForward, softmaxBackward } from "@gim/tensor";
export { sqrt } from "./ops/sqrt.js";
export { std, type StdAttrs } from "./ops/std.js";
export { sub } from "./ops/sub.js";
export { sum } from "./ops/sum.js";
export { tanh } from "./ops/tanh.js";
export { where } from "./ops/where.js";
export type { ReduceAttrs } from "./ops/_reduce.js";
