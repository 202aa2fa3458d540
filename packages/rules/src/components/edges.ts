/**
 * Edges between components (edge attribution patching). The residual stream that a sublayer
 * reads is the sum of what every earlier component wrote to it (plus constant biases), so an
 * edge u -> v is component u's write as seen by input v:
 *
 *   score(u -> v) = sum over prompts, positions and features of
 *                   (w_u(clean) - w_u(corrupted)) * dM/dx_v
 *
 * - w_u, what u writes to the residual stream: the embeddings (the residual stream entering
 *   block 0), an MLP's output, or a head's contribution z_h @ W_h (its slice of z through its
 *   share of the output projection; see `headContributions`);
 * - x_v, the input of v: the `norm.input` place of the norm in front of v (GPT-2 `ln_1`,
 *   `ln_2`, `ln_f`; Llama `input_layernorm`, `post_attention_layernorm`, `model.norm`). That
 *   place is an identity node that only the norm reads, so dM/dx_v is the gradient along v's
 *   path alone, not the residual stream's total gradient.
 *
 * Granularity: edges end at whole sublayers (one attention input per block, shared by every
 * head's q, k and v), an MLP's input, or the logits; not at single heads' q/k/v inputs.
 *
 * Since x_v = sum of upstream writes + constants, the edge scores into v sum to
 * (x_v(clean) - x_v(corrupted)) * dM/dx_v, and the edge scores out of u to u's component score.
 * Exact edge patching runs the clean prompts with x_v replaced by x_v - (w_u(clean) - w_u(corrupted)):
 * v alone sees u's corrupted write; everything else stays clean.
 */
import * as T from "@gim/tensor";
import type { Rule } from "@gim/autograd";
import type { Tensor } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import type { Component, ComponentInput } from "./components.js";
import type { Metric, Prompts } from "./logitMetric.js";
import { headContributions } from "./heads.js";
import { dotRange, preparePair, type PlaceGradients, type PreparedPair } from "./pair.js";
import { runPatched, type PatchedRun, type RowEdit } from "./patching.js";
import { faithfulnessCurve, type CircuitOptions, type FaithfulnessCurve } from "./circuit.js";
import { componentGraph } from "./components.js";
import { InputError } from "@gim/tensor";

/** An edge from a component's write to a sublayer's (or the logits') input. */
export interface Edge {
  /** `h.0.attn.head1 -> h.1.mlp`. */
  readonly name: string;
  /** Index of the upstream component. */
  readonly from: number;
  /** Index of the downstream input. */
  readonly to: number;
}

/** Scores of every edge (in `edges` order). */
export interface EdgeScores {
  readonly components: readonly Component[];
  readonly inputs: readonly ComponentInput[];
  readonly edges: readonly Edge[];
  /** One score per edge, in the sign convention M(clean) - M(edge patched). */
  readonly scores: readonly number[];
  readonly metricClean: number;
  readonly metricCorrupted: number;
}

/** Options of {@link edgeScores}. */
export interface EdgeScoreOptions {
  readonly metric: Metric;
  /** Backward rules: `[]` (default) for the plain gradient, `gim()` for GIM. */
  readonly rules?: readonly Rule[];
}

/** Every edge of `model`: from each component to each input downstream of it, grouped by input. */
export function listEdges(model: CausalLM): readonly Edge[] {
  const { components, inputs } = componentGraph(model);
  return inputs.flatMap((v, to) => v.upstream.map((from) => ({ name: `${components[from]!.name} -> ${v.name}`, from, to })));
}

/** Edge attribution patching scores for a clean/corrupted pair, with plain gradients or the given rules. */
export function edgeScores(model: CausalLM, clean: Prompts, corrupted: Prompts, options: EdgeScoreOptions): EdgeScores {
  const pair = preparePair(model, clean, corrupted, options.metric, [options.rules ?? []]);
  return edgesFromGradients(pair, pair.gradients![0]!);
}

/** Edge scores from gradients at the component inputs: (w_u(clean) - w_u(corrupted)) . dM/dx_v. */
export function edgesFromGradients(pair: PreparedPair, gradients: PlaceGradients): EdgeScores {
  const deltas = writeDeltas(pair);
  const edges = listEdges(pair.model);
  const gradByInput = pair.graph.inputs.map((v) => {
    const g = gradients.byPlace.get(v.place);
    if (!g) throw new Error(`no gradient at ${v.place}`);
    return g.toFlat();
  });
  const scores = edges.map((e) => {
    const delta = deltas[e.from]!;
    return dotRange(gradByInput[e.to]!, 0, delta, 0, delta.length);
  });
  return { components: pair.graph.components, inputs: pair.graph.inputs, edges, scores, metricClean: pair.metricClean, metricCorrupted: pair.metricCorrupted };
}

/** Options of {@link exactEdgeScores}. */
export interface ExactEdgeOptions {
  readonly metric: Metric;
  /** Sequences per forward pass (default 64). */
  readonly batchSize?: number;
}

/** Exact edge patching: M(clean) - M(clean with v seeing u's corrupted write), one forward per edge. */
export function exactEdgeScores(model: CausalLM, clean: Prompts, corrupted: Prompts, options: ExactEdgeOptions): EdgeScores {
  return exactEdgesFromPair(preparePair(model, clean, corrupted, options.metric), options.batchSize);
}

/** {@link exactEdgeScores} for a prepared pair. */
export function exactEdgesFromPair(pair: PreparedPair, batchSize?: number): EdgeScores {
  const deltas = writeDeltas(pair);
  const edges = listEdges(pair.model);
  const runs: PatchedRun[] = [new Map(), ...edges.map((e) => new Map([[pair.graph.inputs[e.to]!.place, [subtract([deltas[e.from]!])]]]))];
  const [reference, ...patched] = runPatched(pair.model, pair.clean, runs, pair.metric, { batchSize });
  return {
    components: pair.graph.components,
    inputs: pair.graph.inputs,
    edges,
    scores: patched.map((m) => reference! - m),
    metricClean: pair.metricClean,
    metricCorrupted: pair.metricCorrupted,
  };
}

/**
 * Faithfulness of edge circuits (MIB's edge level): the circuit keeps the top-k edges; every
 * other edge u -> v carries u's corrupted write instead of its write in the circuit's own run,
 * x_v <- x_v - sum over removed u of (w_u(run) - w_u(corrupted)). With no edge kept every input
 * sees only corrupted writes (the corrupted run); with all kept nothing is patched (the clean run).
 */
export function edgeCircuitFaithfulness(model: CausalLM, clean: Prompts, corrupted: Prompts, scores: readonly number[], options: CircuitOptions): FaithfulnessCurve {
  return edgeFaithfulnessFromPair(preparePair(model, clean, corrupted, options.metric), scores, options);
}

/** {@link edgeCircuitFaithfulness} for a prepared pair. */
export function edgeFaithfulnessFromPair(pair: PreparedPair, scores: readonly number[], options: Omit<CircuitOptions, "metric"> = {}): FaithfulnessCurve {
  const edges = listEdges(pair.model);
  if (scores.length !== edges.length) throw new InputError(`edge circuit: ${scores.length} scores given for ${edges.length} edges`);
  const { components, inputs } = pair.graph;
  const corruptedWrites = components.map((c) => writeOf(pair.model, c, pair.corruptedCache.require(c.place)));
  const record = [...new Set(components.map((c) => c.place))];
  const runFor = (kept: readonly number[]): PatchedRun => {
    const inside = new Set(kept);
    const removed = inputs.map(() => [] as number[]); // per input: upstream components whose edge is cut
    edges.forEach((e, i) => {
      if (!inside.has(i)) removed[e.to]!.push(e.from);
    });
    const run = new Map<string, RowEdit[]>();
    inputs.forEach((v, to) => {
      const cut = removed[to]!;
      if (cut.length === 0) return;
      run.set(v.place, [
        (rows, seen) => {
          const deltas = cut.map((u) => {
            const c = components[u]!;
            const now = writeOf(pair.model, c, seen.get(c.place)!);
            const corr = corruptedWrites[u]!;
            const d = new Float64Array(now.length);
            for (let i = 0; i < d.length; i++) d[i] = now[i]! - corr[i]!;
            return d;
          });
          return subtract(deltas)(rows, seen);
        },
      ]);
    });
    return run;
  };
  return faithfulnessCurve(pair, scores, options, runFor, record);
}

/** An edit that subtracts the sum of `deltas` (each laid out like the rows) from the rows. */
function subtract(deltas: readonly Float64Array[]): RowEdit {
  return (rows) => {
    const data = rows.data;
    for (let i = 0; i < rows.size; i++) {
      let total = 0;
      for (const d of deltas) total += d[i]!;
      data[i] = data[i]! - total;
    }
    return rows;
  };
}

/** w_u(clean) - w_u(corrupted) for every component, each [B, T, d] flat in float64. */
export function writeDeltas(pair: PreparedPair): Float64Array[] {
  return pair.graph.components.map((c) => {
    const clean = writeOf(pair.model, c, pair.cleanCache.require(c.place));
    const corrupted = writeOf(pair.model, c, pair.corruptedCache.require(c.place));
    const d = new Float64Array(clean.length);
    for (let i = 0; i < d.length; i++) d[i] = clean[i]! - corrupted[i]!;
    return d;
  });
}

const contributionMemo = new WeakMap<Tensor, Float64Array>();

/**
 * What component `c` writes to the residual stream, given its place's activation: [B, T, d]
 * flat in float64. For a head, its contribution z_h @ W_h (heads of one place computed once).
 */
export function writeOf(model: CausalLM, c: Component, activation: Tensor): Float64Array {
  if (c.kind !== "head") return Float64Array.from(activation.toFlat());
  let all = contributionMemo.get(activation);
  if (!all) {
    all = Float64Array.from(headContributions(model, c.path, T.astype(activation, "float64")).toFlat()); // [B, H, T, d]
    contributionMemo.set(activation, all);
  }
  const [batch, heads, steps] = activation.shape as [number, number, number, number];
  const block = steps * model.hiddenSize;
  const out = new Float64Array(batch * block);
  for (let b = 0; b < batch; b++) out.set(all.subarray((b * heads + c.head!) * block, (b * heads + c.head! + 1) * block), b * block);
  return out;
}
