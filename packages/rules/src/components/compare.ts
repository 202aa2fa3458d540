/**
 * One call that scores a model's components (and optionally edges) with several attribution
 * methods, measures them against exact activation patching, and evaluates the circuits each
 * method's ranking builds: what `gim components` prints.
 */
import type { CausalLM } from "@gim/transformer";
import type { GradientMethod } from "../explain.js";
import { gim } from "../gim.js";
import { agreementWith, type Agreement, type Ranking } from "./agreement.js";
import { attributionFromGradients } from "./attribution.js";
import { faithfulnessFromPair, type FaithfulnessCurve } from "./circuit.js";
import type { Component, ComponentInput } from "./components.js";
import { edgeFaithfulnessFromPair, edgesFromGradients, exactEdgesFromPair, listEdges, type Edge } from "./edges.js";
import { exactFromPair } from "./exact.js";
import type { Metric, Prompts } from "./logitMetric.js";
import { preparePair } from "./pair.js";
import { InputError } from "@gim/tensor";

/** The two methods compared by default: GIM (`gim()`) and the plain gradient (`[]`). */
export function defaultComponentMethods(): GradientMethod[] {
  return [
    { name: "gim", rules: gim() },
    { name: "gradient", rules: [] },
  ];
}

/** Options of {@link compareComponentMethods}. */
export interface CompareOptions {
  readonly metric: Metric;
  /** Methods to score with (default GIM and the plain gradient). */
  readonly methods?: readonly GradientMethod[];
  /** Run exact activation patching (one forward per component, per edge with `edges`) and compare with it (default true). */
  readonly exact?: boolean;
  /** Also score edges (default false). */
  readonly edges?: boolean;
  /** k of the top-k overlap (default 10, at most the number of items). */
  readonly top?: number;
  /** Evaluate the circuits of each ranking (default true). */
  readonly faithfulness?: boolean;
  /** Circuit sizes for the faithfulness curves (default: see `circuitFaithfulness`). */
  readonly ks?: readonly number[];
  /** Sequences per forward pass for patched runs (default 64). */
  readonly batchSize?: number;
}

/** Faithfulness curves of one ranking source, by ranking kind. */
export interface CircuitCurves {
  /** Top-k by signed score: the CPR-like area (higher is better). */
  readonly signed: FaithfulnessCurve;
  /** Top-k by |score|: the CMD-like area from 1 (lower is better). */
  readonly absolute: FaithfulnessCurve;
}

/** Scores of one source (a method or exact patching), with their evaluation. */
export interface ScoredSource {
  readonly name: string;
  /** One score per component. */
  readonly scores: readonly number[];
  /** Against exact patching, over heads and MLPs (the embeddings' exact score is always the whole effect). Absent without exact. */
  readonly agreement?: Agreement;
  readonly circuits?: CircuitCurves;
  /** One score per edge (with `edges`). */
  readonly edgeScores?: readonly number[];
  /** Edge scores against exact edge patching, over all edges. */
  readonly edgeAgreement?: Agreement;
  readonly edgeCircuits?: CircuitCurves;
}

/** Everything `gim components` reports. */
export interface ComponentReport {
  readonly metric: string;
  readonly metricClean: number;
  readonly metricCorrupted: number;
  readonly prompts: number;
  readonly tokens: number;
  readonly components: readonly Component[];
  readonly inputs: readonly ComponentInput[];
  /** With `edges`. */
  readonly edges?: readonly Edge[];
  /** Exact activation patching (with `exact`). */
  readonly exact?: ScoredSource;
  readonly methods: readonly ScoredSource[];
}

/**
 * Scores every component with each method (one clean forward and corrupted forward shared,
 * one backward per method), exact patching when asked, and the agreement and circuit
 * faithfulness of each.
 */
export function compareComponentMethods(model: CausalLM, clean: Prompts, corrupted: Prompts, options: CompareOptions): ComponentReport {
  const methods = options.methods ?? defaultComponentMethods();
  if (methods.length === 0 && options.exact === false) throw new InputError("nothing to compute: no methods and no exact patching");
  const names = new Set<string>();
  for (const m of methods) {
    if (names.has(m.name)) throw new InputError(`method "${m.name}" is given twice`);
    names.add(m.name);
  }
  const pair = preparePair(model, clean, corrupted, options.metric, methods.map((m) => m.rules));
  const withExact = options.exact ?? true;
  const withEdges = options.edges ?? false;
  const withCircuits = options.faithfulness ?? true;
  const circuitOptions = { ks: options.ks, batchSize: options.batchSize };
  const { components } = pair.graph;
  const headsAndMlps = components.map((c, i) => (c.kind === "embed" ? -1 : i)).filter((i) => i >= 0);

  const gradients = pair.gradients!;
  const exactNodes = withExact ? exactFromPair(pair, options.batchSize).scores : undefined;
  const exactEdges = withExact && withEdges ? exactEdgesFromPair(pair, options.batchSize).scores : undefined;

  const agree = (scores: readonly number[], exact: readonly number[] | undefined, subset?: readonly number[]): Agreement | undefined =>
    exact && agreementWith(scores, exact, options.top ?? 10, subset);
  const curves = (scores: readonly number[], run: (s: readonly number[], r: Ranking) => FaithfulnessCurve): CircuitCurves | undefined =>
    withCircuits ? { signed: run(scores, "signed"), absolute: run(scores, "absolute") } : undefined;
  const nodeCurves = (scores: readonly number[]) => curves(scores, (s, ranking) => faithfulnessFromPair(pair, s, { ...circuitOptions, ranking }));
  const edgeCurves = (scores: readonly number[]) => curves(scores, (s, ranking) => edgeFaithfulnessFromPair(pair, s, { ...circuitOptions, ranking }));

  const sources: ScoredSource[] = methods.map((m, i) => {
    const scores = attributionFromGradients(pair, gradients[i]!).scores;
    const edgeScores = withEdges ? edgesFromGradients(pair, gradients[i]!).scores : undefined;
    return {
      name: m.name,
      scores,
      agreement: agree(scores, exactNodes, headsAndMlps),
      circuits: nodeCurves(scores),
      ...(edgeScores ? { edgeScores, edgeAgreement: agree(edgeScores, exactEdges), edgeCircuits: edgeCurves(edgeScores) } : {}),
    };
  });
  const exact: ScoredSource | undefined = exactNodes && {
    name: "exact",
    scores: exactNodes,
    circuits: nodeCurves(exactNodes),
    ...(exactEdges ? { edgeScores: exactEdges, edgeCircuits: edgeCurves(exactEdges) } : {}),
  };
  return {
    metric: options.metric.description,
    metricClean: pair.metricClean,
    metricCorrupted: pair.metricCorrupted,
    prompts: pair.clean.length,
    tokens: pair.clean[0]!.length,
    components,
    inputs: pair.graph.inputs,
    ...(withEdges ? { edges: listEdges(model) } : {}),
    ...(exact ? { exact } : {}),
    methods: sources,
  };
}
