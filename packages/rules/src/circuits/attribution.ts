/**
 * Edge attribution on MIB's graph, with any backward rules (plain, GIM, or custom):
 *
 *   score(u -> v) = sum over positions and features of (w_u(clean) - r_u) * mean_k dM/dx_v (at point k)
 *
 * with w_u the sender's write, r_u what a removed edge carries instead (the corrupted run's
 * write, or a mean), and x_v the receiver's input (see `edgeRuns.ts`). The methods differ in
 * where the gradient is taken (hannamw/EAP-IG, `attribute.py`):
 *
 * - `eap` (edge attribution patching): once, at the clean run;
 * - `eap-ig-inputs` (EAP-IG, MIB's default): at `steps` points on the straight line from the
 *   corrupted input embeddings to the clean ones, alpha = k / steps for k = 0 .. steps - 1
 *   (the reference's left Riemann sum; the first point is the corrupted run);
 * - `eap-ig-activations`: for each layer-level node in turn (the input, each block's attention
 *   with all its heads, each MLP), its output interpolated between the corrupted and the clean
 *   run, alpha = k / steps for k = 1 .. steps, and the gradient at every receiver averaged over
 *   all those runs (as the reference does).
 *
 * Sign: a score estimates M(clean) - M(clean with the edge carrying r_u), so a positive score
 * means the edge supports the clean behaviour (MIB's scores with its `loss=True` metric have
 * the same sign). Each score is the mean over prompts of the per-prompt scores, which are kept
 * (`perPrompt`) for confidence intervals over prompts. The gradient is dM/dx_v with the rule
 * set's backward; the forward runs are the same for every rule set, so several rule sets cost
 * one backward pass each per point.
 */
import { graphNodes, type Rule } from "@gim/autograd";
import * as T from "@gim/tensor";
import { InputError } from "@gim/tensor";
import { placeKey, run, type CausalLM, type Patch, type RunResult } from "@gim/transformer";
import type { Metric, Prompts } from "../components/logitMetric.js";
import { placeGradientsOf, type PlaceGradients } from "../components/pair.js";
import { prepareEdgeRuns, receiverPlace, receiverPlaces, type Ablation, type EdgeRuns } from "./edgeRuns.js";
import type { MibGraph } from "./graph.js";

/** Scores of every edge of MIB's graph (in `graph.edges` order). */
export interface MibEdgeScores {
  readonly graph: MibGraph;
  /** One score per edge: the mean over prompts of `perPrompt`. */
  readonly scores: readonly number[];
  /** Per prompt, one score per edge. */
  readonly perPrompt: readonly Float64Array[];
}

/** How gradients are taken (see the top of this file). */
export type EdgeAttributionMethod = "eap" | "eap-ig-inputs" | "eap-ig-activations";

/** MIB's number of integrated-gradients steps (`run_attribution.py --ig-steps`; EAP-IG's own function defaults to 30). */
export const mibIgSteps = 5;

/** Options of {@link edgeAttributionFromRuns}. */
export interface EdgeAttributionOptions {
  readonly method?: EdgeAttributionMethod;
  /** Integrated-gradients steps (default {@link mibIgSteps}). */
  readonly steps?: number;
}

/**
 * Scores every edge once per rule set (`[]` is the plain gradient). The forward passes are
 * shared by the rule sets; EAP on runs prepared with these rule sets' gradients needs none.
 */
export function edgeAttributionFromRuns(runs: EdgeRuns, ruleSets: readonly (readonly Rule[])[], options: EdgeAttributionOptions = {}): MibEdgeScores[] {
  const method = options.method ?? "eap";
  const steps = options.steps ?? mibIgSteps;
  if (!Number.isInteger(steps) || steps < 1) throw new InputError(`integrated gradients need a positive whole number of steps, got ${steps}`);
  if (method !== "eap" && runs.ablation !== "patching") throw new InputError(`${method} interpolates between the clean and the corrupted run; it needs ablation "patching", got "${runs.ablation}"`);
  const gradientsAt = (patches: readonly Patch[]) => receiverGradients(runs, run(runs.model, { ids: runs.clean as number[][] }, { patches, splitQkv: true }), ruleSets);
  let points: (readonly PlaceGradients[])[]; // [point][rule set]
  if (method === "eap") {
    const prepared = runs.gradients?.length === ruleSets.length ? [runs.gradients] : undefined;
    points = prepared ?? [gradientsAt([])];
  } else if (method === "eap-ig-inputs") {
    points = Array.from({ length: steps }, (_, k) => gradientsAt([interpolated(runs, runs.places.input, k / steps)]));
  } else {
    const nodes = [runs.places.input, ...runs.places.z.flatMap((z, l) => [z, runs.places.mlpOutput[l]!])];
    points = nodes.flatMap((place) => Array.from({ length: steps }, (_, k) => gradientsAt([interpolated(runs, place, (k + 1) / steps)])));
  }
  return ruleSets.map((_, r) => scoresFromGradients(runs, points.map((p) => p[r]!)));
}

/**
 * dM/dx_v at every receiver place of a recorded run of the clean prompts, one backward per
 * rule set. A receiver the run's graph does not reach (upstream of an activation the run
 * replaced by a constant, as EAP-IG on activations does) gets zero, as in the reference,
 * where the replaced hook cuts the gradient.
 */
export function receiverGradients(runs: EdgeRuns, recorded: RunResult, ruleSets: readonly (readonly Rule[])[]): PlaceGradients[] {
  const keys = receiverPlaces(runs.places);
  const m = runs.metric.differentiable(recorded.logits);
  const found = new Set(graphNodes(m).flatMap((n) => n.tags.map((t) => placeKey(n.path, t))));
  const reached = keys.filter((k) => found.has(k));
  const zeros = new Map(keys.filter((k) => !found.has(k)).map((k) => [k, T.zeros(receiverShape(runs, k), { dtype: runs.model.dtype })]));
  if (zeros.size === 0) return placeGradientsOf(recorded, runs.model, runs.metric, keys, ruleSets);
  return placeGradientsOf(recorded, runs.model, runs.metric, reached, ruleSets).map((g) => ({ byPlace: new Map([...g.byPlace, ...zeros]) }));
}

/** The shape of a receiver place's activation: [B, H, T, d] for q/k/v inputs, else [B, T, d]. */
function receiverShape(runs: EdgeRuns, key: string): number[] {
  const [batch, length, d] = [runs.clean.length, runs.clean[0]!.length, runs.model.hiddenSize];
  return runs.places.qkvInput.some((l) => l.includes(key)) ? [batch, runs.graph.heads, length, d] : [batch, length, d];
}

/** The activation at `place` as alpha * clean + (1 - alpha) * corrupted. */
function interpolated(runs: EdgeRuns, place: string, alpha: number): Patch {
  const clean = T.astype(runs.cleanCache.require(place), "float64");
  const corrupted = T.astype(runs.corruptedCache.require(place), "float64");
  return { place, value: T.add(T.mul(clean, alpha), T.mul(corrupted, 1 - alpha)) };
}

/**
 * score_b(u -> v) = B * sum over positions and features of (w_u(clean) - r_u)[b] * g_v[b], with
 * g_v the mean over `gradients` (one per point) of the gradient at receiver v; B times because
 * the metric is the mean over the B prompts. `scores` is the mean over prompts.
 */
export function scoresFromGradients(runs: EdgeRuns, gradients: readonly PlaceGradients[]): MibEdgeScores {
  if (gradients.length === 0) throw new InputError("edge scores need the gradients of at least one run");
  const { graph, places } = runs;
  const batch = runs.clean.length;
  const width = runs.clean[0]!.length * runs.model.hiddenSize; // T * d
  const senders = graph.senders.length;
  // Deltas of every sender: [B, S, T*d].
  const deltas = new Float64Array(batch * senders * width);
  runs.cleanWrites.forEach((w, u) => {
    const r = runs.replacement[u]!;
    for (let b = 0; b < batch; b++) {
      const at = (b * senders + u) * width;
      for (let i = 0; i < width; i++) deltas[at + i] = w[b * width + i]! - r[b * width + i]!;
    }
  });
  const deltaTensor = new T.Tensor(deltas, [batch, senders, width]);
  // The mean gradient at each receiver place, flat in float64.
  const meanGrad = new Map<string, Float64Array>();
  for (const key of receiverPlaces(places)) {
    const total = new Float64Array(T.contiguousData(gradients[0]!.byPlace.get(key)!, "float64"));
    for (const g of gradients.slice(1)) {
      const data = T.contiguousData(g.byPlace.get(key)!, "float64");
      for (let i = 0; i < total.length; i++) total[i]! += data[i]!;
    }
    for (let i = 0; i < total.length; i++) total[i]! /= gradients.length;
    meanGrad.set(key, total);
  }
  const perPrompt = Array.from({ length: batch }, () => new Float64Array(graph.edges.length));
  // Receivers in groups that share a prefix of senders: per block its q/k/v inputs and its MLP, then the logits.
  const groups: number[][] = [];
  for (const r of graph.receivers) {
    if (r.kind === "logits" || groups.length === 0 || graph.receivers[groups[groups.length - 1]![0]!]!.layer !== r.layer) groups.push([]);
    groups[groups.length - 1]!.push(r.index);
  }
  for (const group of groups) {
    const upstream = Math.max(...group.map((v) => graph.receivers[v]!.upstream));
    const g = new Float64Array(batch * group.length * width); // [B, R, T*d]
    group.forEach((v, j) => {
      const receiver = graph.receivers[v]!;
      const data = meanGrad.get(receiverPlace(places, receiver))!;
      for (let b = 0; b < batch; b++) {
        const from = receiver.head === undefined ? b * width : (b * graph.heads + receiver.head) * width; // [B, H, T, d] or [B, T, d]
        g.set(data.subarray(from, from + width), (b * group.length + j) * width);
      }
    });
    const dots = T.contiguousData(T.matmul(T.narrow(deltaTensor, 1, 0, upstream), T.transpose(new T.Tensor(g, [batch, group.length, width]))), "float64"); // [B, U, R]
    group.forEach((v, j) => {
      for (let u = 0; u < graph.receivers[v]!.upstream; u++) {
        const edge = graph.edgeAt[u * graph.receivers.length + v]!;
        for (let b = 0; b < batch; b++) perPrompt[b]![edge] = batch * dots[(b * upstream + u) * group.length + j]!;
      }
    });
  }
  return { graph, scores: meanOverPrompts(perPrompt), perPrompt };
}

/** The mean over prompts of per-prompt score vectors. */
export function meanOverPrompts(perPrompt: readonly ArrayLike<number>[]): number[] {
  const n = perPrompt[0]!.length;
  const out = new Array<number>(n).fill(0);
  for (const row of perPrompt) for (let i = 0; i < n; i++) out[i]! += row[i]! / perPrompt.length;
  return out;
}

/** Options of {@link edgeAttribution}. */
export interface MibEdgeScoreOptions extends EdgeAttributionOptions {
  readonly metric: Metric;
  /** Backward rules: `[]` (default) for the plain gradient, `gim()` for GIM. */
  readonly rules?: readonly Rule[];
  /** What a removed edge carries (default "patching"; EAP-IG needs it). */
  readonly ablation?: Ablation;
  /** Reference prompts of a mean ablation (default the clean prompts). */
  readonly meanPrompts?: Prompts;
}

/** Edge scores of MIB's graph for a clean/corrupted batch: EAP, EAP-IG (inputs or activations), any rules. */
export function edgeAttribution(model: CausalLM, clean: Prompts, corrupted: Prompts, options: MibEdgeScoreOptions): MibEdgeScores {
  const rules = options.rules ?? [];
  const runs = prepareEdgeRuns(model, clean, corrupted, options.metric, {
    ...(options.ablation ? { ablation: options.ablation } : {}),
    ...(options.meanPrompts ? { meanPrompts: options.meanPrompts } : {}),
    ...((options.method ?? "eap") === "eap" ? { gradientRules: [rules] } : {}),
  });
  return edgeAttributionFromRuns(runs, [rules], options)[0]!;
}
