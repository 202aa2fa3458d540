/**
 * The held-out protocol of MIB's circuit track: edge scores from one set of clean/corrupted
 * pairs (MIB: its train split), circuits evaluated on a disjoint set (MIB: validation), with
 * paired bootstrap confidence intervals over the evaluation pairs for CPR and CMD and for any
 * difference between two methods, and over the scoring pairs for the agreement (Spearman) of a
 * method's scores with exact edge patching.
 *
 * The metric is MIB's logit difference, logit[answer] - logit[wrong] at the last position, as
 * the mean over pairs. Pairs of different lengths run in groups of one length; per-pair values
 * are joined afterwards, so every mean over pairs is over all of them.
 */
import type { Rule } from "@gim/autograd";
import { InputError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { spearman } from "../components/agreement.js";
import { logitDiff } from "../components/logitMetric.js";
import { edgeAttributionFromRuns, meanOverPrompts, mibIgSteps, type EdgeAttributionMethod, type MibEdgeScores } from "./attribution.js";
import { bootstrapInterval, bootstrapSamples, type BootstrapOptions, type Interval } from "./bootstrap.js";
import { prepareEdgeRuns, type EdgeRuns } from "./edgeRuns.js";
import { evaluatePlans, joinCurves, mibCircuitPlan, randomEdgeScores, summarizeCurve, type CircuitCurve, type CircuitPlan } from "./faithfulness.js";
import { mibGraph, type MibGraph } from "./graph.js";
import { exactEdgePatching } from "./patchEdges.js";

/** A clean/corrupted pair with the answers of MIB's logit-difference metric. */
export interface CircuitPair {
  readonly clean: readonly number[];
  /** Same length as `clean`. */
  readonly corrupted: readonly number[];
  /** M = logit[answer] - logit[wrong] at the last position. */
  readonly answer: number;
  readonly wrong: number;
}

/** How a method scores edges: an attribution method with backward rules, exact patching, or at random. */
export type EdgeMethodKind = EdgeAttributionMethod | "exact" | "random";

/** A ranking source of the evaluation. */
export interface EdgeMethodSpec {
  /** Its name in results (`gim-eap`, `eap-ig`, ...). */
  readonly name: string;
  readonly kind: EdgeMethodKind;
  /** Backward rules of an attribution method (default `[]`, the plain gradient). */
  readonly rules?: readonly Rule[];
  /** Integrated-gradients steps (default MIB's 5). */
  readonly steps?: number;
  /** Random rankings: seed of the first draw (default 0) and how many draws the curve averages (default 1). */
  readonly seed?: number;
  readonly draws?: number;
}

/** Options of {@link heldOutCircuits}. */
export interface HeldOutOptions {
  /** Pairs the edge scores come from. */
  readonly scorePairs: readonly CircuitPair[];
  /** Pairs the circuits are evaluated on; no clean prompt may also be a scoring pair's. */
  readonly evalPairs: readonly CircuitPair[];
  readonly methods: readonly EdgeMethodSpec[];
  /** What removed edges carry: the corrupted run's writes ("patching", default) or the mean writes over the scoring pairs' clean prompts ("mean"). */
  readonly ablation?: "patching" | "mean";
  /** Sequences per forward pass of patched runs (default 64). */
  readonly batchSize?: number;
  readonly bootstrap?: BootstrapOptions;
  /** Called after each group of pairs of one length. */
  readonly onProgress?: (stage: "scores" | "circuits", pairs: number) => void;
}

/** One method's result. */
export interface HeldOutMethod {
  readonly spec: EdgeMethodSpec;
  /** Mean score per edge over the scoring pairs. */
  readonly scores: readonly number[];
  /** Per scoring pair (in group order), one score per edge; empty for random rankings. */
  readonly perPair: readonly Float64Array[];
  /** Curves on the evaluation pairs: top edges by signed score, and by |score|. */
  readonly signed: CircuitCurve;
  readonly absolute: CircuitCurve;
  /** MIB's CPR (area under f, signed ranking; higher is better) and CMD (area of |1 - f|, |score| ranking; lower is better). */
  readonly cpr: Interval;
  readonly cmd: Interval;
  /** Spearman correlation of the scores with exact edge patching's (over the scoring pairs), when an exact method is evaluated. */
  readonly spearman?: Interval;
}

/** The held-out evaluation of a model. */
export interface HeldOutResult {
  readonly graph: MibGraph;
  readonly methods: readonly HeldOutMethod[];
  readonly scorePairs: number;
  readonly evalPairs: number;
  /** M of the clean and the corrupted runs, mean over the evaluation pairs. */
  readonly metricClean: number;
  readonly metricCorrupted: number;
  /** The resamples of the evaluation pairs (and of the scoring pairs) every interval uses. */
  readonly evalSamples: readonly Uint32Array[];
  readonly scoreSamples: readonly Uint32Array[];
  /** The exact method Spearman correlations are taken against, if any. */
  readonly exact?: string;
  readonly level: number;
}

/** Pairs grouped by length (in order of first appearance), each checked. */
function groupsOf(pairs: readonly CircuitPair[], what: string): CircuitPair[][] {
  const groups = new Map<number, CircuitPair[]>();
  pairs.forEach((p, i) => {
    if (p.clean.length !== p.corrupted.length) throw new InputError(`${what} pair ${i}: the clean prompt has ${p.clean.length} tokens, the corrupted one ${p.corrupted.length}`);
    groups.set(p.clean.length, [...(groups.get(p.clean.length) ?? []), p]);
  });
  return [...groups.values()];
}

/** Throws when a clean prompt of `evalPairs` is also one of `scorePairs`. */
export function checkDisjoint(scorePairs: readonly CircuitPair[], evalPairs: readonly CircuitPair[]): void {
  const seen = new Map(scorePairs.map((p, i) => [p.clean.join(","), i]));
  evalPairs.forEach((p, i) => {
    const j = seen.get(p.clean.join(","));
    if (j !== undefined) throw new InputError(`evaluation pair ${i} has the clean prompt of scoring pair ${j}: scores and circuits need disjoint sets of pairs`);
  });
}

function runsOf(model: CausalLM, group: readonly CircuitPair[], ablation: "patching" | "mean", meanPrompts: readonly (readonly number[])[], gradientRules?: readonly (readonly Rule[])[]): EdgeRuns {
  const metric = logitDiff({ answer: group.map((p) => p.answer), wrong: group.map((p) => p.wrong) });
  return prepareEdgeRuns(
    model,
    group.map((p) => p.clean),
    group.map((p) => p.corrupted),
    metric,
    { ablation, ...(ablation === "mean" ? { meanPrompts } : {}), ...(gradientRules ? { gradientRules } : {}) },
  );
}

/** Options of {@link edgeScoresByPair}. */
export interface EdgeScoresByPairOptions {
  /** Also score the edges by exact edge patching (default false; one forward per edge and pair). */
  readonly exact?: boolean;
  /** What removed edges carry (default "patching"). */
  readonly ablation?: "patching" | "mean";
  /** Sequences per forward pass of patched runs (default 64). */
  readonly batchSize?: number;
}

/**
 * EAP's per-pair edge scores of `pairs` under each rule set (`[]` is the plain gradient) and,
 * with `exact: true`, exact edge patching's, all with the pairs in the same order (grouped by
 * length in order of first appearance), so that a paired bootstrap over prompts can compare them.
 */
export function edgeScoresByPair(model: CausalLM, pairs: readonly CircuitPair[], ruleSets: readonly (readonly Rule[])[], options: EdgeScoresByPairOptions = {}): { eap: MibEdgeScores[]; exact?: MibEdgeScores } {
  if (pairs.length === 0) throw new InputError("edge scores by pair need at least one clean/corrupted pair");
  const graph = mibGraph(model);
  const ablation = options.ablation ?? "patching";
  const eap: Float64Array[][] = ruleSets.map(() => []);
  const exact: Float64Array[] = [];
  for (const group of groupsOf(pairs, "scoring")) {
    const runs = runsOf(model, group, ablation, pairs.map((p) => p.clean), ruleSets);
    if (ruleSets.length > 0) edgeAttributionFromRuns(runs, ruleSets).forEach((s, j) => eap[j]!.push(...s.perPrompt));
    if (options.exact) exact.push(...exactEdgePatching(runs, { batchSize: options.batchSize }).perPrompt);
  }
  const scoresOf = (perPrompt: Float64Array[]): MibEdgeScores => ({ graph, scores: meanOverPrompts(perPrompt), perPrompt });
  return { eap: eap.map(scoresOf), ...(options.exact ? { exact: scoresOf(exact) } : {}) };
}

/** Scores every edge with every method from `scorePairs`, evaluates the circuits of every ranking on `evalPairs` (see the top of this file). */
export function heldOutCircuits(model: CausalLM, options: HeldOutOptions): HeldOutResult {
  const { scorePairs, evalPairs, methods } = options;
  if (scorePairs.length === 0 || evalPairs.length === 0) throw new InputError("the held-out evaluation needs scoring pairs and evaluation pairs");
  if (methods.length === 0) throw new InputError("the held-out evaluation needs at least one method");
  const names = new Set<string>();
  for (const m of methods) {
    if (names.has(m.name)) throw new InputError(`method "${m.name}" is given twice`);
    names.add(m.name);
  }
  checkDisjoint(scorePairs, evalPairs);
  const graph = mibGraph(model);
  const ablation = options.ablation ?? "patching";
  const meanPrompts = scorePairs.map((p) => p.clean);

  // Scores, per method, joined over the scoring groups.
  const perPair: Float64Array[][] = methods.map(() => []);
  const eap = methods.flatMap((m, i) => (m.kind === "eap" ? [i] : []));
  for (const group of groupsOf(scorePairs, "scoring")) {
    const runs = runsOf(model, group, ablation, meanPrompts, eap.map((i) => methods[i]!.rules ?? []));
    if (eap.length > 0) edgeAttributionFromRuns(runs, eap.map((i) => methods[i]!.rules ?? [])).forEach((s, j) => perPair[eap[j]!]!.push(...s.perPrompt));
    // Integrated gradients: one set of forward passes per (method, steps), shared by the rule sets.
    const ig = new Map<string, number[]>();
    methods.forEach((m, i) => {
      if (m.kind !== "eap-ig-inputs" && m.kind !== "eap-ig-activations") return;
      const key = `${m.kind}:${m.steps ?? mibIgSteps}`;
      ig.set(key, [...(ig.get(key) ?? []), i]);
    });
    for (const [, idx] of ig) {
      const first = methods[idx[0]!]!;
      const method = first.kind as EdgeAttributionMethod;
      edgeAttributionFromRuns(runs, idx.map((i) => methods[i]!.rules ?? []), { method, steps: first.steps ?? mibIgSteps }).forEach((s, j) => perPair[idx[j]!]!.push(...s.perPrompt));
    }
    if (methods.some((m) => m.kind === "exact")) {
      const exact = exactEdgePatching(runs, { batchSize: options.batchSize });
      methods.forEach((m, i) => m.kind === "exact" && perPair[i]!.push(...exact.perPrompt));
    }
    options.onProgress?.("scores", group.length);
  }
  const randomDraws = (m: EdgeMethodSpec) => Array.from({ length: m.draws ?? 1 }, (_, d) => randomEdgeScores(graph, (m.seed ?? 0) + d));
  const scores = methods.map((m, i) => (m.kind === "random" ? randomDraws(m)[0]! : meanOverPrompts(perPair[i]!)));

  // Circuits of every ranking on the evaluation pairs; a random method averages its draws' curves.
  const plans: CircuitPlan[][] = methods.map((m, i) => {
    const sets = m.kind === "random" ? randomDraws(m) : [scores[i]!];
    return sets.flatMap((s) => [mibCircuitPlan(graph, s, "signed"), mibCircuitPlan(graph, s, "absolute")]);
  });
  const curveParts = plans.map((p) => p.map(() => [] as CircuitCurve[])); // [method][plan][group]
  let metricClean = 0;
  let metricCorrupted = 0;
  for (const group of groupsOf(evalPairs, "evaluation")) {
    const runs = runsOf(model, group, ablation, meanPrompts);
    const curves = evaluatePlans(runs, plans.flat(), { batchSize: options.batchSize });
    let at = 0;
    plans.forEach((p, i) => p.forEach((_, j) => curveParts[i]![j]!.push(curves[at++]!)));
    metricClean += runs.metricClean.reduce((s, v) => s + v, 0);
    metricCorrupted += runs.metricCorrupted.reduce((s, v) => s + v, 0);
    options.onProgress?.("circuits", group.length);
  }
  const curvesOf = (i: number) => {
    const joined = curveParts[i]!.map(joinCurves); // per plan
    const signed = averageCurves(joined.filter((_, j) => j % 2 === 0));
    const absolute = averageCurves(joined.filter((_, j) => j % 2 === 1));
    return { signed, absolute };
  };

  const level = options.bootstrap?.level ?? 0.95;
  const evalSamples = bootstrapSamples(evalPairs.length, options.bootstrap);
  const scoreSamples = bootstrapSamples(scorePairs.length, { ...options.bootstrap, seed: (options.bootstrap?.seed ?? 0) + 1 });
  const exactIndex = methods.findIndex((m) => m.kind === "exact");
  const results: HeldOutMethod[] = methods.map((spec, i) => {
    const { signed, absolute } = curvesOf(i);
    const withSpearman = exactIndex >= 0 && spec.kind !== "random" && i !== exactIndex;
    return {
      spec,
      scores: scores[i]!,
      perPair: perPair[i]!,
      signed,
      absolute,
      cpr: bootstrapInterval((s) => summarizeCurve(signed, s).areaUnder, evalSamples, level),
      cmd: bootstrapInterval((s) => summarizeCurve(absolute, s).areaFromOne, evalSamples, level),
      ...(withSpearman ? { spearman: bootstrapInterval((s) => spearman(meanRows(perPair[i]!, s), meanRows(perPair[exactIndex]!, s)), scoreSamples, level) } : {}),
    };
  });
  return {
    graph,
    methods: results,
    scorePairs: scorePairs.length,
    evalPairs: evalPairs.length,
    metricClean: metricClean / evalPairs.length,
    metricCorrupted: metricCorrupted / evalPairs.length,
    evalSamples,
    scoreSamples,
    ...(exactIndex >= 0 ? { exact: methods[exactIndex]!.name } : {}),
    level,
  };
}

/** The per-prompt mean of several curves of the same circuits sizes (random draws): linear in M, so f of the mean is the mean f. */
function averageCurves(curves: readonly CircuitCurve[]): CircuitCurve {
  if (curves.length === 1) return curves[0]!;
  const mean = (rows: readonly (readonly number[])[]) => rows[0]!.map((_, p) => rows.reduce((s, r) => s + r[p]!, 0) / rows.length);
  const first = curves[0]!;
  return {
    ...first,
    edgeCounts: first.edgeCounts.map((_, k) => curves.reduce((s, c) => s + c.edgeCounts[k]!, 0) / curves.length),
    metrics: first.metrics.map((_, k) => mean(curves.map((c) => c.metrics[k]!))),
  };
}

/** The mean over the rows `sample` (all when undefined) of per-pair score vectors. */
function meanRows(rows: readonly Float64Array[], sample?: ArrayLike<number>): number[] {
  const n = rows[0]!.length;
  const out = new Array<number>(n).fill(0);
  const pick = sample ?? Array.from({ length: rows.length }, (_, i) => i);
  for (let k = 0; k < pick.length; k++) {
    const row = rows[pick[k]!]!;
    for (let i = 0; i < n; i++) out[i]! += row[i]!;
  }
  return out.map((x) => x / pick.length);
}

/** Which summary a difference is of. */
export type HeldOutStatistic = "cpr" | "cmd" | "spearman";

/**
 * The difference `a - b` of two methods' CPR, CMD or Spearman correlation with its paired
 * bootstrap interval (the same resampled pairs for both).
 */
export function heldOutDifference(result: HeldOutResult, a: string, b: string, statistic: HeldOutStatistic): Interval {
  const find = (name: string) => {
    const m = result.methods.find((x) => x.spec.name === name);
    if (!m) throw new InputError(`no method "${name}" in this evaluation (there are ${result.methods.map((x) => x.spec.name).join(", ")})`);
    return m;
  };
  const [x, y] = [find(a), find(b)];
  if (statistic === "spearman") {
    const exact = result.methods.find((m) => m.spec.name === result.exact);
    if (!exact || x.perPair.length === 0 || y.perPair.length === 0) throw new InputError("a Spearman difference needs an exact method and two scored methods");
    const rho = (m: HeldOutMethod, s?: ArrayLike<number>) => spearman(meanRows(m.perPair, s), meanRows(exact.perPair, s));
    return bootstrapInterval((s) => rho(x, s) - rho(y, s), result.scoreSamples, result.level);
  }
  const value = (m: HeldOutMethod, s?: ArrayLike<number>) => (statistic === "cpr" ? summarizeCurve(m.signed, s).areaUnder : summarizeCurve(m.absolute, s).areaFromOne);
  return bootstrapInterval((s) => value(x, s) - value(y, s), result.evalSamples, result.level);
}
