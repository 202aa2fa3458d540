/**
 * The registry: every built-in op, by name. Its type is the source of truth for op names,
 * their input names and attributes, so rules and tests written against an op are checked
 * by the compiler (a table typed over `OpName` does not compile when an op is missing).
 */
import type { InputNames, OpDef } from "./op.js";
import { abs } from "./ops/abs.js";
import { add } from "./ops/add.js";
import { concat } from "./ops/concat.js";
import { crossEntropy } from "./ops/crossEntropy.js";
import { div } from "./ops/div.js";
import { embedding } from "./ops/embedding.js";
import { exp } from "./ops/exp.js";
import { expand } from "./ops/expand.js";
import { gelu } from "./ops/gelu.js";
import { identity } from "./ops/identity.js";
import { indexSelect } from "./ops/indexSelect.js";
import { layerNorm } from "./ops/layerNorm.js";
import { linear } from "./ops/linear.js";
import { log } from "./ops/log.js";
import { logSoftmax } from "./ops/logSoftmax.js";
import { logsumexp } from "./ops/logsumexp.js";
import { matmul } from "./ops/matmul.js";
import { max } from "./ops/max.js";
import { maximum } from "./ops/maximum.js";
import { mean } from "./ops/mean.js";
import { minimum } from "./ops/minimum.js";
import { mul } from "./ops/mul.js";
import { narrow } from "./ops/narrow.js";
import { neg } from "./ops/neg.js";
import { permute } from "./ops/permute.js";
import { pow } from "./ops/pow.js";
import { relu } from "./ops/relu.js";
import { reshape } from "./ops/reshape.js";
import { rms } from "./ops/rms.js";
import { rmsNorm } from "./ops/rmsNorm.js";
import { rsqrt } from "./ops/rsqrt.js";
import { sigmoid } from "./ops/sigmoid.js";
import { silu } from "./ops/silu.js";
import { softmax } from "./ops/softmax.js";
import { sqrt } from "./ops/sqrt.js";
import { std } from "./ops/std.js";
import { sub } from "./ops/sub.js";
import { sum } from "./ops/sum.js";
import { tanh } from "./ops/tanh.js";
import { where } from "./ops/where.js";

/** Every built-in op function, keyed by op name. */
export const ops = {
  abs, add, concat, crossEntropy, div, embedding, exp, expand, gelu, identity, indexSelect,
  layerNorm, linear, log, logSoftmax, logsumexp, matmul, max, maximum, mean, minimum, mul,
  narrow, neg, permute, pow, relu, reshape, rms, rmsNorm, rsqrt, sigmoid, silu, softmax,
  sqrt, std, sub, sum, tanh, where,
} as const;

/** The name of a built-in op. */
export type OpName = keyof typeof ops;

/** The definition of the built-in op `Name`. */
export type OpDefOf<Name extends OpName> = (typeof ops)[Name]["def"];

/** Input names of the built-in op `Name`. */
export type OpInputs<Name extends OpName> = OpDefOf<Name> extends OpDef<string, infer In, unknown> ? In : InputNames;

/** Attributes of the built-in op `Name`. */
export type OpAttrs<Name extends OpName> = OpDefOf<Name> extends OpDef<string, InputNames, infer A> ? A : unknown;

/** All built-in op names. */
export const opNames = Object.keys(ops) as OpName[];
