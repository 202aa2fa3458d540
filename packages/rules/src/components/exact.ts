/**
 * Exact activation patching, the ground truth attribution patching approximates: for each
 * component c, run the clean prompts with a_c replaced by its activation in the corrupted run
 * (one head's slice of `attn.z` for a head, the whole place for an MLP or the embeddings) and
 *
 *   exact(c) = M(clean) - M(clean with a_c from the corrupted run).
 *
 * One forward pass per component, batched and without a graph (see `runPatched`).
 */
import type { CausalLM } from "@gim/transformer";
import type { ComponentScores } from "./attribution.js";
import type { Metric, Prompts } from "./logitMetric.js";
import { preparePair, type PreparedPair } from "./pair.js";
import { corruptRun, runPatched, type PatchedRun } from "./patching.js";

/** Options of {@link exactComponentScores}. */
export interface ExactOptions {
  /** The metric M of the logits. */
  readonly metric: Metric;
  /** Sequences per forward pass (default 64). Results do not depend on it. */
  readonly batchSize?: number;
}

/** Exact activation-patching scores of every component: M(clean) - M(component patched from corrupted). */
export function exactComponentScores(model: CausalLM, clean: Prompts, corrupted: Prompts, options: ExactOptions): ComponentScores {
  return exactFromPair(preparePair(model, clean, corrupted, options.metric), options.batchSize);
}

/** {@link exactComponentScores} for a prepared pair. */
export function exactFromPair(pair: PreparedPair, batchSize?: number): ComponentScores {
  const runs: PatchedRun[] = [new Map(), ...pair.graph.components.map((c) => corruptRun(pair, [c]))];
  const [reference, ...patched] = runPatched(pair.model, pair.clean, runs, pair.metric, { batchSize });
  return {
    components: pair.graph.components,
    scores: patched.map((m) => reference! - m),
    metricClean: pair.metricClean,
    metricCorrupted: pair.metricCorrupted,
  };
}
