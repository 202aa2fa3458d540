/**
 * Circuits as MIB builds them from edge scores (hannamw/EAP-IG, `Graph.apply_topn` and
 * `Graph.prune`): keep the top-n edges by score (signed: largest first; absolute: largest |score|
 * first), then prune until the circuit is connected:
 *
 *   repeat
 *     a node is in the circuit iff it has an outgoing edge in the circuit and an incoming one
 *       (the input counts as having one; a head's incoming edges are those into its q, k or v);
 *     an edge stays iff its sender and the node of its receiver are in the circuit (the logits always are)
 *   until nothing changes.
 *
 * So an edge whose sender cannot be reached from the input, or whose receiver cannot reach the
 * logits, leaves the circuit; a circuit can hold fewer edges than the n it was built from.
 */
import { InputError } from "@gim/tensor";
import type { MibGraph } from "./graph.js";

/** Edges and sender nodes in a circuit. */
export interface Circuit {
  /** One flag per edge of the graph. */
  readonly edges: readonly boolean[];
  /** One flag per sender of the graph. */
  readonly nodes: readonly boolean[];
  /** How many edges are in. */
  readonly edgeCount: number;
}

/** How scores are ranked: by score ("signed", MIB's CPR) or by |score| ("absolute", MIB's CMD). */
export type EdgeRanking = "signed" | "absolute";

/** Edge indices from most to least important; ties keep edge order. */
export function edgeOrder(scores: readonly number[], ranking: EdgeRanking): number[] {
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) throw new InputError(`edge score ${i} is ${s}: cannot rank`);
  });
  const key = ranking === "absolute" ? (i: number) => Math.abs(scores[i]!) : (i: number) => scores[i]!;
  return scores.map((_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
}

/** The circuit of the first `n` edges of `order`, pruned. */
export function circuitOfTop(graph: MibGraph, order: readonly number[], n: number): Circuit {
  if (!Number.isInteger(n) || n < 0 || n > graph.edges.length) throw new InputError(`circuit size ${n} is out of range [0, ${graph.edges.length}]`);
  const edges = new Array<boolean>(graph.edges.length).fill(false);
  for (let i = 0; i < n; i++) edges[order[i]!] = true;
  return pruneCircuit(graph, edges);
}

/** The top-n circuit of `scores` (one per edge), pruned: MIB's `apply_topn(n, absolute)`. */
export function topEdgeCircuit(graph: MibGraph, scores: readonly number[], n: number, ranking: EdgeRanking): Circuit {
  if (scores.length !== graph.edges.length) throw new InputError(`${scores.length} edge scores given for a graph of ${graph.edges.length} edges`);
  return circuitOfTop(graph, edgeOrder(scores, ranking), n);
}

/** Prunes a set of edges until every node left has an incoming and an outgoing edge (see the top of this file). */
export function pruneCircuit(graph: MibGraph, kept: readonly boolean[]): Circuit {
  if (kept.length !== graph.edges.length) throw new InputError(`${kept.length} edge flags given for a graph of ${graph.edges.length} edges`);
  const edges = [...kept];
  const senders = graph.senders.length;
  let nodes = new Array<boolean>(senders).fill(false);
  for (let changed = true; changed; ) {
    const hasOut = new Array<boolean>(senders).fill(false);
    const hasIn = new Array<boolean>(senders).fill(false);
    hasIn[0] = true; // the input
    graph.edges.forEach((e, i) => {
      if (!edges[i]) return;
      hasOut[e.from] = true;
      const owner = graph.receivers[e.to]!.owner;
      if (owner !== undefined) hasIn[owner] = true;
    });
    const next = hasOut.map((out, u) => out && hasIn[u]!);
    changed = next.some((x, u) => x !== nodes[u]);
    nodes = next;
    graph.edges.forEach((e, i) => {
      if (!edges[i]) return;
      const owner = graph.receivers[e.to]!.owner;
      if (!nodes[e.from] || (owner !== undefined && !nodes[owner])) {
        edges[i] = false;
        changed = true;
      }
    });
  }
  return { edges, nodes, edgeCount: edges.filter(Boolean).length };
}

/** The circuit holding every edge (the full model). */
export function fullCircuit(graph: MibGraph): Circuit {
  return { edges: graph.edges.map(() => true), nodes: graph.senders.map(() => true), edgeCount: graph.edges.length };
}
