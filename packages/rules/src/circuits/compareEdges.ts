/**
 * MIB-graph edges for one clean/corrupted batch, as `gim components --edges` reports them:
 * every edge scored by each gradient method (EAP or EAP-IG, any backward rules), optionally by
 * exact edge patching and by a graph file's scores; each ranking's agreement with exact
 * patching and its circuits at MIB's sizes evaluated on the same batch (in-sample: for the
 * held-out protocol see `heldOut.ts`); and the faithfulness of a graph file's own circuit.
 *
 * `readGraph` / `writeGraph` read and write graph files in EAP-IG's JSON layout for a model
 * (`graphFile.ts`).
 */
import type { Rule } from "@gim/autograd";
import { InputError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { agreementWith, type Agreement } from "../components/agreement.js";
import type { Metric, Prompts } from "../components/logitMetric.js";
import { edgeAttributionFromRuns, mibIgSteps, type EdgeAttributionMethod } from "./attribution.js";
import { prepareEdgeRuns, type EdgeRuns } from "./edgeRuns.js";
import { evaluatePlans, mibCircuitPlan, summarizeCurve, type CurveSummary } from "./faithfulness.js";
import { mibGraph, type MibGraph } from "./graph.js";
import { graphFromJson, graphToJson, type GraphFile, type GraphToJsonOptions } from "./graphFile.js";
import { exactEdgePatching } from "./patchEdges.js";
import type { Circuit } from "./select.js";

/** The graph file of `scores` on `model`'s MIB graph, as an object to `JSON.stringify` (`cfg.d_model` from the model). */
export function writeGraph(model: CausalLM, scores: readonly number[], options: Omit<GraphToJsonOptions, "dModel"> = {}): Record<string, unknown> {
  return graphToJson(mibGraph(model), scores, { ...options, dModel: model.hiddenSize });
}

/** Reads a graph file's text (named `file` in errors) for `model`'s MIB graph: scores and the pruned `in_graph` circuit. */
export function readGraph(model: CausalLM, text: string, file: string): GraphFile {
  return graphFromJson(mibGraph(model), text, file);
}

/** A ranking of the edges and what it gives on the batch. */
export interface EdgeSource {
  /** A method's name, `exact`, or the graph file's name. */
  readonly name: string;
  /** One score per edge (mean over the batch's prompts). */
  readonly scores: readonly number[];
  /** Against exact edge patching, when it ran (absent for exact itself). */
  readonly agreement?: Agreement;
  /** MIB's circuits of this ranking on the batch: signed (CPR = areaUnder) and |score| (CMD = areaFromOne). */
  readonly signed: CurveSummary;
  readonly absolute: CurveSummary;
  /** floor(p * E) per fraction, and the edges left after pruning (signed ranking). */
  readonly sizes: readonly number[];
  readonly edgeCounts: readonly number[];
}

/** A graph file's own circuit evaluated on the batch. */
export interface GraphCircuitResult {
  /** Edges marked `in_graph` that survive pruning. */
  readonly edges: number;
  /** f of that circuit on the batch. */
  readonly faithfulness: number;
  /** M of the circuit, of the empty circuit (the corrupted run) and of the model (the clean run). */
  readonly metric: number;
  readonly metricEmpty: number;
  readonly metricFull: number;
}

/** The edges of one batch (see the top of this file). */
export interface EdgeComparison {
  readonly graph: MibGraph;
  readonly method: EdgeAttributionMethod;
  readonly steps: number;
  /** Methods in order, then the graph file's scores, then exact patching. */
  readonly sources: readonly EdgeSource[];
  /** The graph file's circuit, when a file was given. */
  readonly fileCircuit?: GraphCircuitResult;
}

/** Options of {@link compareEdgeMethods}. */
export interface EdgeCompareOptions {
  readonly metric: Metric;
  readonly methods: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
  /** EAP (default) or EAP-IG on the input embeddings (or activations). */
  readonly method?: EdgeAttributionMethod;
  /** Integrated-gradients steps (default MIB's 5). */
  readonly steps?: number;
  /** Also run exact edge patching (a forward per edge) and compare with it. */
  readonly exact?: boolean;
  /** A graph file's scores and circuit to evaluate alongside. */
  readonly file?: { readonly name: string; readonly graph: GraphFile };
  /** k of the top-k overlap (default 10). */
  readonly top?: number;
  /** Sequences per forward pass of patched runs (default 64). */
  readonly batchSize?: number;
}

/** Scores MIB's graph of `model` on one batch with each method (and exact patching, and a file) and evaluates their circuits on it. */
export function compareEdgeMethods(model: CausalLM, clean: Prompts, corrupted: Prompts, options: EdgeCompareOptions): EdgeComparison {
  const method = options.method ?? "eap";
  const steps = options.steps ?? mibIgSteps;
  const rules = options.methods.map((m) => m.rules);
  if (options.methods.length === 0 && !options.exact && !options.file) throw new InputError("nothing to compare: no methods, no exact patching and no graph file");
  const runs: EdgeRuns = prepareEdgeRuns(model, clean, corrupted, options.metric, method === "eap" ? { gradientRules: rules } : {});
  const scored = options.methods.length > 0 ? edgeAttributionFromRuns(runs, rules, { method, steps }) : [];
  const exact = options.exact ? exactEdgePatching(runs, { batchSize: options.batchSize }).scores : undefined;
  const named = [
    ...options.methods.map((m, i) => ({ name: m.name, scores: scored[i]!.scores })),
    ...(options.file ? [{ name: options.file.name, scores: options.file.graph.scores }] : []),
    ...(exact ? [{ name: "exact", scores: exact }] : []),
  ];
  const plans = named.flatMap((s) => [mibCircuitPlan(runs.graph, s.scores, "signed"), mibCircuitPlan(runs.graph, s.scores, "absolute")]);
  const fileCircuit: Circuit | undefined = options.file?.graph.circuit;
  const filePlan = fileCircuit ? [{ ranking: "signed" as const, fractions: [Number.NaN], sizes: [fileCircuit.edgeCount], circuits: [fileCircuit] }] : [];
  const curves = evaluatePlans(runs, [...plans, ...filePlan], { batchSize: options.batchSize });
  const top = options.top ?? 10;
  const sources = named.map((s, i): EdgeSource => ({
    name: s.name,
    scores: s.scores,
    ...(exact && s.name !== "exact" ? { agreement: agreementWith(s.scores, exact, top) } : {}),
    signed: summarizeCurve(curves[2 * i]!),
    absolute: summarizeCurve(curves[2 * i + 1]!),
    sizes: curves[2 * i]!.sizes,
    edgeCounts: curves[2 * i]!.edgeCounts,
  }));
  let fileResult: GraphCircuitResult | undefined;
  if (fileCircuit) {
    const curve = curves[curves.length - 1]!;
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    fileResult = { edges: fileCircuit.edgeCount, faithfulness: summarizeCurve(curve).faithfulness[0]!, metric: mean(curve.metrics[0]!), metricEmpty: mean(curve.empty), metricFull: mean(curve.full) };
  }
  return { graph: runs.graph, method, steps, sources, ...(fileResult ? { fileCircuit: fileResult } : {}) };
}
