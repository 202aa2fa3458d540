/**
 * Attribution patching (docs/GIM.md, "Components and circuits"): one clean forward, one backward
 * per rule set, and one corrupted forward give, for every component c with activation a_c,
 *
 *   score(c) = sum over prompts, positions and features of dM/da_c * (a_c(clean) - a_c(corrupted)),
 *
 * the first-order estimate of M(clean) - M(clean with a_c patched from the corrupted run).
 * Exact activation patching (`exactComponentScores`) measures that difference; both use this
 * sign: a positive score means the clean activation pushes the metric up.
 *
 * The gradient dM/da is taken with the given backward rules: `[]` for the plain gradient,
 * `gim()` for GIM. The forward pass is the same either way.
 */
import type { Rule } from "@gim/autograd";
import { run, type CausalLM } from "@gim/transformer";
import type { Component } from "./components.js";
import type { Metric, Prompts } from "./logitMetric.js";
import { difference, dotRange, graphPlaces, perHeadDots, placeGradientsOf, preparePair, type PlaceGradients, type PreparedPair } from "./pair.js";

/** Scores of every component (in `components` order) and the metrics they explain. */
export interface ComponentScores {
  readonly components: readonly Component[];
  /** One score per component, in the sign convention M(clean) - M(patched). */
  readonly scores: readonly number[];
  /** M of the clean run. */
  readonly metricClean: number;
  /** M of the corrupted run. */
  readonly metricCorrupted: number;
}

/** Options of {@link componentScores}. */
export interface ComponentScoreOptions {
  /** The metric M of the logits (see `logitDiff`, `targetLogit`). */
  readonly metric: Metric;
  /** Backward rules: `[]` (default) for the plain gradient, `gim()` for GIM. */
  readonly rules?: readonly Rule[];
}

/**
 * Attribution-patching scores of every component for a clean/corrupted pair (each one
 * sequence, or B sequences of equal length), with plain gradients or the given rules.
 */
export function componentScores(model: CausalLM, clean: Prompts, corrupted: Prompts, options: ComponentScoreOptions): ComponentScores {
  const pair = preparePair(model, clean, corrupted, options.metric, [options.rules ?? []]);
  return attributionFromGradients(pair, pair.gradients![0]!);
}

/**
 * dM/da at every component place and every component input place (the `norm.input` places,
 * for edges), one backward per rule set, for a pair prepared without them: one recorded clean
 * forward more. (`preparePair(..., gradientRules)` gets them from its own clean run.)
 */
export function placeGradients(pair: PreparedPair, ruleSets: readonly (readonly Rule[])[]): PlaceGradients[] {
  const keys = graphPlaces(pair.graph);
  return placeGradientsOf(run(pair.model, { ids: pair.clean as number[][] }), pair.model, pair.metric, keys, ruleSets);
}

/** score(c) = sum dM/da_c * (a_c(clean) - a_c(corrupted)), from gradients at the component places. */
export function attributionFromGradients(pair: PreparedPair, gradients: PlaceGradients): ComponentScores {
  const scores: number[] = [];
  const perHead = new Map<string, number[]>(); // z place -> score per head
  for (const c of pair.graph.components) {
    const g = gradients.byPlace.get(c.place);
    if (!g) throw new Error(`no gradient at ${c.place}`);
    if (c.kind === "head") {
      let heads = perHead.get(c.place);
      if (!heads) {
        const delta = difference(pair.cleanCache.require(c.place), pair.corruptedCache.require(c.place));
        heads = perHeadDots(g.toFlat(), delta, g.shape);
        perHead.set(c.place, heads);
      }
      scores.push(heads[c.head!]!);
    } else {
      const delta = difference(pair.cleanCache.require(c.place), pair.corruptedCache.require(c.place));
      scores.push(dotRange(g.toFlat(), 0, delta, 0, delta.length));
    }
  }
  return { components: pair.graph.components, scores, metricClean: pair.metricClean, metricCorrupted: pair.metricCorrupted };
}
