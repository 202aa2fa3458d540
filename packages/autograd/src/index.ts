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
export type { KnownTags, TagName } from "./types.js";
export {
  defineOp, applyOp, toVar,
  type VarLike, type InputNames, type Named, type Grads, type BackwardContext, type OpDef, type AnyOpDef, type OpArgs, type OpFunction,
} from "./op.js";
export { scope, currentPath, tagged, currentTags, noGrad, isRecording, withForwardHook, activeHooks, withDefaultContext, type ForwardHook } from "./context.js";
export { locateNonFinite } from "./finite.js";
export { grad, locateNonFiniteGradient, type GradOptions, type TraceEntry, type TracedGrads } from "./grad.js";
export { rule, scaleGrad, stopGrad, describeMatch, type Rule, type RuleMatch, type RuleBackward, type RuleOptions } from "./rules.js";
export { compileGlob, type PathGlob } from "./glob.js";
export {
  gradcheck, assertGradcheck, GradcheckReport,
  type GradcheckOptions, type GradcheckFailure, type DotProductDirection, type DotProductReport, type GradcheckInputSummary,
} from "./gradcheck.js";
export { SGD, type SgdOptions, type SgdState } from "./optim/sgd.js";
export { Adam, type AdamOptions, type AdamState } from "./optim/adam.js";
export { ops, opNames, type OpFunctions, type OpName, type OpDefOf, type OpInputs, type OpAttrs } from "./registry.js";

export * from "./ops/index.js";
/** The softmax kernels of `@gim/tensor` (`T.softmax`, `T.softmaxBackward`), under the names rules import them by. */
export { softmax as softmaxForward, softmaxBackward } from "@gim/tensor";
