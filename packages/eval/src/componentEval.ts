/**
 * Component attribution on a held-out set of clean/corrupted pairs, after the
 * circuit-localization track of MIB: per method (plain gradient, GIM) the attribution-patching
 * scores of every node (embeddings, heads, MLPs) and edge, their agreement with exact
 * activation patching, and the faithfulness of the circuits of the top-k as k grows.
 *
 * The metric M is the logit difference logit[answer] - logit[wrong] at the last position,
 * averaged over all pairs. Pairs of different lengths cannot share a forward pass, so they are
 * run in groups of one length; since every score here is linear in M (attribution patching,
 * exact patching, and the M of each circuit run), the scores of the whole set are the group
 * scores weighted by group size, and the circuits of the whole set are evaluated by combining
 * each group's M(C_k) the same way.
 */
import {
  agreementWith, attributionFromGradients, curveFromMetrics, faithfulnessFromPair, componentGraph, edgeFaithfulnessFromPair, edgesFromGradients,
  exactEdgesFromPair, listEdges, exactFromPair, logitDiff, preparePair, type Agreement, type Ranking, type FaithfulnessCurve, type PreparedPair,
  type GradientMethod,
} from "@gim/rules";
import { InputError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import type { EvalPair } from "./task.js";

/** A faithfulness curve over the whole pair set. */
export interface CurveSummary {
  readonly ranking: Ranking;
  /** Items (nodes or edges) N. */
  readonly total: number;
  /** Circuit sizes, ascending (every k from 0 to N). */
  readonly ks: readonly number[];
  /** f(k) = (M(C_k) - M(C_0)) / (M(C_N) - M(C_0)); NaN when undefined. */
  readonly faithfulness: readonly number[];
  readonly defined: boolean;
  /** Trapezoid area of f over k/N (signed ranking: CPR-like, higher is better). */
  readonly area: number;
  /** Trapezoid area of |1 - f| over k/N (absolute ranking: CMD-like, lower is better). */
  readonly areaFromOne: number;
  /** MIB's recipe: circuit sizes floor(p N) for p in `mibFractions`, trapezoid over p. */
  readonly mib: { readonly ks: readonly number[]; readonly faithfulness: readonly number[]; readonly area: number; readonly areaFromOne: number };
}

/** One ranking source (a method, or exact patching as the reference) at one level (nodes or edges). */
export interface LevelResult {
  /** Scores over the whole set, one per node or edge. */
  readonly scores: readonly number[];
  /** Against exact patching (absent for exact itself). */
  readonly agreement?: Agreement;
  readonly signed: CurveSummary;
  readonly absolute: CurveSummary;
}

/** A ranking source's results. */
export interface SourceResult {
  /** `gradient`, `gim`, or `exact`. */
  readonly name: string;
  readonly nodes: LevelResult;
  readonly edges: LevelResult;
}

/** The component evaluation of one model. */
export interface ComponentEvalResult {
  readonly pairs: number;
  /** Sequence lengths of the groups and their sizes. */
  readonly groups: readonly { readonly length: number; readonly pairs: number }[];
  readonly metric: string;
  /** M of the clean and the corrupted runs (mean over pairs). */
  readonly metricClean: number;
  readonly metricCorrupted: number;
  /** Node and edge names. */
  readonly nodes: readonly string[];
  readonly edges: readonly string[];
  /** k of the top-k overlap for nodes (heads and MLPs) and edges. */
  readonly topNodes: number;
  readonly topEdges: number;
  /** Methods, then `exact`. */
  readonly sources: readonly SourceResult[];
}

/** Options of {@link evaluateComponents}. */
export interface ComponentEvalOptions {
  /** Methods to compare (e.g. plain gradient and GIM). */
  readonly methods: readonly GradientMethod[];
  /** k of the node top-k overlap (default 3; agreement is over heads and MLPs). */
  readonly topNodes?: number;
  /** k of the edge top-k overlap (default 5). */
  readonly topEdges?: number;
  /** Sequences per forward pass of patched runs (default 64). */
  readonly batchSize?: number;
  /** Called after each group of one length with the number of pairs it held. */
  readonly onGroup?: (pairs: number) => void;
}

/** Adds `w * xs` into `total` (allocating it on first use). */
function accumulate(total: number[] | undefined, xs: readonly number[], w: number): number[] {
  const out = total ?? new Array<number>(xs.length).fill(0);
  xs.forEach((x, i) => (out[i]! += w * x));
  return out;
}

/** The curve of the whole set from the groups' curves of one ranking (same scores, so the same circuits). */
function combineCurves(curves: readonly FaithfulnessCurve[], weights: readonly number[]): CurveSummary {
  const { ranking, total, ks } = curves[0]!;
  const metrics = ks.map((_, i) => curves.reduce((s, c, g) => s + weights[g]! * c.metrics[i]!, 0));
  const { faithfulness, defined, area, areaFromOne, mib } = curveFromMetrics(ks, metrics, total);
  return { ranking, total, ks, faithfulness, defined, area, areaFromOne, mib: { ks: mib.ks, faithfulness: mib.faithfulness, area: mib.area, areaFromOne: mib.areaFromOne } };
}

/**
 * Scores every node and edge of `model` with each method over `pairs`, runs exact activation
 * and edge patching, and evaluates the circuits of every ranking (methods and exact).
 */
export function evaluateComponents(model: CausalLM, pairs: readonly EvalPair[], options: ComponentEvalOptions): ComponentEvalResult {
  if (pairs.length === 0) throw new InputError("component evaluation needs at least one clean/corrupted pair");
  const byLength = new Map<number, EvalPair[]>();
  pairs.forEach((p, i) => {
    if (p.clean.length !== p.corrupted.length) throw new InputError(`pair ${i}: the clean prompt has ${p.clean.length} tokens, the corrupted one ${p.corrupted.length}`);
    const group = byLength.get(p.clean.length) ?? [];
    group.push(p);
    byLength.set(p.clean.length, group);
  });
  const groups = [...byLength.entries()].sort((a, b) => a[0] - b[0]);
  const weights = groups.map(([, g]) => g.length / pairs.length);
  const batchSize = options.batchSize;
  const prepared: PreparedPair[] = [];
  const nodeScores: (number[] | undefined)[] = options.methods.map(() => undefined);
  const edgeScores: (number[] | undefined)[] = options.methods.map(() => undefined);
  let exactNodes: number[] | undefined;
  let exactEdges: number[] | undefined;
  let metricClean = 0;
  let metricCorrupted = 0;
  groups.forEach(([, group], g) => {
    const w = weights[g]!;
    const metric = logitDiff({ answer: group.map((p) => p.answer), wrong: group.map((p) => p.wrong) });
    const pair = preparePair(model, group.map((p) => p.clean), group.map((p) => p.corrupted), metric, options.methods.map((m) => m.rules));
    const { gradients, ...activations } = pair;
    prepared.push(activations); // kept for the circuit curves below; the gradients are not needed there
    options.methods.forEach((_, m) => {
      nodeScores[m] = accumulate(nodeScores[m], attributionFromGradients(pair, gradients![m]!).scores, w);
      edgeScores[m] = accumulate(edgeScores[m], edgesFromGradients(pair, gradients![m]!).scores, w);
    });
    exactNodes = accumulate(exactNodes, exactFromPair(pair, batchSize).scores, w);
    exactEdges = accumulate(exactEdges, exactEdgesFromPair(pair, batchSize).scores, w);
    metricClean += w * pair.metricClean;
    metricCorrupted += w * pair.metricCorrupted;
    options.onGroup?.(group.length);
  });
  const { components } = componentGraph(model);
  const edges = listEdges(model);
  const headsAndMlps = components.flatMap((c, i) => (c.kind === "embed" ? [] : [i]));
  const topNodes = options.topNodes ?? 3;
  const topEdges = options.topEdges ?? 5;
  const nodeKs = Array.from({ length: components.length + 1 }, (_, k) => k);
  const edgeKs = Array.from({ length: edges.length + 1 }, (_, k) => k);
  // One signed ranking for every group: most supportive of the whole set's clean-minus-corrupted difference first.
  const direction = metricClean >= metricCorrupted ? 1 : -1;
  const curves = (scores: readonly number[], level: "nodes" | "edges", ranking: Ranking): CurveSummary =>
    combineCurves(
      prepared.map((pair) =>
        level === "nodes"
          ? faithfulnessFromPair(pair, scores, { ranking, ks: nodeKs, batchSize, direction })
          : edgeFaithfulnessFromPair(pair, scores, { ranking, ks: edgeKs, batchSize, direction }),
      ),
      weights,
    );
  const level = (scores: readonly number[], kind: "nodes" | "edges", exact?: readonly number[]): LevelResult => ({
    scores,
    ...(exact ? { agreement: kind === "nodes" ? agreementWith(scores, exact, topNodes, headsAndMlps) : agreementWith(scores, exact, topEdges) } : {}),
    signed: curves(scores, kind, "signed"),
    absolute: curves(scores, kind, "absolute"),
  });
  const sources: SourceResult[] = options.methods.map((m, i) => ({
    name: m.name,
    nodes: level(nodeScores[i]!, "nodes", exactNodes),
    edges: level(edgeScores[i]!, "edges", exactEdges),
  }));
  sources.push({ name: "exact", nodes: level(exactNodes!, "nodes"), edges: level(exactEdges!, "edges") });
  return {
    pairs: pairs.length,
    groups: groups.map(([length, g]) => ({ length, pairs: g.length })),
    metric: "logit[answer] - logit[wrong] at the last position, mean over pairs",
    metricClean,
    metricCorrupted,
    nodes: components.map((c) => c.name),
    edges: edges.map((e) => e.name),
    topNodes,
    topEdges,
    sources,
  };
}
