/**
 * Attribution patching (GIM.md, "Components and circuits"): one clean forward, one backward
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
import { grad, type Rule } from "@gim/autograd";
import type { Tensor } from "@gim/tensor";
import { placeVars, run, type CausalLM } from "@gim/transformer";
import { bindRules } from "../bind.js";
import type { Component } from "./components.js";
import type { Metric, Prompts } from "./metric.js";
import { difference, dotRange, graphPlaces, perHeadDots, preparePair, type PreparedPair } from "./pair.js";

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

/** Gradients of the metric at every component place and component input, for one rule set. */
export interface PlaceGradients {
  /** dM/da by place key (`h.3.attn:attn.z`, `h.3.ln_1:norm.input`, ...). */
  readonly byPlace: ReadonlyMap<string, Tensor>;
}

/**
 * Attribution-patching scores of every component for a clean/corrupted pair (each one
 * sequence, or B sequences of equal length), with plain gradients or the given rules.
 */
export function componentScores(model: CausalLM, clean: Prompts, corrupted: Prompts, options: ComponentScoreOptions): ComponentScores {
  const pair = preparePair(model, clean, corrupted, options.metric);
  const [gradients] = placeGradients(pair, [options.rules ?? []]);
  return attributionFromGradients(pair, gradients!);
}

/**
 * One recorded clean forward, then one backward per rule set: dM/da at every component place
 * and every component input place (the `norm.input` places, for edges). Rules are bound to
 * the model first (`bindRules`), so a rule that matches none of its places is an error.
 */
export function placeGradients(pair: PreparedPair, ruleSets: readonly (readonly Rule[])[]): PlaceGradients[] {
  const keys = graphPlaces(pair.graph);
  const forward = run(pair.model, { ids: pair.clean as number[][] });
  const metric = pair.metric.differentiable(forward.logits);
  const vars = placeVars(metric, keys);
  const xs = keys.map((k) => vars.get(k)!);
  return ruleSets.map((rules) => {
    const grads = grad(metric, xs, { rules: bindRules(pair.model, rules).rules });
    return { byPlace: new Map(keys.map((k, i) => [k, grads[i]!])) };
  });
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
