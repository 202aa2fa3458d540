/**
 * Graph files in the layout EAP-IG writes and MIB's circuit track reads (`Graph.to_json` /
 * `Graph.from_json` of hannamw/EAP-IG):
 *
 *   {
 *     "cfg":   { "n_layers": 2, "n_heads": 4, "parallel_attn_mlp": false, "d_model": 64 },
 *     "nodes": { "input": { "in_graph": true }, "a0.h0": { "in_graph": false }, ..., "logits": { "in_graph": true } },
 *     "edges": { "input->a0.h0<q>": { "score": 0.12, "in_graph": true }, ..., "m1->logits": { ... } }
 *   }
 *
 * Scores are written in this package's sign (positive: the edge supports the clean answer),
 * which is that of MIB's scores (its attribution metric is the negated logit difference, and
 * scores are gradients times corrupted-minus-clean activations). They are the mean over
 * prompts; MIB's EAP files are additionally divided by its batch size, a constant factor that
 * changes no ranking. A file may carry a `"gim"` object with where the scores come from; the
 * reference tools ignore keys other than the three above.
 */
import { FileFormatError, InputError } from "@gim/tensor";
import type { GraphShape, MibGraph } from "./graph.js";
import { pruneCircuit, type Circuit } from "./select.js";

/** What a graph file holds, in this package's terms. */
export interface GraphFile {
  readonly cfg: { readonly n_layers: number; readonly n_heads: number; readonly parallel_attn_mlp: boolean; readonly d_model: number };
  /** One score per edge of the graph, in `graph.edges` order. */
  readonly scores: readonly number[];
  /** The edges and sender nodes marked `in_graph`. */
  readonly circuit: Circuit;
  /** The file's `"gim"` object, if any. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Options of {@link graphToJson}. */
export interface GraphToJsonOptions {
  /** Model width (`cfg.d_model`). */
  readonly dModel: number;
  /** The circuit marked `in_graph` (default none: every edge and node false, the logits true, as EAP-IG's score files are). */
  readonly circuit?: Circuit;
  /** Written as `"gim"`: where the scores come from (model, method, rules, metric, pairs). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** The graph file (as an object to `JSON.stringify`) of `scores` on `graph`. */
export function graphToJson(graph: MibGraph, scores: readonly number[], options: GraphToJsonOptions): Record<string, unknown> {
  if (scores.length !== graph.edges.length) throw new InputError(`${scores.length} edge scores given for a graph of ${graph.edges.length} edges`);
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) throw new InputError(`edge ${graph.edges[i]!.name} has score ${s}; a graph file holds finite scores`);
  });
  const circuit = options.circuit;
  const nodes: Record<string, { in_graph: boolean }> = {};
  graph.senders.forEach((s, u) => (nodes[s.name] = { in_graph: circuit?.nodes[u] ?? false }));
  nodes.logits = { in_graph: true };
  const edges: Record<string, { score: number; in_graph: boolean }> = {};
  graph.edges.forEach((e, i) => (edges[e.name] = { score: scores[i]!, in_graph: circuit?.edges[i] ?? false }));
  return {
    cfg: { n_layers: graph.layers, n_heads: graph.heads, parallel_attn_mlp: false, d_model: options.dModel },
    nodes,
    edges,
    ...(options.metadata ? { gim: options.metadata } : {}),
  };
}

/**
 * Reads a graph file's text (named `file` in errors) for `graph`: every edge of the graph must
 * be there with a finite score and a boolean `in_graph`; the file's shape must be the graph's.
 * The circuit is the file's `in_graph` edges, pruned as MIB prunes before evaluating.
 */
export function graphFromJson(graph: MibGraph, text: string, file: string): GraphFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(data)) throw new FileFormatError(file, "a graph file is a JSON object with cfg, nodes and edges");
  for (const key of ["cfg", "nodes", "edges"]) if (!isObject(data[key])) throw new FileFormatError(file, `"${key}" is missing or not an object`);
  const cfg = data.cfg as Record<string, unknown>;
  const layers = cfg.n_layers;
  const heads = cfg.n_heads;
  if (!Number.isInteger(layers) || !Number.isInteger(heads)) throw new FileFormatError(file, "cfg.n_layers and cfg.n_heads must be integers");
  if (cfg.parallel_attn_mlp === true) throw new FileFormatError(file, "cfg.parallel_attn_mlp is true; only sequential attention and MLP blocks are supported");
  checkShape(graph, { layers: layers as number, heads: heads as number }, file);
  const edgesIn = data.edges as Record<string, unknown>;
  const known = new Set(graph.edges.map((e) => e.name));
  const unknown = Object.keys(edgesIn).find((name) => !known.has(name));
  if (unknown !== undefined) throw new FileFormatError(file, `edge "${unknown}" is not an edge of MIB's graph of ${layers} layers of ${heads} heads`);
  const scores: number[] = [];
  const kept: boolean[] = [];
  for (const e of graph.edges) {
    const entry = edgesIn[e.name];
    if (entry === undefined) throw new FileFormatError(file, `edge "${e.name}" is missing (the file has ${Object.keys(edgesIn).length} of ${graph.edges.length} edges)`);
    if (!isObject(entry) || typeof entry.score !== "number" || !Number.isFinite(entry.score) || typeof entry.in_graph !== "boolean") {
      throw new FileFormatError(file, `edge "${e.name}" needs a finite number "score" and a boolean "in_graph"`);
    }
    scores.push(entry.score);
    kept.push(entry.in_graph);
  }
  const metadata = isObject(data.gim) ? (data.gim as Record<string, unknown>) : undefined;
  return {
    cfg: { n_layers: layers as number, n_heads: heads as number, parallel_attn_mlp: false, d_model: typeof cfg.d_model === "number" ? cfg.d_model : Number.NaN },
    scores,
    circuit: pruneCircuit(graph, kept),
    ...(metadata ? { metadata } : {}),
  };
}

function checkShape(graph: MibGraph, shape: GraphShape, file: string): void {
  if (shape.layers !== graph.layers || shape.heads !== graph.heads) {
    throw new InputError(`${file} is a graph of ${shape.layers} layers of ${shape.heads} heads; the model has ${graph.layers} layers of ${graph.heads} heads`);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
