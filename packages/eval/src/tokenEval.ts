/**
 * Token attributions on held-out examples: every method's ranking of each example, its
 * comprehensiveness and sufficiency, and whether its top token is ground-truth evidence.
 */
import {
  evidenceHitRate, comprehensivenessMaxSteps, sufficiencyRatios, targetLogitFunction, tokenFaithfulness, exampleRng, randomRanking,
  rankablePositions, rankTokens, bindRules, explainMethods, methodRules, type HitRate, type TokenFaithfulness, type MethodName,
} from "@gim/rules";
import { noGrad } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { meanStat, type MeanStat } from "./stats.js";
import type { EvalExample, EvalMethod, EvalTask } from "./task.js";

/** Settings of the token evaluation. */
export interface TokenEvalOptions {
  /** Seed of the random baseline (default 0). */
  readonly seed?: number;
  /** Integrated gradients steps (default 32). */
  readonly igSteps?: number;
  /** Sequences per forward pass (default 64). */
  readonly batchSize?: number;
  /** The evidence set whose positions the alignment is measured at (default: every rankable token). */
  readonly alignmentEvidence?: string;
}

/** One example under every method. */
export interface TokenExampleResult {
  /** f(x), the target logit. */
  readonly logit: number;
  /** f(x) > 0 (the normalised scores exist). */
  readonly defined: boolean;
  /** Whether the model's argmax at the last position is the target. */
  readonly argmaxIsTarget: boolean;
  /** Number of rankable tokens n. */
  readonly rankable: number;
  readonly length: number;
  /** The example's evidence positions by set name. */
  readonly evidence: Readonly<Record<string, readonly number[]>>;
  /** Per method: the ranking (most important first) and its scores. */
  readonly methods: ReadonlyMap<EvalMethod, { readonly order: readonly number[]; readonly faithfulness: TokenFaithfulness; readonly alignment?: number }>;
}

/** Whether the model's most likely next token after `ids` (over the whole vocabulary) is `target`. */
export function predictsTarget(model: CausalLM, ids: readonly number[], target: number): boolean {
  return noGrad(() => T.argmax(T.select(model.forward({ ids: [...ids] }, { positions: [-1] }).logits.value, 0, 0), 0).item()) === target;
}

/** Evaluates one example with every method in `methods` (index: the example's index, for the random baseline's seed). */
export function evaluateTokenExample(model: CausalLM, baseline: number, example: EvalExample, index: number, methods: readonly EvalMethod[], options: TokenEvalOptions = {}): TokenExampleResult {
  const { ids, target } = example;
  const explained = methods.filter((m): m is MethodName => m !== "random");
  const explanations = explained.length > 0 ? explainMethods(model, ids, explained, { target, baseline, steps: options.igSteps ?? 32, batchSize: 8 }) : [];
  const orders = methods.map((m) => (m === "random" ? randomRanking(ids.length, exampleRng(options.seed ?? 0, index)) : rankTokens(explanations[explained.indexOf(m)]!.attributions)));
  const f = targetLogitFunction(model, { target, batchSize: options.batchSize });
  const scores = tokenFaithfulness(ids, orders, f, { baseline });
  return {
    logit: scores[0]?.logit ?? f([ids])[0]!,
    defined: scores[0]?.defined ?? false,
    argmaxIsTarget: predictsTarget(model, ids, target),
    rankable: Math.max(0, ids.length - 2),
    length: ids.length,
    evidence: example.evidence,
    methods: new Map(
      methods.map((m, i) => {
        const gradient = m === "random" ? undefined : explanations[explained.indexOf(m)]!.gradient;
        const at = options.alignmentEvidence !== undefined ? example.evidence[options.alignmentEvidence] : undefined;
        return [m, { order: orders[i]!, faithfulness: scores[i]!, ...(gradient ? { alignment: alignment(model, ids, baseline, gradient, at) } : {}) }];
      }),
    ),
  };
}

/**
 * Mean over the tokens t at `positions` (default: every rankable token) of
 * cos(dL/de_t, e_t - e_b): how much of the gradient at a token's embedding points along the
 * token's own displacement from the baseline, which is what gradient × input multiplies it
 * with. A norm's exact Jacobian removes the component of the gradient along its input (a norm
 * is scale-invariant), so when a token's embedding dominates the residual stream that reaches
 * the first norm, the plain gradient is nearly orthogonal to it. Tokens equal to the baseline
 * (no displacement) are left out.
 */
export function alignment(model: CausalLM, ids: readonly number[], baseline: number, gradient: T.Tensor, positions?: readonly number[]): number {
  const e = model.embedTokens(ids); // [T, d]
  const eb = model.embedTokens([baseline]); // [1, d]
  const d = model.hiddenSize;
  const g = gradient.toFlat();
  const x = e.toFlat();
  const b = eb.toFlat();
  let total = 0;
  let count = 0;
  for (const t of positions ?? rankablePositions(ids.length)) {
    let gx = 0;
    let gg = 0;
    let xx = 0;
    for (let i = 0; i < d; i++) {
      const gi = g[t * d + i]!;
      const xi = x[t * d + i]! - b[i]!;
      gx += gi * xi;
      gg += gi * gi;
      xx += xi * xi;
    }
    if (gg > 0 && xx > 0) {
      total += gx / Math.sqrt(gg * xx);
      count++;
    }
  }
  return count === 0 ? Number.NaN : total / count;
}

/** A method's results over a task's examples. */
export interface TokenMethodResult {
  readonly method: EvalMethod;
  /** Mean over examples with f(x) > 0 (higher is better). */
  readonly comprehensiveness: MeanStat;
  /** Mean over examples with f(x) > 0 (lower is better). */
  readonly sufficiency: MeanStat;
  /** Mean of (f(x) - f(x with the top k masked)) / f(x) for k = 1, 2, ... (index k - 1), over the examples with at least k rankable tokens. */
  readonly comprehensivenessCurve: readonly number[];
  /** Mean per sufficiency ratio. */
  readonly sufficiencyCurve: readonly number[];
  /** Evidence hit rate per evidence set. */
  readonly evidence: Readonly<Record<string, HitRate>>;
  /**
   * The per-example difference from gradient × input (this method minus gradient), over the
   * examples with f(x) > 0: a paired comparison, tighter than comparing the two means. Absent
   * when gradient is not evaluated.
   */
  readonly versusGradient?: { readonly comprehensiveness: MeanStat; readonly sufficiency: MeanStat };
  /** Gradient methods: the mean over examples of {@link alignment}. */
  readonly alignment?: MeanStat;
  /** Why the method equals another one here (e.g. a rule with no place in this model). */
  readonly note?: string;
}

/** The token evaluation of one task. */
export interface TokenResult {
  readonly examples: number;
  /** Examples with f(x) <= 0, left out of the comprehensiveness and sufficiency means. */
  readonly undefinedExamples: number;
  /** Examples where the model's argmax is the target. */
  readonly argmaxIsTarget: number;
  readonly meanLogit: number;
  /** Smallest and largest number of rankable tokens. */
  readonly rankable: { readonly min: number; readonly max: number };
  readonly ratios: readonly number[];
  readonly maxSteps: number;
  /** How many examples (with f(x) > 0) each comprehensiveness step k = 1, 2, ... averages over (index k - 1). */
  readonly stepCounts: readonly number[];
  readonly methods: readonly TokenMethodResult[];
}

/** Why a method coincides with the plain gradient on `model` (its rules bind to no place), or undefined. */
export function methodNote(model: CausalLM, method: EvalMethod): string | undefined {
  if (method === "random" || method === "gradient" || method === "integratedGradients" || method === "occlusion") return undefined;
  const rules = methodRules(method);
  const { rules: bound, skipped } = bindRules(model, rules);
  if (bound.length === 0 && skipped.length > 0) return `equals gradient: ${skipped[0]!.reason}`;
  return undefined;
}

/** Summarises per-example results (see {@link evaluateTokenExample}) of a task. */
export function summarizeTokens(task: EvalTask, results: readonly TokenExampleResult[], methods: readonly EvalMethod[]): TokenResult {
  const defined = results.filter((r) => r.defined);
  const stepMean = (values: (r: TokenExampleResult) => readonly number[]): number[] => {
    const length = Math.max(0, ...defined.map((r) => values(r).length));
    return Array.from({ length }, (_, i) => meanStat(defined.map((r) => values(r)[i] ?? Number.NaN)).mean);
  };
  return {
    examples: results.length,
    undefinedExamples: results.length - defined.length,
    argmaxIsTarget: results.filter((r) => r.argmaxIsTarget).length,
    meanLogit: meanStat(results.map((r) => r.logit)).mean,
    rankable: { min: Math.min(...results.map((r) => r.rankable)), max: Math.max(...results.map((r) => r.rankable)) },
    ratios: sufficiencyRatios,
    maxSteps: comprehensivenessMaxSteps,
    stepCounts: Array.from({ length: Math.max(0, ...defined.map((r) => Math.min(comprehensivenessMaxSteps, r.rankable))) }, (_, i) => defined.filter((r) => Math.min(comprehensivenessMaxSteps, r.rankable) > i).length),
    methods: methods.map((method) => {
      const of = (r: TokenExampleResult) => r.methods.get(method)!;
      const note = methodNote(task.model, method);
      const paired = (key: "comprehensiveness" | "sufficiency") => meanStat(defined.map((r) => of(r).faithfulness[key] - r.methods.get("gradient")!.faithfulness[key]));
      return {
        method,
        comprehensiveness: meanStat(defined.map((r) => of(r).faithfulness.comprehensiveness)),
        sufficiency: meanStat(defined.map((r) => of(r).faithfulness.sufficiency)),
        comprehensivenessCurve: stepMean((r) => of(r).faithfulness.comprehensivenessSteps),
        sufficiencyCurve: stepMean((r) => of(r).faithfulness.sufficiencySteps),
        evidence: Object.fromEntries(
          task.evidenceSets.map((set) => [
            set.name,
            evidenceHitRate(
              results.map((r) => of(r).order),
              results.map((r) => r.evidence[set.name] ?? []),
              results.map((r) => r.length),
            ),
          ]),
        ),
        ...(method !== "random" && of(results[0]!)?.alignment !== undefined ? { alignment: meanStat(results.map((r) => of(r).alignment ?? Number.NaN)) } : {}),
        ...(methods.includes("gradient") ? { versusGradient: { comprehensiveness: paired("comprehensiveness"), sufficiency: paired("sufficiency") } } : {}),
        ...(note ? { note } : {}),
      };
    }),
  };
}
