/**
 * Circuit faithfulness as MIB's circuit track computes it (MIB-circuit-track,
 * `evaluate_area_under_curve`): for each fraction p of MIB's grid
 * (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1) the circuit of the top
 * n = floor(p * E) edges (E = every edge of the graph), pruned; every edge outside it carries its
 * replacement (`patchEdges.ts`); then
 *
 *   f(C) = (m(C) - m(empty)) / (m(full) - m(empty))
 *
 * with m the metric averaged over the evaluation prompts, `empty` the circuit with no edge (the
 * corrupted run under counterfactual patching) and `full` the model (the clean run). Summaries,
 * trapezoids over p itself (so over [0.001, 1], not rescaled):
 *
 * - CPR, circuit performance ratio: the area under f, with the edges ranked by signed score (higher is better);
 * - CMD, circuit-model distance: the area of |1 - f|, ranked by |score| (lower is better).
 *
 * f(empty) = 0 and f(full) = 1 exactly: the full circuit's run is the clean run itself. When
 * m(full) and m(empty) are (nearly) equal f is undefined (NaN).
 */
import * as T from "@gim/tensor";
import { InputError } from "@gim/tensor";
import { mibFractions, trapezoid, undefinedGap } from "../components/circuit.js";
import type { EdgeRuns } from "./edgeRuns.js";
import type { MibGraph } from "./graph.js";
import { circuitMetrics, type EdgeRunPatchOptions } from "./patchEdges.js";
import { circuitOfTop, edgeOrder, fullCircuit, type Circuit, type EdgeRanking } from "./select.js";

/** The circuits of one ranking at MIB's sizes. */
export interface CircuitPlan {
  readonly ranking: EdgeRanking;
  /** MIB's fractions p. */
  readonly fractions: readonly number[];
  /** floor(p * E) per fraction. */
  readonly sizes: readonly number[];
  /** The pruned circuit per fraction. */
  readonly circuits: readonly Circuit[];
}

/** The circuits MIB evaluates for one set of edge scores: the top floor(p * E) edges, pruned, per fraction. */
export function mibCircuitPlan(graph: MibGraph, scores: readonly number[], ranking: EdgeRanking): CircuitPlan {
  if (scores.length !== graph.edges.length) throw new InputError(`${scores.length} edge scores given for a graph of ${graph.edges.length} edges`);
  const order = edgeOrder(scores, ranking);
  const sizes = mibFractions.map((p) => Math.floor(p * graph.edges.length));
  return { ranking, fractions: mibFractions, sizes, circuits: sizes.map((n) => circuitOfTop(graph, order, n)) };
}

/** The metric of every evaluation prompt for the circuits of one plan, and for the empty circuit and the full model. */
export interface CircuitCurve {
  readonly ranking: EdgeRanking;
  readonly fractions: readonly number[];
  readonly sizes: readonly number[];
  /** Edges left after pruning, per fraction. */
  readonly edgeCounts: readonly number[];
  /** [fraction][prompt]. */
  readonly metrics: readonly (readonly number[])[];
  /** The circuit without edges, per prompt. */
  readonly empty: readonly number[];
  /** The model (every edge), per prompt. */
  readonly full: readonly number[];
}

/** A key naming a circuit's edge set. */
function circuitKey(c: Circuit): string {
  return c.edges.map((x) => (x ? "1" : "0")).join("");
}

/**
 * Runs the circuits of every plan on `runs` (each distinct circuit once, plus the empty circuit
 * and the full model) and returns one curve per plan.
 */
export function evaluatePlans(runs: EdgeRuns, plans: readonly CircuitPlan[], options: EdgeRunPatchOptions = {}): CircuitCurve[] {
  const empty: Circuit = { edges: runs.graph.edges.map(() => false), nodes: runs.graph.senders.map(() => false), edgeCount: 0 };
  const distinct = new Map<string, Circuit>([[circuitKey(empty), empty], [circuitKey(fullCircuit(runs.graph)), fullCircuit(runs.graph)]]);
  for (const p of plans) for (const c of p.circuits) distinct.set(circuitKey(c), c);
  const keys = [...distinct.keys()];
  const metrics = circuitMetrics(runs, keys.map((k) => distinct.get(k)!.edges), options);
  const of = (c: Circuit) => metrics[keys.indexOf(circuitKey(c))]!;
  return plans.map((p) => ({
    ranking: p.ranking,
    fractions: p.fractions,
    sizes: p.sizes,
    edgeCounts: p.circuits.map((c) => c.edgeCount),
    metrics: p.circuits.map(of),
    empty: of(empty),
    full: of(fullCircuit(runs.graph)),
  }));
}

/** The curves of several prompt groups (the same plans on prompts of different lengths) as one: per-prompt values joined. */
export function joinCurves(parts: readonly CircuitCurve[]): CircuitCurve {
  const first = parts[0];
  if (!first) throw new InputError("joinCurves needs at least one curve");
  return {
    ...first,
    metrics: first.metrics.map((_, i) => parts.flatMap((c) => c.metrics[i]!)),
    empty: parts.flatMap((c) => c.empty),
    full: parts.flatMap((c) => c.full),
  };
}

/** f per fraction and MIB's areas. */
export interface CurveSummary {
  readonly faithfulness: readonly number[];
  /** Area under f over the fractions (CPR when ranked by signed score). */
  readonly areaUnder: number;
  /** Area of |1 - f| over the fractions (CMD when ranked by |score|). */
  readonly areaFromOne: number;
  /** False when m(full) and m(empty) are too close to normalise by. */
  readonly defined: boolean;
}

/** The mean of `values` over the prompts `sample` (indices, repeats allowed), or over all. */
export function meanOver(values: readonly number[], sample?: ArrayLike<number>): number {
  if (!sample) return values.reduce((s, v) => s + v, 0) / values.length;
  let total = 0;
  for (let i = 0; i < sample.length; i++) total += values[sample[i]!]!;
  return total / sample.length;
}

/** MIB's faithfulness and areas of a curve, over all its prompts or a resample of them. */
export function summarizeCurve(curve: CircuitCurve, sample?: ArrayLike<number>): CurveSummary {
  const empty = meanOver(curve.empty, sample);
  const full = meanOver(curve.full, sample);
  const gap = full - empty;
  const defined = Math.abs(gap) > undefinedGap * Math.max(1, Math.abs(full), Math.abs(empty));
  const faithfulness = curve.metrics.map((m) => (defined ? (meanOver(m, sample) - empty) / gap + 0 : Number.NaN));
  return { faithfulness, defined, ...mibAreas(curve.fractions, faithfulness) };
}

/** MIB's areas of a faithfulness curve over its fractions: under f, and of |1 - f| (trapezoid rule). */
export function mibAreas(fractions: readonly number[], faithfulness: readonly number[]): { areaUnder: number; areaFromOne: number } {
  return { areaUnder: trapezoid(fractions, faithfulness), areaFromOne: trapezoid(fractions, faithfulness.map((f) => Math.abs(1 - f))) };
}

/** Random edge scores (standard normal, seeded): the random baseline's ranking. */
export function randomEdgeScores(graph: MibGraph, seed: number): number[] {
  return Array.from(T.randNormal([graph.edges.length], { rng: new T.Rng(seed), dtype: "float64" }).toFlat());
}
