/**
 * Where MIB's graph lives in a model, and a batch of clean/corrupted pairs run once each.
 *
 * Senders and what they write to the residual stream, w_u [B, T, d]:
 * - `input`: the residual stream entering block 0 (token embeddings, plus position embeddings
 *   in GPT-2; those are the same in every run, so differences are the token embeddings'), place
 *   `<block 0>:resid.pre`;
 * - head h of block l: its contribution z_h @ W_h to the attention output (no bias), from
 *   `attn.z` and the layout's head-split output projection (TransformerLens' `hook_result`);
 * - the MLP of block l: `mlp.output` (with its bias, as `hook_mlp_out`).
 * Receivers and the residual stream they read, x_v [B, T, d], in the split q/k/v forward:
 * - head h's q, k or v input: slice h of `attn.q_input` / `attn.k_input` / `attn.v_input`
 *   (TransformerLens' `hook_q_input`, ... with `use_split_qkv_input`);
 * - an MLP's input: its norm's `norm.input` (`hook_mlp_in`);
 * - the logits: the final norm's `norm.input` (the last block's `hook_resid_post`).
 *
 * x_v is the sum of the writes of the senders before v plus constants (biases of the
 * attention output projections), so changing u's write into v alone is x_v += r_u - w_u.
 */
import type { Rule } from "@gim/autograd";
import * as T from "@gim/tensor";
import { InputError, type Tensor } from "@gim/tensor";
import { run, type ActivationCache, type CausalLM, type RunResult } from "@gim/transformer";
import { headContributions } from "../components/heads.js";
import { promptPair, type Metric, type Prompts } from "../components/logitMetric.js";
import { placeGradientsOf, type PlaceGradients } from "../components/pair.js";
import { mibGraph, type MibGraph, type Receiver, type Sender } from "./graph.js";

/** The place keys of a model's senders and receivers (see the top of this file). */
export interface EdgePlaces {
  /** The input's write: `<block 0>:resid.pre`. */
  readonly input: string;
  /** Position embeddings (`embed.positions`, [T, d]), when the model adds them (GPT-2). */
  readonly positions: string | undefined;
  /** Per block: `attn.z` (heads' writes), the attention's module path, and `mlp.output`. */
  readonly z: readonly string[];
  readonly attention: readonly string[];
  readonly mlpOutput: readonly string[];
  /** Per block: the q, k and v input places of the split q/k/v forward. */
  readonly qkvInput: readonly (readonly [string, string, string])[];
  /** Per block: the MLP's input (its norm's `norm.input`). */
  readonly mlpInput: readonly string[];
  /** The logits' input (the final norm's `norm.input`). */
  readonly logits: string;
}

/** The places of `model`'s senders and receivers, read from its layout. */
export function edgePlaces(model: CausalLM): EdgePlaces {
  const { blocks, finalNorm, positionEmbeddings } = model.layout;
  return {
    input: blocks[0]!.residPre,
    positions: positionEmbeddings,
    z: blocks.map((b) => b.attention.z),
    attention: blocks.map((b) => b.attention.path),
    mlpOutput: blocks.map((b) => b.mlp.output),
    qkvInput: blocks.map((b) => [b.attention.qInput, b.attention.kInput, b.attention.vInput] as const),
    mlpInput: blocks.map((b) => b.mlpNorm.input),
    logits: finalNorm.input,
  };
}

/** The place a sender's write is computed from. */
export function senderPlace(places: EdgePlaces, s: Sender): string {
  return s.kind === "input" ? places.input : s.kind === "head" ? places.z[s.layer]! : places.mlpOutput[s.layer]!;
}

/** The place a receiver reads (for a q/k/v input, one head's slice of it). */
export function receiverPlace(places: EdgePlaces, r: Receiver): string {
  if (r.kind === "logits") return places.logits;
  if (r.kind === "mlp") return places.mlpInput[r.layer]!;
  return places.qkvInput[r.layer]!["qkv".indexOf(r.kind)]!;
}

/** Every place a sender's write is computed from (and the position embeddings): what runs cache. */
export function senderPlaces(places: EdgePlaces): string[] {
  return [places.input, ...places.z, ...places.mlpOutput, ...(places.positions ? [places.positions] : [])];
}

/** Every receiver place, in receiver order of first use. */
export function receiverPlaces(places: EdgePlaces): string[] {
  return [...places.qkvInput.flatMap((l, i) => [...l, places.mlpInput[i]!]), places.logits];
}

/**
 * What every sender writes in one run, from the run's cache (or recorded activations): one
 * float64 array [B * T * d] per sender, b-major. Heads of one block are computed together.
 */
export function senderWrites(model: CausalLM, graph: MibGraph, places: EdgePlaces, cache: ReadonlyMap<string, Tensor>): Float64Array[] {
  const byLayer = new Map<number, Float64Array>(); // block -> [B, H, T, d] head contributions
  const need = (key: string) => {
    const t = cache.get(key);
    if (!t) throw new Error(`no activation at ${key}`);
    return t;
  };
  return graph.senders.map((s) => {
    if (s.kind !== "head") return Float64Array.from(T.contiguousData(need(senderPlace(places, s)), "float64"));
    let all = byLayer.get(s.layer);
    if (!all) {
      all = Float64Array.from(T.contiguousData(headContributions(model, places.attention[s.layer]!, T.astype(need(places.z[s.layer]!), "float64")))); // [B, H, T, d]
      byLayer.set(s.layer, all);
    }
    return headSlice(all, need(places.z[s.layer]!).shape[0]!, graph.heads, s.head!);
  });
}

/** Slice `head` of a [B, H, rest] array: [B, rest]. */
export function headSlice(all: Float64Array, batch: number, heads: number, head: number): Float64Array {
  const block = all.length / (batch * heads);
  const out = new Float64Array(batch * block);
  for (let b = 0; b < batch; b++) out.set(all.subarray((b * heads + head) * block, (b * heads + head + 1) * block), b * block);
  return out;
}

/** What a removed edge carries instead of its sender's write: the corrupted run's write, or a mean. */
export type Ablation =
  /** The sender's write in the corrupted run (MIB's "patching", the default). */
  | "patching"
  /** The sender's mean write over a reference set of prompts, over positions too. */
  | "mean"
  /** The sender's mean write per position over a reference set (prompts of one length). */
  | "mean-positional";

/** A batch of equal-length clean/corrupted pairs, run once each in the split q/k/v forward. */
export interface EdgeRuns {
  readonly model: CausalLM;
  readonly graph: MibGraph;
  readonly places: EdgePlaces;
  readonly metric: Metric;
  readonly clean: readonly (readonly number[])[];
  readonly corrupted: readonly (readonly number[])[];
  /** The metric of each clean and each corrupted prompt. */
  readonly metricClean: readonly number[];
  readonly metricCorrupted: readonly number[];
  /** Sender writes in the clean run, one [B * T * d] per sender. */
  readonly cleanWrites: readonly Float64Array[];
  /** What a removed edge carries instead, per sender (the corrupted writes, or the means broadcast to [B, T, d]). */
  readonly replacement: readonly Float64Array[];
  readonly ablation: Ablation;
  /** Receiver gradients of the clean run, one per rule set asked for. */
  readonly gradients?: readonly PlaceGradients[];
  /** Activations of the clean and the corrupted run at every sender place. */
  readonly cleanCache: ActivationCache;
  readonly corruptedCache: ActivationCache;
}

/** Options of {@link prepareEdgeRuns}. */
export interface EdgeRunOptions {
  /** What removed edges carry (default "patching": the corrupted run's writes). */
  readonly ablation?: Ablation;
  /** The prompts the means of a mean ablation are taken over (default the clean prompts). */
  readonly meanPrompts?: Prompts;
  /** Record the clean run and take receiver gradients of the metric for each of these rule sets. */
  readonly gradientRules?: readonly (readonly Rule[])[];
}

/** Runs the clean and the corrupted prompts once each (split q/k/v forward), caching every sender place. */
export function prepareEdgeRuns(model: CausalLM, clean: Prompts, corrupted: Prompts, metric: Metric, options: EdgeRunOptions = {}): EdgeRuns {
  const rows = promptPair(clean, corrupted);
  const [batch, length] = [rows.clean.length, rows.clean[0]!.length];
  metric.check(batch, length, model.vocabSize);
  const graph = mibGraph(model);
  const places = edgePlaces(model);
  const cache = senderPlaces(places);
  const withGradients = options.gradientRules !== undefined;
  const cleanRun = run(model, { ids: rows.clean }, { cache: withGradients ? [...cache, ...receiverPlaces(places)] : cache, record: withGradients, splitQkv: true });
  const gradients = withGradients ? placeGradientsOf(cleanRun, model, metric, receiverPlaces(places), options.gradientRules!) : undefined;
  const corruptedRun = run(model, { ids: rows.corrupted }, { cache, record: false, splitQkv: true });
  const cleanWrites = senderWrites(model, graph, places, cleanRun.cache);
  const ablation = options.ablation ?? "patching";
  const replacement =
    ablation === "patching"
      ? senderWrites(model, graph, places, corruptedRun.cache)
      : meanWrites(model, graph, places, options.meanPrompts ?? rows.clean, ablation, batch, length, places.positions ? cleanRun.cache.require(places.positions) : undefined);
  return {
    model,
    graph,
    places,
    metric,
    clean: rows.clean,
    corrupted: rows.corrupted,
    metricClean: perPromptMetric(metric, cleanRun),
    metricCorrupted: perPromptMetric(metric, corruptedRun),
    cleanWrites,
    replacement,
    ablation,
    ...(gradients ? { gradients } : {}),
    cleanCache: cleanRun.cache,
    corruptedCache: corruptedRun.cache,
  };
}

/** The metric of every prompt of a run. */
export function perPromptMetric(metric: Metric, result: RunResult): number[] {
  const logits = result.logits.value; // [B, T, V]
  return Array.from({ length: logits.shape[0]! }, (_, b) => metric.value(T.select(logits, 0, b), b));
}

/**
 * Mean writes over `prompts`, broadcast to [batch, length, d] per sender. "mean": over prompts
 * and positions (prompts of any lengths; the input's position embeddings, which every run
 * shares, stay per position: only the token embeddings are averaged); "mean-positional": per
 * position, over prompts of `length` tokens.
 */
function meanWrites(
  model: CausalLM,
  graph: MibGraph,
  places: EdgePlaces,
  prompts: Prompts,
  ablation: Ablation,
  batch: number,
  length: number,
  positionEmbeddings: Tensor | undefined, // [length, d]: the pairs' position embeddings (GPT-2)
): Float64Array[] {
  const rows = (Array.isArray(prompts[0]) ? prompts : [prompts]) as readonly (readonly number[])[];
  if (rows.length === 0) throw new InputError("a mean ablation needs at least one reference prompt");
  if (ablation === "mean-positional" && rows.some((r) => r.length !== length)) throw new InputError(`a positional mean needs reference prompts of ${length} tokens, like the pairs`);
  const d = model.hiddenSize;
  const span = ablation === "mean-positional" ? length * d : d; // what is averaged per sender
  const sums = graph.senders.map(() => new Float64Array(span));
  let count = 0; // prompts (positional) or positions
  const byLength = new Map<number, (readonly number[])[]>();
  for (const r of rows) byLength.set(r.length, [...(byLength.get(r.length) ?? []), r]);
  for (const [refLength, group] of byLength) {
    const ref = run(model, { ids: group }, { cache: senderPlaces(places), record: false, splitQkv: true });
    const writes = senderWrites(model, graph, places, ref.cache);
    // The input's token part: its write minus the position embeddings (GPT-2).
    const own = places.positions ? T.contiguousData(T.astype(ref.cache.require(places.positions), "float64")) : undefined; // [T_ref, d]
    graph.senders.forEach((s, u) => {
      const w = writes[u]!;
      const sum = sums[u]!;
      for (let i = 0; i < w.length; i++) {
        const j = i % span;
        sum[j]! += w[i]! - (s.kind === "input" && own && ablation === "mean" ? own[i % (refLength * d)]! : 0);
      }
    });
    count += ablation === "mean-positional" ? group.length : group.length * refLength;
  }
  const positions = positionEmbeddings && ablation === "mean" ? T.contiguousData(T.astype(positionEmbeddings, "float64")) : undefined; // [T, d]
  return graph.senders.map((s, u) => {
    const out = new Float64Array(batch * length * d);
    for (let i = 0; i < out.length; i++) out[i] = sums[u]![i % span]! / count + (s.kind === "input" && positions ? positions[i % (length * d)]! : 0);
    return out;
  });
}
