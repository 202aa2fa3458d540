/**
 * Runs of the clean prompts in which some edges carry their replacement instead of their
 * sender's write (hannamw/EAP-IG, `evaluate_graph`): a receiver v reads
 *
 *   x_v + sum over removed edges u -> v of (r_u - w_u(this run))
 *
 * where w_u(this run) is what u writes in the same (patched) run, so that a removed edge carries
 * exactly r_u (the corrupted run's write, or a mean) and a kept edge carries whatever u computes
 * from its own (possibly patched) inputs. Removing every edge gives the corrupted run (with
 * counterfactual patching); removing none gives the clean run.
 *
 * Exact edge patching is the run with one edge removed from the clean run (then w_u is u's clean
 * write, since nothing upstream of v changes): score = M(clean) - M(that run), per prompt.
 */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { headContributions } from "../components/heads.js";
import { runPatchedPrompts, type PatchedRun, type RowEdit } from "../components/patching.js";
import { meanOverPrompts, type MibEdgeScores } from "./attribution.js";
import { headSlice, receiverPlace, senderPlace, type EdgeRuns } from "./edgeRuns.js";
import type { Receiver } from "./graph.js";

/** Options of the patched runs. */
export interface EdgeRunPatchOptions {
  /** Sequences per forward pass (default 64); results do not depend on it. */
  readonly batchSize?: number;
}

/** The receivers of each receiver place. */
function receiversByPlace(runs: EdgeRuns): Map<string, Receiver[]> {
  const byPlace = new Map<string, Receiver[]>();
  for (const r of runs.graph.receivers) {
    const key = receiverPlace(runs.places, r);
    byPlace.set(key, [...(byPlace.get(key) ?? []), r]);
  }
  return byPlace;
}

/** Adds `sum of deltas` to receiver `r`'s part of `rows` ([B, H, T, d] for a head's input, else [B, T, d]); each delta is [B * T * d]. */
function addTo(rows: Tensor, r: Receiver, heads: number, deltas: readonly Float64Array[]): void {
  const batch = rows.shape[0]!;
  const width = deltas[0]!.length / batch; // T * d
  const data = rows.data;
  for (let b = 0; b < batch; b++) {
    const at = r.head === undefined ? b * width : (b * heads + r.head) * width;
    for (const delta of deltas) for (let i = 0; i < width; i++) data[at + i]! += delta[b * width + i]!;
  }
}

/** The patched run in which the edges not in `kept` (one flag per edge) carry their replacement. */
export function removedEdgesRun(runs: EdgeRuns, kept: readonly boolean[]): PatchedRun {
  const { graph, places, model } = runs;
  const cut = graph.receivers.map(() => [] as number[]); // per receiver: senders whose edge is removed
  graph.edges.forEach((e, i) => {
    if (!kept[i]) cut[e.to]!.push(e.from);
  });
  // r_u - w_u(this run), once per sender per run; the heads of a block from one product.
  const deltas = new Map<number, Float64Array>();
  const headWrites = new Map<number, Float64Array>();
  const deltaOf = (u: number, seen: ReadonlyMap<string, Tensor>): Float64Array => {
    let delta = deltas.get(u);
    if (delta) return delta;
    const s = graph.senders[u]!;
    const activation = seen.get(senderPlace(places, s))!;
    let write: ArrayLike<number>;
    if (s.kind === "head") {
      let all = headWrites.get(s.layer);
      if (!all) {
        all = Float64Array.from(T.contiguousData(headContributions(model, places.attention[s.layer]!, T.astype(activation, "float64")))); // [B, H, T, d]
        headWrites.set(s.layer, all);
      }
      write = headSlice(all, activation.shape[0]!, graph.heads, s.head!);
    } else {
      write = T.contiguousData(activation, "float64");
    }
    const r = runs.replacement[u]!;
    delta = new Float64Array(r.length);
    for (let i = 0; i < r.length; i++) delta[i] = r[i]! - write[i]!;
    deltas.set(u, delta);
    return delta;
  };
  const edits = new Map<string, RowEdit[]>();
  for (const [place, receivers] of receiversByPlace(runs)) {
    const active = receivers.filter((r) => cut[r.index]!.length > 0);
    if (active.length === 0) continue;
    edits.set(place, [
      (rows, seen) => {
        for (const r of active) addTo(rows, r, graph.heads, cut[r.index]!.map((u) => deltaOf(u, seen)));
        return rows;
      },
    ]);
  }
  return edits;
}

/** The places a removed-edges run records (every sender's). */
export function recordedSenderPlaces(runs: EdgeRuns): string[] {
  return [...new Set(runs.graph.senders.map((s) => senderPlace(runs.places, s)))];
}

/** The metric of every prompt of the runs in which the edges outside each circuit are removed: `[circuit][prompt]`. */
export function circuitMetrics(runs: EdgeRuns, circuits: readonly (readonly boolean[])[], options: EdgeRunPatchOptions = {}): number[][] {
  return runPatchedPrompts(runs.model, runs.clean, circuits.map((kept) => removedEdgesRun(runs, kept)), runs.metric, {
    batchSize: options.batchSize,
    record: recordedSenderPlaces(runs),
    splitQkv: true,
  });
}

/**
 * Exact edge patching, the ground truth of edge attribution: per prompt, M(clean) - M(clean with
 * that one edge carrying its replacement); one forward per edge, batched.
 */
export function exactEdgePatching(runs: EdgeRuns, options: EdgeRunPatchOptions = {}): MibEdgeScores {
  const { graph } = runs;
  const placeOf = graph.receivers.map((r) => receiverPlace(runs.places, r));
  const constant = graph.senders.map((_, u) => {
    const w = runs.cleanWrites[u]!;
    const r = runs.replacement[u]!;
    return r.map((x, i) => x - w[i]!);
  });
  const edgeRuns: PatchedRun[] = [new Map(), ...graph.edges.map((e) => new Map([[placeOf[e.to]!, [(rows: Tensor) => (addTo(rows, graph.receivers[e.to]!, graph.heads, [constant[e.from]!]), rows)]]]))];
  const [reference, ...patched] = runPatchedPrompts(runs.model, runs.clean, edgeRuns, runs.metric, { batchSize: options.batchSize, splitQkv: true });
  const batch = runs.clean.length;
  const perPrompt = Array.from({ length: batch }, (_, b) => Float64Array.from(patched, (m) => reference![b]! - m[b]!));
  return { graph, scores: meanOverPrompts(perPrompt), perPrompt };
}
