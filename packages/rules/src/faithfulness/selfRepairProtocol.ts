/**
 * The GIM paper's self-repair protocol, as its experiment code computes it
 * (JoakimEdin/gim, src/evaluation/evaluate_self_repair.py, read at commit 38c8472).
 *
 * Per layer, head and query position q (an attention row), with A = softmax(s) the pattern,
 * s the scaled scores and g_k = dL/dA[q,k] from a plain backward of the target logit L:
 *
 *   c_k = A[q,k] * g_k                          (per-key linearised contribution; sum_k c_k = A·g)
 *   the row is kept when at least two keys have c_k > threshold (strictly; the reference's
 *     `sum(dl_ds_s > 1) > 1`, so threshold 1 in logit units)
 *   j1, j2 = the two keys with the largest c (ties: lower position first)
 *   m = the mean of the row's finite scores over the keys the query sees (j1 and j2 included)
 *   ablating a set S of {j1, j2}: s'_j = m for j in S, others unchanged, A' = softmax(s')
 *
 *   linearised output O(S) = sum_k A'_k g_k,   change(S) = O(∅) - O(S)
 *   interaction = (change({j1,j2}) - change({j1}) - change({j2})) / change({j1,j2})   (0 when the joint change is 0)
 *
 * and the high-interaction rows are those with interaction strictly above the 0.95 quantile
 * (linear interpolation, as torch.quantile) of all rows pooled over examples and layers.
 * The reference also reports, for the two keys, the plain softmax backward A (g - A·g) and TSG's
 * softmax(s/T) (g - softmax(s/T)·g) at T = 2, both computed locally from the row.
 *
 * Where this differs from the reference:
 * - The reference's "ablation effect" is the linearised one above: g stays at the clean run's
 *   value and only the row's softmax is recomputed, so the interaction only sees the softmax's
 *   own nonlinearity. We report that (`linearised`, and the selection uses it by default) and
 *   also the exact effect, f(x) - f(x with the scores patched), from forwards with the scores
 *   of that row replaced at the `attn.scores` place (`exact`); `summariseSelfRepairProtocol`
 *   can select on either.
 * - The reference seeds its backward with `trace.answer_direction(answer)` from a module it
 *   does not ship (src/gim/transpose_trace.py); its attribution code uses the same call for the
 *   answer's logit, so we take L = the target logit at the read position.
 * - We compute in the model's dtype and the local softmaxes in float64; the reference runs in
 *   its models' dtype. torch.topk's tie order is unspecified; ours is lower position first.
 *
 * Where it differs from our measurement (selfRepair.ts): that one picks rows by weight (the
 * second-heaviest weight at least minWeight) and keys by weight, ablates by masking (weight 0,
 * renormalise the rest), measures exact effects only, and calls a row self-repair by absolute
 * criteria (joint effect at least a share of |f|, single effects at most half of it). This
 * protocol picks rows and keys by contribution c, ablates to the row's mean score (the key keeps
 * some weight), and ranks rows by a relative interaction, so its top 5% always holds 5% of the
 * rows, whether or not any of them compensate.
 */
import { grad } from "@gim/autograd";
import { InputError, type Tensor } from "@gim/tensor";
import { placeVars, resolvePosition, run, type CausalLM } from "@gim/transformer";
import { targetLogit } from "../components/logitMetric.js";
import { runPatched, type PatchedRun, type RowEdit } from "../components/patching.js";
import type { KeyEffects } from "./selfRepair.js";

/** The three changes of ablating {j1}, {j2}, {j1, j2}, and their interaction. */
export interface AblationEffects extends KeyEffects {
  /** (both - first - second) / both; 0 when both is 0. */
  readonly interaction: number;
}

/** What the protocol computes for one attention row of one example, from the row alone. */
export interface ProtocolRowValues {
  /** The two keys with the largest c, larger first. */
  readonly keys: readonly [number, number];
  /** c at j1 and j2. */
  readonly contributions: readonly [number, number];
  /** How many keys of the row have c above the threshold (at least 2). */
  readonly keysAbove: number;
  /** Scores s at j1 and j2. */
  readonly scores: readonly [number, number];
  /** Weights A at j1 and j2. */
  readonly weights: readonly [number, number];
  /** dL/dA at j1 and j2. */
  readonly patternGradients: readonly [number, number];
  /** The row's mean finite score over the keys the query sees (what ablation sets a score to). */
  readonly meanScore: number;
  /** Plain softmax backward at j1 and j2: A (g - A·g). */
  readonly gradient: readonly [number, number];
  /** TSG's softmax backward at j1 and j2: softmax(s/T) (g - softmax(s/T)·g). */
  readonly tsg: readonly [number, number];
  /** Changes of the linearised output A·g (the reference's ablation effects). */
  readonly linearised: AblationEffects;
}

/** One measured row of a model. */
export interface ProtocolRow extends ProtocolRowValues {
  /** Module path of the attention (`h.0.attn`, `model.layers.0.self_attn`). */
  readonly path: string;
  readonly layer: number;
  readonly head: number;
  readonly query: number;
  /** f(x) - f(x with the scores patched), from forwards (absent when `exact` is false). */
  readonly exact?: AblationEffects;
}

/** Options of {@link protocolRowValues}. */
export interface ProtocolRowOptions {
  /** Keys count when c_k > threshold (default 1, the reference's). */
  readonly threshold?: number;
  /** TSG temperature for the reported `tsg` values (default 2, the reference's). */
  readonly temperature?: number;
  /** First key the query sees (sliding window; default 0). */
  readonly first?: number;
}

/** Options of {@link selfRepairProtocol}. */
export interface SelfRepairProtocolOptions extends Omit<ProtocolRowOptions, "first"> {
  /** The token whose logit is L. */
  readonly target: number;
  /** Where L is read (default -1, the last token). */
  readonly position?: number;
  /** Run the exact forwards too (default true). */
  readonly exact?: boolean;
  /** Sequences per forward pass of the patched runs (default 64). */
  readonly batchSize?: number;
}

/** The rows of one example that pass the threshold, and how many rows there were. */
export interface SelfRepairProtocolResult {
  readonly rows: ProtocolRow[];
  /** Rows looked at: layers x heads x query positions. */
  readonly rowCount: number;
  /** Rows with at least one key above the threshold (the reference's `important_attention`). */
  readonly rowsWithKeyAbove: number;
}

/** `(both - first - second) / both`, 0 when both is 0. */
export function interactionOf(first: number, second: number, both: number): number {
  return both === 0 ? 0 : (both - first - second) / both;
}

/** softmax over keys first..query of `s` in float64 (other entries 0). */
function rowSoftmax(s: readonly number[], query: number, first: number, temperature = 1): Float64Array {
  const out = new Float64Array(s.length);
  let max = -Infinity;
  for (let k = first; k <= query; k++) max = Math.max(max, s[k]! / temperature);
  let sum = 0;
  for (let k = first; k <= query; k++) sum += out[k] = Math.exp(s[k]! / temperature - max);
  for (let k = first; k <= query; k++) out[k]! /= sum;
  return out;
}

/** The mean of the finite scores of keys first..query. */
function meanFiniteScore(s: readonly number[], query: number, first: number): number {
  let sum = 0;
  let n = 0;
  for (let k = first; k <= query; k++) {
    if (Number.isFinite(s[k])) {
      sum += s[k]!;
      n++;
    }
  }
  return sum / n;
}

/** Scores of keys first..query with the keys in `ablated` set to `value`. */
function ablatedScores(s: readonly number[], ablated: readonly number[], value: number): number[] {
  return s.map((v, k) => (ablated.includes(k) ? value : v));
}

/**
 * The protocol on one row, given its scores s (length >= query + 1), the pattern A and
 * dL/dA: undefined when fewer than two keys have c above the threshold.
 */
export function protocolRowValues(
  scores: readonly number[],
  pattern: readonly number[],
  patternGradient: readonly number[],
  query: number,
  options: ProtocolRowOptions = {},
): ProtocolRowValues | undefined {
  const threshold = options.threshold ?? 1;
  const temperature = options.temperature ?? 2;
  const first = options.first ?? 0;
  if (!(temperature > 0)) throw new InputError(`temperature must be positive, got ${temperature}`);
  if (!Number.isFinite(threshold)) throw new InputError(`threshold must be a finite number, got ${threshold}`);
  if (!(query < scores.length && query < pattern.length && query < patternGradient.length)) {
    throw new InputError(`query ${query} is outside a row of ${Math.min(scores.length, pattern.length, patternGradient.length)} keys`);
  }
  const keys: number[] = [];
  for (let k = first; k <= query; k++) keys.push(k);
  const c = keys.map((k) => pattern[k]! * patternGradient[k]!);
  const keysAbove = c.filter((v) => v > threshold).length;
  if (keysAbove < 2) return undefined;
  const order = keys.map((_, i) => i).sort((a, b) => c[b]! - c[a]! || a - b);
  const [j1, j2] = [keys[order[0]!]!, keys[order[1]!]!];
  const g = patternGradient;
  const mean = meanFiniteScore(scores, query, first);
  const output = (a: Float64Array): number => keys.reduce((sum, k) => sum + a[k]! * g[k]!, 0);
  const original = c.reduce((sum, v) => sum + v, 0);
  const [e1, e2, e12] = [[j1], [j2], [j1, j2]].map((S) => original - output(rowSoftmax(ablatedScores(scores, S, mean), query, first))) as [number, number, number];
  const localBackward = (a: ArrayLike<number>): [number, number] => {
    const dot = keys.reduce((sum, k) => sum + a[k]! * g[k]!, 0);
    return [a[j1]! * (g[j1]! - dot), a[j2]! * (g[j2]! - dot)];
  };
  return {
    keys: [j1, j2],
    contributions: [c[order[0]!]!, c[order[1]!]!],
    keysAbove,
    scores: [scores[j1]!, scores[j2]!],
    weights: [pattern[j1]!, pattern[j2]!],
    patternGradients: [g[j1]!, g[j2]!],
    meanScore: mean,
    gradient: localBackward(pattern),
    tsg: localBackward(rowSoftmax(scores, query, first, temperature)),
    linearised: { first: e1, second: e2, both: e12, interaction: interactionOf(e1, e2, e12) },
  };
}

/** The row of a [1, H, T, T] tensor at (head, query), as numbers. */
function rowOf(t: Tensor, head: number, query: number): number[] {
  const keys = t.shape[3]!;
  return Array.from({ length: keys }, (_, k) => t.get(0, head, query, k));
}

/** An edit of scores [1, H, T, T] that sets entries (head, query, k) for k in `keys` to `value`. */
function setScoresEdit(head: number, query: number, keys: readonly number[], value: number): RowEdit {
  return (rows) => {
    const [, heads, steps] = rows.shape as [number, number, number, number];
    if (head >= heads || query >= steps) throw new InputError(`score row (head ${head}, query ${query}) does not fit scores of shape [1, ${heads}, ${steps}, ${steps}]`);
    for (const k of keys) rows.set([0, head, query, k], value);
    return rows;
  };
}

/**
 * The protocol on one example: one recorded forward, one plain backward to every attention
 * pattern, the rows that pass the threshold with their linearised effects, and (unless
 * `exact: false`) three patched forwards per row for the exact effects. Pool the results of
 * many examples with {@link summariseSelfRepairProtocol}.
 */
export function selfRepairProtocol(model: CausalLM, ids: readonly number[], options: SelfRepairProtocolOptions): SelfRepairProtocolResult {
  const position = options.position ?? -1;
  resolvePosition(position, ids.length);
  const places = model.layout.blocks.map(({ index, attention: a }) => ({ path: a.path, layer: index, window: a.window, scores: a.scores, pattern: a.pattern }));
  if (places.length === 0) throw new InputError(`the ${model.config.modelType} model has no attention places`);
  const forward = run(model, { ids: [[...ids]] }, { cache: places.flatMap((p) => [p.scores, p.pattern]) });
  const L = forward.logit(position, options.target);
  const vars = placeVars(L, places.map((p) => p.pattern));
  const patternGrads = grad(L, places.map((p) => vars.get(p.pattern)!)); // plain: no rules

  const found: Omit<ProtocolRow, "exact">[] = [];
  const runs: PatchedRun[] = [new Map()];
  let rowCount = 0;
  let rowsWithKeyAbove = 0;
  places.forEach((place, i) => {
    const pattern = forward.cache.require(place.pattern);
    const scores = forward.cache.require(place.scores);
    const [, heads, steps] = pattern.shape as [number, number, number, number];
    for (let head = 0; head < heads; head++) {
      for (let query = 0; query < steps; query++) {
        rowCount++;
        const first = place.window === undefined ? 0 : Math.max(0, query - place.window + 1);
        const s = rowOf(scores, head, query);
        const a = rowOf(pattern, head, query);
        const g = rowOf(patternGrads[i]!, head, query);
        const threshold = options.threshold ?? 1;
        let any = false;
        for (let k = first; k <= query; k++) if (a[k]! * g[k]! > threshold) any = true;
        if (any) rowsWithKeyAbove++;
        const values = protocolRowValues(s, a, g, query, { threshold: options.threshold, temperature: options.temperature, first });
        if (!values) continue;
        found.push({ path: place.path, layer: place.layer, head, query, ...values });
        for (const S of [[values.keys[0]], [values.keys[1]], [...values.keys]]) runs.push(new Map([[place.scores, [setScoresEdit(head, query, S, values.meanScore)]]]));
      }
    }
  });
  if (options.exact === false || found.length === 0) return { rows: found, rowCount, rowsWithKeyAbove };
  const metric = targetLogit({ answer: options.target, position });
  const [fx, ...patched] = runPatched(model, [[...ids]], runs, metric, { batchSize: options.batchSize });
  const rows = found.map((row, r) => {
    const [e1, e2, e12] = [0, 1, 2].map((j) => fx! - patched[3 * r + j]!) as [number, number, number];
    return { ...row, exact: { first: e1, second: e2, both: e12, interaction: interactionOf(e1, e2, e12) } };
  });
  return { rows, rowCount, rowsWithKeyAbove };
}

/** The q-quantile of `values` with linear interpolation between order statistics (torch.quantile's default). */
export function linearQuantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new InputError("the quantile of no values is undefined");
  if (!(q >= 0 && q <= 1)) throw new InputError(`quantile must be in [0, 1], got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Options of {@link summariseSelfRepairProtocol}. */
export interface ProtocolSummaryOptions {
  /** Which effects rank the rows (default "linearised", the reference's). */
  readonly effects?: "linearised" | "exact";
  /** Share of rows called high-interaction (default 0.05: above the 0.95 quantile). */
  readonly top?: number;
}

/** The pooled protocol over examples. */
export interface ProtocolSummary {
  readonly effects: "linearised" | "exact";
  /** Rows looked at, rows with a key above the threshold, rows measured (two keys above). */
  readonly rowCount: number;
  readonly rowsWithKeyAbove: number;
  readonly measured: number;
  /** The (1 - top) quantile of the interaction over the measured rows (undefined with none). */
  readonly quantile: number | undefined;
  /** The rows whose interaction is strictly above it. */
  readonly highInteraction: ProtocolRow[];
  /** Mean interaction over the measured rows and over the high-interaction rows. */
  readonly meanInteraction: number | undefined;
  readonly meanHighInteraction: number | undefined;
}

/** Pools examples' rows and picks the high-interaction rows (interaction above the 0.95 quantile by default). */
export function summariseSelfRepairProtocol(results: readonly SelfRepairProtocolResult[], options: ProtocolSummaryOptions = {}): ProtocolSummary {
  const effects = options.effects ?? "linearised";
  const top = options.top ?? 0.05;
  if (!(top > 0 && top < 1)) throw new InputError(`top must be a share in (0, 1), got ${top}`);
  const rows = results.flatMap((r) => r.rows);
  const interaction = rows.map((row, i) => {
    const e = row[effects];
    if (!e) throw new InputError(`row ${i} (${row.path} head ${row.head} query ${row.query}) has no ${effects} effects: measure with exact: true`);
    return e.interaction;
  });
  const mean = (xs: readonly number[]) => (xs.length === 0 ? undefined : xs.reduce((s, v) => s + v, 0) / xs.length);
  const quantile = rows.length === 0 ? undefined : linearQuantile(interaction, 1 - top);
  const highInteraction = quantile === undefined ? [] : rows.filter((_, i) => interaction[i]! > quantile);
  return {
    effects,
    rowCount: results.reduce((s, r) => s + r.rowCount, 0),
    rowsWithKeyAbove: results.reduce((s, r) => s + r.rowsWithKeyAbove, 0),
    measured: rows.length,
    quantile,
    highInteraction,
    meanInteraction: mean(interaction),
    meanHighInteraction: mean(highInteraction.map((r) => r[effects]!.interaction)),
  };
}
