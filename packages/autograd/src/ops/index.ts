/**
 * Every built-in op, one export per op file (the op's name, its file and its export are one
 * identifier), with the helpers and attribute types those files define. This is the one list
 * of ops: the registry (`registry.ts`) and the package entry read it.
 */
export { abs } from "./abs.js";
export { add } from "./add.js";
export { concat, type ConcatAttrs } from "./concat.js";
export { crossEntropy, type CrossEntropyAttrs } from "./crossEntropy.js";
export { div } from "./div.js";
export { embedding, type EmbeddingAttrs } from "./embedding.js";
export { exp } from "./exp.js";
export { expand, type ExpandAttrs } from "./expand.js";
export { gelu, type GeluAttrs } from "./gelu.js";
export { identity, tag } from "./identity.js";
export { indexSelect, type IndexSelectAttrs } from "./indexSelect.js";
export { layerNorm } from "./layerNorm.js";
export { linear } from "./linear.js";
export { log } from "./log.js";
export { logSoftmax } from "./logSoftmax.js";
export { logsumexp } from "./logsumexp.js";
export { matmul } from "./matmul.js";
export { max } from "./max.js";
export { maximum } from "./maximum.js";
export { mean } from "./mean.js";
export { minimum } from "./minimum.js";
export { mul } from "./mul.js";
export { narrow, split, type NarrowAttrs } from "./narrow.js";
export { neg } from "./neg.js";
export { permute, transpose, type PermuteAttrs } from "./permute.js";
export { pow } from "./pow.js";
export { relu } from "./relu.js";
export { reshape, squeeze, unsqueeze, flatten, type ReshapeAttrs } from "./reshape.js";
export { rms, type RmsAttrs } from "./rms.js";
export { rmsNorm } from "./rmsNorm.js";
export { rsqrt } from "./rsqrt.js";
export { sigmoid } from "./sigmoid.js";
export { silu } from "./silu.js";
export { softmax, type SoftmaxAttrs } from "./softmax.js";
export { sqrt } from "./sqrt.js";
export { std, type StdAttrs } from "./std.js";
export { sub } from "./sub.js";
export { sum } from "./sum.js";
export { tanh } from "./tanh.js";
export { where } from "./where.js";
export type { ReduceAttrs } from "./_reduce.js";
