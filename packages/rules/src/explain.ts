/**
 * Token attributions (docs/GIM.md): for token ids x, a baseline token b and the target logit L
 * at the target position (or, with a foil token f, the contrast L = logit[target] - logit[f]),
 *
 *   attr[t] = sum_d dL/de[t, d] * (e[t, d] - eb[d])
 *
 * where e are the token embeddings of x (before position embeddings) and eb the embedding of
 * b. The gradient is taken with the method's backward rules (GIM, plain, one GIM rule
 * alone, or a caller's own rules). Integrated gradients and occlusion are there to compare.
 */
import { grad, locateNonFiniteGradient, noGrad, sub, variable, type Rule, type TraceEntry } from "@gim/autograd";
import * as T from "@gim/tensor";
import { describeNonFinite, NonFiniteError, type Tensor } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { bindRules } from "./bind.js";
import { gim, gimDefaults, gimOff, type GimOptions } from "./gim.js";
import { InputError, kindOfValue, quote } from "@gim/tensor";

/** The attribution methods `explain` knows. */
export const methodNames = [
  "gim",
  "gradient",
  "freezeNorm",
  "softmaxTemperature",
  "qkvScale",
  "gateUpScale",
  "integratedGradients",
  "occlusion",
] as const;

/** One of {@link methodNames}. */
export type MethodName = (typeof methodNames)[number];

/**
 * What `explain` needs of a tokenizer: encoding (for the default baseline) and special ids.
 * The tokenizers of `@gim/transformer` fit.
 */
export interface TokenizerLike {
  /** Token ids of `text`; called as `encode(" ", { addSpecialTokens: false })` (no BOS before the space). */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** The padding token's id: the baseline when " " encodes to nothing. */
  readonly padTokenId?: number | undefined;
  /** The unknown token's id: the baseline when there is no pad token either. */
  readonly unkTokenId?: number | undefined;
}

/** Options of {@link explain} and {@link explainMethods}. */
export interface ExplainOptions {
  /** Target token id (default: the argmax of the logits at `position`). */
  target?: number;
  /**
   * A foil token id: explain the contrast logit[target] - logit[foil] ("why the answer rather
   * than the foil") instead of the target logit alone. Must differ from the target.
   */
  foil?: number;
  /** Target position; negative counts from the end (default: -1, the last token). */
  position?: number;
  /** Baseline token id (default: the id of " " from `tokenizer`, else its pad id, else its unk id). */
  baseline?: number;
  /** The method (default "gim"). */
  method?: MethodName;
  /** GIM settings (defaults as in the reference package); single-rule methods take their part from here. */
  gim?: GimOptions;
  /** Backward rules to use instead of the method's own (for "gim", "gradient"-like methods and integrated gradients). */
  rules?: readonly Rule[];
  /** Used for the default baseline. */
  tokenizer?: TokenizerLike;
  /** Integrated gradients: number of interpolation steps (default 32, midpoint rule). */
  steps?: number;
  /** Integrated gradients and occlusion: sequences per forward pass (default 8). The result does not depend on it. */
  batchSize?: number;
  /**
   * Also return which rule handled which node of the backward pass (`Explanation.trace`), to
   * check that a rule reached every place it should. Gradient methods only (not integrated
   * gradients or occlusion); nodes the default backward handled are left out. Print it with
   * `formatTrace`.
   */
  trace?: boolean;
  /**
   * Return logits and attributions that hold NaN or ±Infinity instead of failing. By default
   * they are a `NonFiniteError` naming where the non-finite values first appeared (a
   * parameter, the first op of the forward pass, or the first backward of the gradient, with
   * its rule). Even with this set, no target is picked by argmax among non-finite logits: pass
   * `target`. Default false.
   */
  allowNonFinite?: boolean;
  /**
   * Integrated gradients: called after each batch of interpolation points with the steps done
   * and the total, for a progress display (a run of many steps on a large model is long).
   */
  onProgress?: (done: number, total: number) => void;
}

/** The result of `explain` for one method. */
export interface Explanation {
  readonly method: MethodName | "custom";
  readonly ids: readonly number[];
  /** Resolved target position (non-negative). */
  readonly position: number;
  readonly target: number;
  /** The target logit of the unmodified forward. */
  readonly logit: number;
  /** The foil token id, when the explanation is contrastive. */
  readonly foil?: number;
  /** The foil's logit; the attributions explain `logit - foilLogit`. */
  readonly foilLogit?: number;
  readonly baseline: number;
  /** One attribution per token. */
  readonly attributions: number[];
  /** dL/de (gradient methods only), [T, d]. */
  readonly gradient?: Tensor;
  /** Rules that did not apply to this model (e.g. gated-MLP scales on GPT-2). */
  readonly skippedRules?: readonly { rule: string; reason: string }[];
  /** With `trace: true` (gradient methods): the nodes a rule handled (default-handled nodes are left out). */
  readonly trace?: readonly TraceEntry[];
}

/**
 * A gradient method as the component attribution, the self-repair measurement and the
 * evaluation take it: a name and the backward rules its gradient uses (`[]` for the plain one).
 */
export interface GradientMethod {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/** The rule set of a gradient method: GIM, plain, or one GIM modification alone. */
export function methodRules(method: MethodName, settings: GimOptions = {}): Rule[] {
  const s = { ...gimDefaults, ...settings };
  switch (method) {
    case "gim":
      return gim(s);
    case "gradient":
    case "integratedGradients":
    case "occlusion":
      return [];
    case "freezeNorm":
      return gim({ ...gimOff, freezeNorm: true });
    case "softmaxTemperature":
      return gim({ ...gimOff, temperature: s.temperature });
    case "qkvScale":
      return gim({ ...gimOff, qScale: s.qScale, kScale: s.kScale, vScale: s.vScale });
    case "gateUpScale":
      return gim({ ...gimOff, gateScale: s.gateScale, upScale: s.upScale });
  }
}

/**
 * The baseline token: the first id of encoding " ", else the pad id, else the unk id.
 * Throws a clear error when none can be found and none was given.
 */
export function defaultBaseline(tokenizer: TokenizerLike | undefined): number {
  if (!tokenizer) throw new InputError("no baseline token: pass a baseline id, or a tokenizer to take the id of \" \" from");
  const space = tokenizer.encode(" ", { addSpecialTokens: false });
  if (space.length > 0) return space[0]!;
  if (tokenizer.padTokenId !== undefined) return tokenizer.padTokenId;
  if (tokenizer.unkTokenId !== undefined) return tokenizer.unkTokenId;
  throw new InputError("no baseline token: the tokenizer has no id for \" \" and no pad or unk token; pass a baseline id");
}

/** Explains one prediction with one method. */
export function explain(model: CausalLM, ids: readonly number[], options: ExplainOptions = {}): Explanation {
  return explainMethods(model, ids, [options.method ?? "gim"], options)[0]!;
}

/**
 * Explains one prediction with several methods. Gradient methods share one forward pass
 * (a backward pass each); integrated gradients and occlusion run their own forwards.
 */
export function explainMethods(model: CausalLM, ids: readonly number[], methods: readonly MethodName[], options: ExplainOptions = {}): Explanation[] {
  for (const m of methods) {
    if (!(methodNames as readonly string[]).includes(m)) throw new InputError(`unknown method "${m}"; known: ${methodNames.join(", ")}`);
  }
  checkCount("batchSize", options.batchSize);
  checkCount("steps", options.steps, maxIntegratedGradientsSteps);
  const baseline = options.baseline ?? defaultBaseline(options.tokenizer);
  checkTokenId("baseline", baseline, model.vocabSize);
  if (options.target !== undefined) checkTokenId("target", options.target, model.vocabSize);
  if (options.foil !== undefined) checkTokenId("foil", options.foil, model.vocabSize);
  const e = variable(model.embedTokens(ids)); // [T, d] (this also checks the ids)
  const eb = model.embedTokens([baseline]); // [1, d]
  const allowNonFinite = options.allowNonFinite === true;
  const out = model.forward({ embeds: e }, { positions: [options.position ?? -1], allowNonFinite }); // logits [1, V]; checks the position and (by default) that they are finite
  const position = out.positions[0]!; // non-negative
  const row = T.select(out.logits.value, 0, 0); // [V]
  const target = options.target ?? argmaxTarget(row, position);
  const foil = options.foil;
  if (foil === target) throw new InputError(`explain: the foil token id ${foil} is the target itself; a contrast needs two different tokens`);
  const targetLogit = out.logit(position, target);
  const logit = targetLogit.item();
  // The explained value: the target logit, or its difference from the foil's.
  const L = foil === undefined ? targetLogit : sub(targetLogit, out.logit(position, foil));
  const contrast = foil === undefined ? {} : { foil, foilLogit: row.get(foil) };
  const common = { ids: [...ids], position, target, logit, baseline, ...contrast };

  return methods.map((method): Explanation => {
    if (method === "occlusion") {
      const attributions = occlusion(model, ids, position, target, foil, baseline, L.item(), options.batchSize, allowNonFinite);
      if (!allowNonFinite) checkFiniteAttributions(method, attributions, () => "L(x) - L(x with a token occluded) overflows");
      return { method, ...common, attributions };
    }
    const label = options.rules ? "custom" : method;
    const { rules, skipped } = bindRules(model, options.rules ?? methodRules(method, options.gim));
    if (method === "integratedGradients") {
      const attributions = integratedGradients(model, e.value, eb, position, target, foil, rules, options.steps ?? 32, options.batchSize ?? 8, allowNonFinite, options.onProgress);
      if (!allowNonFinite) checkFiniteAttributions(label, attributions, () => "the mean gradient times (e - e_baseline) overflows");
      return { method: label, ...common, attributions, skippedRules: skipped };
    }
    const traced = grad(L, [e], { rules, trace: true });
    const g = traced.grads[0]!;
    const attributions = gradientTimesDelta(g, e.value, eb);
    if (!allowNonFinite) checkFiniteAttributions(label, attributions, () => locateNonFiniteGradient(L, [e], { rules }) ?? "the gradient times (e - e_baseline) overflows");
    return {
      method: label,
      ...common,
      attributions,
      gradient: g,
      skippedRules: skipped,
      ...(options.trace ? { trace: traced.trace.filter((t) => t.rule !== "default") } : {}),
    };
  });
}

/**
 * The argmax of the logits `row` as the default target. Never among non-finite logits (with
 * `allowNonFinite` the forward may return them): NaN compares false with everything, so the
 * "largest" would be an accident of the order.
 */
function argmaxTarget(row: Tensor, position: number): number {
  const bad = T.firstNonFinite(row);
  if (bad) throw new NonFiniteError(`the logits at position ${position}`, `token id ${bad.index} is ${describeNonFinite(bad.value)}, so no target can be picked by argmax; pass a target`);
  return T.argmax(row, 0).item();
}

/**
 * Fails with a {@link NonFiniteError} naming the method when `attributions` hold NaN or
 * ±Infinity; `locate` (run only then) says where they first appeared.
 */
function checkFiniteAttributions(method: string, attributions: readonly number[], locate: () => string): void {
  const t = attributions.findIndex((v) => !Number.isFinite(v));
  if (t < 0) return;
  throw new NonFiniteError(`the ${method} attributions`, `${locate()}; the attribution of token ${t} is ${describeNonFinite(attributions[t]!)}`);
}

/** Bad input in one item of {@link explainBatch}: `item` is its index (0-based), the message says `item N: ...` (1-based). */
export class BatchItemError extends InputError {
  override name = "BatchItemError";

  constructor(readonly item: number, readonly problem: InputError) {
    super(`item ${item + 1}: ${problem.message}`, { cause: problem });
  }
}

/** One prediction of a batch for {@link explainBatch}: its ids and what differs from the shared options. */
export interface ExplainItem {
  readonly ids: readonly number[];
  readonly target?: number;
  readonly foil?: number;
  readonly position?: number;
  readonly baseline?: number;
}

/**
 * Explains many predictions with the same methods and settings: one {@link explainMethods}
 * per item (items may differ in length, target, foil, position and baseline), in order.
 * `onItemDone(done, total)` is called after each item. An item's bad input fails with a
 * {@link BatchItemError} naming it: `item 3: ...`.
 */
export function explainBatch(
  model: CausalLM,
  items: readonly ExplainItem[],
  methods: readonly MethodName[],
  options: ExplainOptions & { onItemDone?: (done: number, total: number) => void } = {},
): Explanation[][] {
  const { onItemDone, ...shared } = options;
  return items.map((item, i) => {
    let result: Explanation[];
    try {
      result = explainMethods(model, item.ids, methods, {
        ...shared,
        ...(item.target !== undefined ? { target: item.target } : {}),
        ...(item.foil !== undefined ? { foil: item.foil } : {}),
        ...(item.position !== undefined ? { position: item.position } : {}),
        ...(item.baseline !== undefined ? { baseline: item.baseline } : {}),
      });
    } catch (e) {
      if (e instanceof InputError) throw new BatchItemError(i, e);
      throw e;
    }
    onItemDone?.(i + 1, items.length);
    return result;
  });
}

/**
 * The most interpolation steps integrated gradients takes (one forward and backward pass per
 * step): more would run for hours on a large model without changing the result visibly (the
 * midpoint rule's error falls as 1 / steps^2).
 */
export const maxIntegratedGradientsSteps = 4096;

/** A clear error for an option that must be a positive integer (when given), at most `max`. */
function checkCount(name: string, value: number | undefined, max = Infinity): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < 1)) throw new InputError(`explain: ${name} must be a positive integer, got ${quote(value)}`);
  if (value !== undefined && value > max) throw new InputError(`explain: ${name} must be at most ${max}, got ${value}`);
}

function checkTokenId(what: string, id: number, vocab: number): void {
  if (typeof id !== "number" || !Number.isInteger(id)) throw new InputError(`explain: the ${what} token id ${quote(id)} is ${kindOfValue(id)}, not an integer`);
  if (id < 0 || id >= vocab) throw new InputError(`explain: the ${what} token id ${id} is outside the vocabulary [0, ${vocab})`);
}

/** attr[t] = sum_d g[t, d] * (e[t, d] - eb[d]) */
export function gradientTimesDelta(g: Tensor, e: Tensor, eb: Tensor): number[] {
  return Array.from(T.sum(T.mul(g, T.sub(e, eb)), -1).toFlat());
}

/**
 * Integrated gradients along the straight line from the baseline embeddings to e, midpoint
 * rule: attr[t] = sum_d (e - eb)[t, d] * mean_k dL/de(eb + a_k (e - eb))[t, d], a_k = (k + 1/2) / steps.
 * The points are run as batches of sequences.
 */
function integratedGradients(model: CausalLM, e: Tensor, eb: Tensor, position: number, target: number, foil: number | undefined, rules: readonly Rule[], steps: number, batchSize: number, allowNonFinite: boolean, onProgress?: (done: number, total: number) => void): number[] {
  const delta = T.sub(e, eb); // [T, d]
  let total = T.zeros(e.shape, { dtype: e.dtype });
  for (let start = 0; start < steps; start += batchSize) {
    const alphas = Array.from({ length: Math.min(batchSize, steps - start) }, (_, i) => (start + i + 0.5) / steps);
    const a = T.tensor(alphas, { shape: [alphas.length, 1, 1], dtype: e.dtype });
    const points = variable(T.add(eb, T.mul(a, delta))); // [B, T, d]
    const out = model.forward({ embeds: points }, { positions: [position], allowNonFinite });
    const seed = T.zeros(out.logits.shape, { dtype: e.dtype }); // [B, 1, V]: dL/dlogits, one target per sequence
    for (let b = 0; b < alphas.length; b++) {
      seed.set([b, 0, target], 1);
      if (foil !== undefined) seed.set([b, 0, foil], -1);
    }
    const [g] = grad(out.logits, [points], { rules, seed });
    if (!allowNonFinite && T.firstNonFinite(g!) !== undefined) {
      const where = locateNonFiniteGradient(out.logits, [points], { rules, seed });
      throw new NonFiniteError("the integrated gradients", `${where ?? "the gradient is not finite"}, at interpolation point ${start + 1}..${start + alphas.length} of ${steps}`);
    }
    // One point at a time, in order, so the sum does not depend on the batch size.
    for (let b = 0; b < alphas.length; b++) total = T.add(total, T.select(g!, 0, b));
    onProgress?.(start + alphas.length, steps);
  }
  return gradientTimesDelta(T.div(total, steps), e, eb);
}

/** Occlusion: attr[t] = L(x) - L(x with token t replaced by the baseline), L the target logit or the contrast. */
function occlusion(model: CausalLM, ids: readonly number[], position: number, target: number, foil: number | undefined, baseline: number, value: number, batchSize = 8, allowNonFinite = false): number[] {
  const attributions: number[] = [];
  noGrad(() => {
    for (let start = 0; start < ids.length; start += batchSize) {
      const batch = Array.from({ length: Math.min(batchSize, ids.length - start) }, (_, i) => ids.map((id, t) => (t === start + i ? baseline : id)));
      const logits = model.forward({ ids: batch }, { positions: [position], allowNonFinite }).logits.value; // [B, 1, V]
      for (let b = 0; b < batch.length; b++) attributions.push(value - (logits.get(b, 0, target) - (foil === undefined ? 0 : logits.get(b, 0, foil))));
    }
  });
  return attributions;
}
