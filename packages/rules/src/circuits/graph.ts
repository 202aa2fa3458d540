/**
 * The computational graph of the circuit-localization track of MIB (Mueller et al. 2025), as
 * the EAP-IG code that MIB uses builds it (hannamw/EAP-IG, `Graph.from_model`):
 *
 * - senders (nodes whose output is written to the residual stream): `input` (the embeddings),
 *   every attention head `a{layer}.h{head}`, every MLP `m{layer}`;
 * - receivers (inputs that read the residual stream): every head's query, key and value input
 *   separately (`a{layer}.h{head}<q>`, `<k>`, `<v>`), every MLP's input (`m{layer}`), and the
 *   logits (`logits`);
 * - an edge `u->v` (or `u->a1.h2<q>`) from every sender to every receiver after it: a head's
 *   q/k/v inputs read what was written before its layer; an MLP's input also reads its own
 *   layer's heads; the logits read everything.
 *
 * Indices follow the reference: senders in forward order (input, then per layer its heads and
 * its MLP: 1 + L(H + 1) of them); receivers per layer the q inputs of every head, then the k
 * inputs, then the v inputs, then the MLP, and the logits last (L(3H + 1) + 1); edges in the
 * order the reference adds them. Under grouped-query attention the graph is the same (k and v
 * receivers per query head, as the reference ungroups the kv heads).
 *
 *   edges = sum over layers l of [3H (1 + l(H + 1)) + 1 + l(H + 1) + H] + 1 + L(H + 1)
 *
 * (110 for 2 layers of 4 heads, 262 for 3, 32,491 for GPT-2 small's 12 of 12.)
 */
import { InputError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";

/** How a receiver reads a head: its queries, keys or values. */
export type QkvInput = "q" | "k" | "v";

/** A node whose output enters the residual stream. */
export interface Sender {
  /** `input`, `a1.h2`, `m0`. */
  readonly name: string;
  readonly kind: "input" | "head" | "mlp";
  /** Block index; -1 for the input. */
  readonly layer: number;
  /** The head's index (heads only). */
  readonly head?: number;
  /** Position in `MibGraph.senders` (the reference's forward index). */
  readonly index: number;
}

/** An input that reads the residual stream: one head's q, k or v input, an MLP's input, or the logits'. */
export interface Receiver {
  /** `a1.h2<q>`, `m0`, `logits`. */
  readonly name: string;
  /** The node it belongs to: `a1.h2`, `m0`, `logits`. */
  readonly node: string;
  readonly kind: QkvInput | "mlp" | "logits";
  /** Block index; the number of blocks for the logits. */
  readonly layer: number;
  /** The head's index (q/k/v inputs only). */
  readonly head?: number;
  /** Index in `MibGraph.senders` of the node it belongs to (undefined for the logits). */
  readonly owner?: number;
  /** Senders `0 .. upstream - 1` write to the residual stream before it reads it. */
  readonly upstream: number;
  /** Position in `MibGraph.receivers` (the reference's backward index). */
  readonly index: number;
}

/** An edge from a sender to a receiver after it. */
export interface MibEdge {
  /** `a0.h1->a1.h2<q>`, `m0->logits`. */
  readonly name: string;
  /** Index into `MibGraph.senders`. */
  readonly from: number;
  /** Index into `MibGraph.receivers`. */
  readonly to: number;
}

/** The shape a graph is built from: blocks and (query) heads per block. */
export interface GraphShape {
  readonly layers: number;
  readonly heads: number;
}

/** MIB's graph of a model (see the top of this file). */
export interface MibGraph extends GraphShape {
  readonly senders: readonly Sender[];
  readonly receivers: readonly Receiver[];
  readonly edges: readonly MibEdge[];
  /** Edge index by name. */
  readonly edgeIndex: ReadonlyMap<string, number>;
  /** Edge index by `from * receivers.length + to`; -1 where there is no edge. */
  readonly edgeAt: Int32Array;
}

/** The number of edges of MIB's graph of `shape`, in closed form. */
export function mibEdgeCount(shape: GraphShape): number {
  const { layers: L, heads: H } = shape;
  let total = 1 + L * (H + 1); // into the logits
  for (let l = 0; l < L; l++) total += 3 * H * (1 + l * (H + 1)) + 1 + l * (H + 1) + H;
  return total;
}

/** MIB's graph for `layers` blocks of `heads` heads. */
export function mibGraphOfShape(shape: GraphShape): MibGraph {
  const { layers, heads } = shape;
  if (!Number.isInteger(layers) || layers < 1 || !Number.isInteger(heads) || heads < 1) {
    throw new InputError(`a circuit graph needs at least one block and one head, got ${layers} blocks of ${heads} heads`);
  }
  const senders: Sender[] = [{ name: "input", kind: "input", layer: -1, index: 0 }];
  const receivers: Receiver[] = [];
  for (let l = 0; l < layers; l++) {
    const before = senders.length; // what this layer's heads read
    for (let h = 0; h < heads; h++) senders.push({ name: `a${l}.h${h}`, kind: "head", layer: l, head: h, index: senders.length });
    for (const kind of ["q", "k", "v"] as const) {
      for (let h = 0; h < heads; h++) {
        receivers.push({ name: `a${l}.h${h}<${kind}>`, node: `a${l}.h${h}`, kind, layer: l, head: h, owner: before + h, upstream: before, index: receivers.length });
      }
    }
    const mlp = senders.length;
    senders.push({ name: `m${l}`, kind: "mlp", layer: l, index: mlp });
    receivers.push({ name: `m${l}`, node: `m${l}`, kind: "mlp", layer: l, owner: mlp, upstream: mlp, index: receivers.length });
  }
  receivers.push({ name: "logits", node: "logits", kind: "logits", layer: layers, upstream: senders.length, index: receivers.length });

  // Edges in the reference's order: per layer every (sender, head, q/k/v), then every sender into the MLP; the logits last.
  const edges: MibEdge[] = [];
  const add = (from: number, to: number) => edges.push({ name: `${senders[from]!.name}->${receivers[to]!.name}`, from, to });
  for (let l = 0; l < layers; l++) {
    const first = l * (3 * heads + 1); // this layer's first receiver
    for (let u = 0; u < receivers[first]!.upstream; u++) {
      for (let h = 0; h < heads; h++) for (let part = 0; part < 3; part++) add(u, first + part * heads + h);
    }
    const mlp = first + 3 * heads;
    for (let u = 0; u < receivers[mlp]!.upstream; u++) add(u, mlp);
  }
  const logits = receivers.length - 1;
  for (let u = 0; u < senders.length; u++) add(u, logits);

  const edgeAt = new Int32Array(senders.length * receivers.length).fill(-1);
  edges.forEach((e, i) => (edgeAt[e.from * receivers.length + e.to] = i));
  return { layers, heads, senders, receivers, edges, edgeIndex: new Map(edges.map((e, i) => [e.name, i])), edgeAt };
}

const graphs = new WeakMap<CausalLM, MibGraph>();

/** MIB's graph of `model`, from its declared layout (cached per model). */
export function mibGraph(model: CausalLM): MibGraph {
  let graph = graphs.get(model);
  if (!graph) {
    const { blocks } = model.layout;
    if (blocks.length === 0) throw new InputError(`the ${model.config.modelType} model has no blocks: it has no circuit graph`);
    const heads = blocks[0]!.attention.heads;
    const uneven = blocks.find((b) => b.attention.heads !== heads);
    if (uneven) throw new InputError(`block ${uneven.index} has ${uneven.attention.heads} heads and block 0 ${heads}: MIB's graph needs the same number in every block`);
    graph = mibGraphOfShape({ layers: blocks.length, heads });
    graphs.set(model, graph);
  }
  return graph;
}
