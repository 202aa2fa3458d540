/**
 * A clean/corrupted prompt pair run once each (without recording a graph): the activations
 * at every component's place and every component input, and the metric of both runs. The
 * scoring functions share it so that the two reference runs happen once.
 */
import { grad, locateNonFiniteGradient, type Rule } from "@gim/autograd";
import { firstNonFinite, NonFiniteError, type Tensor } from "@gim/tensor";
import { placeVars, run, type ActivationCache, type CausalLM, type RunResult } from "@gim/transformer";
import { bindRules } from "../bind.js";
import { componentGraph, type ComponentGraph } from "./components.js";
import { metricOfRun, promptPair, type Metric, type Prompts } from "./logitMetric.js";

/** Gradients of the metric at every component place and component input, for one rule set. */
export interface PlaceGradients {
  /** dM/da by place key (`h.3.attn:attn.z`, `h.3.ln_1:norm.input`, ...). */
  readonly byPlace: ReadonlyMap<string, Tensor>;
}

/** A clean/corrupted pair with the activations of both runs. */
export interface PreparedPair {
  readonly model: CausalLM;
  readonly graph: ComponentGraph;
  readonly metric: Metric;
  /** Clean prompts, [B][T]. */
  readonly clean: readonly (readonly number[])[];
  /** Corrupted prompts, [B][T]. */
  readonly corrupted: readonly (readonly number[])[];
  /** Activations of the clean run at every component place and component input place. */
  readonly cleanCache: ActivationCache;
  /** The same for the corrupted run. */
  readonly corruptedCache: ActivationCache;
  /** The metric of the clean run (mean over prompts). */
  readonly metricClean: number;
  /** The metric of the corrupted run (mean over prompts). */
  readonly metricCorrupted: number;
  /** dM/da at every place, one per rule set asked for (`preparePair`'s `gradientRules`). */
  readonly gradients?: readonly PlaceGradients[];
}

/** Every place a component or a component input reads: the keys to cache. */
export function graphPlaces(graph: ComponentGraph): string[] {
  return [...new Set([...graph.components.map((c) => c.place), ...graph.inputs.map((i) => i.place)])];
}

/**
 * Runs the clean and the corrupted prompts once each, checking that they line up and that the
 * metric applies. With `gradientRules`, the clean run is recorded and differentiated once per
 * rule set (see {@link placeGradientsOf}), so attribution needs no second clean forward; the
 * recorded graph is dropped before this returns.
 */
export function preparePair(model: CausalLM, clean: Prompts, corrupted: Prompts, metric: Metric, gradientRules?: readonly (readonly Rule[])[]): PreparedPair {
  const rows = promptPair(clean, corrupted);
  metric.check(rows.clean.length, rows.clean[0]!.length, model.vocabSize);
  const graph = componentGraph(model);
  const cache = graphPlaces(graph);
  const cleanRun = run(model, { ids: rows.clean }, { cache, record: gradientRules !== undefined });
  const gradients = gradientRules && placeGradientsOf(cleanRun, model, metric, cache, gradientRules);
  const corruptedRun = run(model, { ids: rows.corrupted }, { cache, record: false });
  return {
    model,
    graph,
    metric,
    clean: rows.clean,
    corrupted: rows.corrupted,
    cleanCache: cleanRun.cache,
    corruptedCache: corruptedRun.cache,
    metricClean: metricOfRun(metric, cleanRun.logits.value),
    metricCorrupted: metricOfRun(metric, corruptedRun.logits.value),
    ...(gradients && { gradients }),
  };
}

/**
 * dM/da at the places `keys` of a recorded run, one backward per rule set. Rules are bound to
 * the model first (`bindRules`), so a rule that matches none of its places is an error.
 */
export function placeGradientsOf(recorded: RunResult, model: CausalLM, metric: Metric, keys: readonly string[], ruleSets: readonly (readonly Rule[])[]): PlaceGradients[] {
  const m = metric.differentiable(recorded.logits);
  const vars = placeVars(m, keys);
  const xs = keys.map((k) => vars.get(k)!);
  return ruleSets.map((rules) => {
    const bound = bindRules(model, rules).rules;
    const grads = grad(m, xs, { rules: bound });
    // Scores from a non-finite gradient would rank as noise: name where it appeared instead (the walk runs only then).
    const bad = grads.findIndex((g) => firstNonFinite(g) !== undefined);
    if (bad >= 0) throw new NonFiniteError(`the gradients of the metric (at ${keys[bad]})`, locateNonFiniteGradient(m, xs, { rules: bound }));
    return { byPlace: new Map(keys.map((k, i) => [k, grads[i]!])) };
  });
}

/** sum_i a[aOffset + i] * b[bOffset + i] for i < n, in float64. */
export function dotRange(a: ArrayLike<number>, aOffset: number, b: ArrayLike<number>, bOffset: number, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += a[aOffset + i]! * b[bOffset + i]!;
  return total;
}

/** Per-head sums over batch, positions and features of g * delta, both [B, H, T, dh] contiguous data. */
export function perHeadDots(g: ArrayLike<number>, delta: ArrayLike<number>, shape: readonly number[]): number[] {
  const [batch, heads, steps, dh] = shape as [number, number, number, number];
  const block = steps * dh; // one head of one sequence: [T, dh], contiguous
  const out = new Array<number>(heads).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const at = (b * heads + h) * block;
      out[h]! += dotRange(g, at, delta, at, block);
    }
  }
  return out;
}

/** `a - b` elementwise for two tensors of one shape, as contiguous float64 data. */
export function difference(a: Tensor, b: Tensor): Float64Array {
  const x = a.toFlat();
  const y = b.toFlat();
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - y[i]!;
  return out;
}
