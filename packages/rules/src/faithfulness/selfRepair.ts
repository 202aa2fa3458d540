/**
 * Attention self-repair, measured (docs/GIM.md's reason for TSG). In one attention row (a query
 * position q of one head of one layer) with weights p = softmax(s), take the two keys with
 * the largest weights, j1 and j2. Masking a set S of keys in that row means
 *
 *   p'_k = 0 for k in S,   p'_k = exp(s_k) / sum over visible k' not in S of exp(s_k')   otherwise
 *
 * (the visible keys are k' <= q, or the last ones up to q under a sliding window),
 *
 * i.e. the softmax over the remaining keys (the same as zeroing their weights and
 * renormalising), in that row only; nothing else is changed, everything downstream
 * recomputes. With f the target logit,
 *
 *   E(S) = f(x) - f(x with S masked)                       (exact effect; > 0: S supported the target)
 *
 * for S = {j1}, {j2} and {j1, j2}. Rows need at least three keys (query >= 2), so that
 * masking both leaves one; in the last attention layer only the row of the position where f
 * is read is measured (nothing reads the others, so masking them cannot change f). A row
 * shows self-repair (redundancy) when the two keys matter together but little alone:
 *
 *   E({j1, j2}) >= minJointEffect * |f(x)|   and   |E({j1})| + |E({j2})| <= maxAloneShare * E({j1, j2}).
 *
 * (Absolute values: a row where one key helps and the other hurts has single effects that
 * cancel in a sum, which is not redundancy.)
 *
 * What a gradient method says about the same keys: g_j = dL/ds_j, its gradient at the
 * (pre-softmax) attention score of key j in that row (the `attn.scores` place), with its
 * backward rules. For the plain gradient the first-order estimate of E(S) is exactly
 *
 *   Ê(S) = sum over j in S of g_j / (1 - sum over j in S of p_j),
 *
 * because masking S moves p by dp_j = -p_j (j in S) and dp_k = p_k P / (1 - P) (others,
 * P = sum over S of p_j), and g_j = p_j (dL/dp_j - sum_k p_k dL/dp_k). When j1 and j2 carry
 * similar values and hold most of the weight (P near 1), dL/dp_j is close to the weighted mean,
 * so the raw g_j is proportional to 1 - P and nearly vanishes: the gradient that flows on to
 * the tokens and components upstream of the scores misses the pair (self-repair). Ê divides
 * by 1 - P again, so for the plain gradient it stays the exact first-order effect. TSG
 * evaluates that Jacobian at softmax(s / T) (not a gradient of f); its g_j and the same Ê
 * formula are reported alongside, and each method ranks the row's keys by its g_j (largest
 * first).
 */
import { grad } from "@gim/autograd";
import type { Tensor } from "@gim/tensor";
import { placeVars, resolvePosition, run, type CausalLM } from "@gim/transformer";
import { bindRules } from "../bind.js";
import type { GradientMethod } from "../explain.js";
import { targetLogit } from "../components/logitMetric.js";
import { runPatched, type PatchedRun, type RowEdit } from "../components/patching.js";
import { InputError } from "@gim/tensor";

/** One attention row and its two heaviest keys. */
export interface AttentionRow {
  /** Module path of the attention (`h.0.attn`, `model.layers.0.self_attn`). */
  readonly path: string;
  /** Block index. */
  readonly layer: number;
  /** Query head index. */
  readonly head: number;
  /** Query position. */
  readonly query: number;
  /** The two keys with the largest weights, heavier first (ties: lower position first). */
  readonly keys: readonly [number, number];
  /** Their attention weights. */
  readonly weights: readonly [number, number];
  /** Keys the row sees (query + 1, or the sliding window). */
  readonly keyCount: number;
}

/** The effects of masking {j1}, {j2} and {j1, j2}: exact, or a method's estimate. */
export interface KeyEffects {
  readonly first: number;
  readonly second: number;
  readonly both: number;
}

/** What one gradient method says about a row's two keys. */
export interface MethodKeyScores {
  /** g_j1 and g_j2: the method's gradient at the two keys' attention scores. */
  readonly gradients: readonly [number, number];
  /** Ê({j1}), Ê({j2}), Ê({j1, j2}) from those gradients (see the top of this file). */
  readonly estimates: KeyEffects;
  /** Rank of j1 and of j2 among the row's keys by g (1 = largest; ties share the better rank). */
  readonly ranks: readonly [number, number];
  /** (g_j1 + g_j2) / sum over the row's keys of |g_k|: the pair's signed share of the row's gradient (scale-free). */
  readonly pairShare: number;
}

/** The measurement of one row. */
export interface SelfRepairRow extends AttentionRow {
  /** f(x), the target logit of the unmasked run. */
  readonly logit: number;
  /** E({j1}), E({j2}), E({j1, j2}). */
  readonly effects: KeyEffects;
  /** By method name. */
  readonly methods: Readonly<Record<string, MethodKeyScores>>;
}

/** Options of {@link measureSelfRepair}. */
export interface SelfRepairOptions {
  /** The token whose logit is f. */
  readonly target: number;
  /** Where f is read (default -1, the last token). */
  readonly position?: number;
  /** Gradient methods to score the keys with. */
  readonly methods: readonly GradientMethod[];
  /** Rows are measured when the second-heaviest key has at least this weight (default 0.2). */
  readonly minWeight?: number;
  /** Sequences per forward pass of the masked runs (default 64). */
  readonly batchSize?: number;
}

/** The attention places of a model: path, layer, sliding window, and the keys of its scores and pattern places. */
function attentionPlaces(model: CausalLM): { path: string; layer: number; window: number | undefined; scores: string; pattern: string }[] {
  return model.layout.blocks.map(({ index, attention: a }) => ({ path: a.path, layer: index, window: a.window, scores: a.scores, pattern: a.pattern }));
}

/**
 * The softmax over keys first..query of one score row (`first` > 0 under a sliding window)
 * with the keys in `masked` left out, in float64: the new row (zeros at masked and hidden
 * keys) and the weight that the unmasked keys held before (1 - P).
 */
export function maskedRow(scores: ArrayLike<number>, query: number, masked: readonly number[], first = 0): { row: Float64Array; kept: number } {
  const n = scores.length;
  let max = -Infinity;
  for (let k = first; k <= query; k++) max = Math.max(max, scores[k]!);
  let all = 0;
  let rest = 0;
  const row = new Float64Array(n);
  for (let k = first; k <= query; k++) {
    const e = Math.exp(scores[k]! - max);
    all += e;
    if (!masked.includes(k)) {
      row[k] = e;
      rest += e;
    }
  }
  if (rest === 0) throw new InputError(`masking keys ${masked.join(", ")} of query ${query} leaves no weight on any other key`);
  for (let k = first; k <= query; k++) row[k]! /= rest;
  return { row, kept: rest / all };
}

/** An edit of an attention pattern [B, H, T, T] (B = 1) that replaces row (head, query) by `row`. */
function setRowEdit(head: number, query: number, row: Float64Array): RowEdit {
  return (rows) => {
    const [, heads, steps, keys] = rows.shape as [number, number, number, number];
    if (head >= heads || query >= steps || row.length !== keys) throw new InputError(`pattern row (head ${head}, query ${query}) does not fit a pattern of shape [1, ${heads}, ${steps}, ${keys}]`);
    rows.data.set(row, (head * steps + query) * keys);
    return rows;
  };
}

/** The row of a [1, H, T, T] tensor at (head, query), as numbers. */
function rowOf(t: Tensor, head: number, query: number): number[] {
  const keys = t.shape[3]!;
  return Array.from({ length: keys }, (_, k) => t.get(0, head, query, k));
}

/** Competition rank of item `i` by value, largest first (1 + the number of strictly larger values). */
function rankOf(values: readonly number[], i: number): number {
  return 1 + values.filter((v) => v > values[i]!).length;
}

/**
 * Finds every attention row of one example whose two heaviest keys both hold at least
 * `minWeight`, and measures it: exact effects of masking each key and both (batched patched
 * runs), and each method's gradients, estimates and ranks (one recorded forward, one backward
 * per method). Use {@link isSelfRepair} to pick the rows that show self-repair.
 */
export function measureSelfRepair(model: CausalLM, ids: readonly number[], options: SelfRepairOptions): SelfRepairRow[] {
  const minWeight = options.minWeight ?? 0.2;
  if (!(minWeight >= 0 && minWeight <= 0.5)) throw new InputError(`minWeight must be in [0, 0.5] (the second-heaviest of the weights), got ${minWeight}`);
  const position = options.position ?? -1;
  const places = attentionPlaces(model);
  if (places.length === 0) throw new InputError(`the ${model.config.modelType} model has no attention pattern places`);
  const forward = run(model, { ids: [[...ids]] }, { cache: places.flatMap((p) => [p.scores, p.pattern]) });
  const L = forward.logit(position, options.target);
  const scoreVars = placeVars(L, places.map((p) => p.scores));
  const xs = places.map((p) => scoreVars.get(p.scores)!);
  const gradients = options.methods.map((m) => grad(L, xs, { rules: bindRules(model, m.rules).rules })); // per method, per place: [1, H, T, T]

  const rows: AttentionRow[] = [];
  const runs: PatchedRun[] = [new Map()];
  const kept: number[][] = []; // per row: 1 - P for {j1}, {j2}, {j1, j2}
  const lastLayer = Math.max(...places.map((p) => p.layer));
  const readAt = resolvePosition(position, ids.length);
  places.forEach((place) => {
    const pattern = forward.cache.require(place.pattern); // [1, H, T, T]
    const scores = forward.cache.require(place.scores);
    const [, heads, steps] = pattern.shape as [number, number, number, number];
    for (let head = 0; head < heads; head++) {
      for (let query = 2; query < steps; query++) {
        // From query 2: a row needs a third key, so that masking both keys leaves one.
        // In the last attention layer only the row where f is read can change f.
        if (place.layer === lastLayer && query !== readAt) continue;
        const first = place.window === undefined ? 0 : Math.max(0, query - place.window + 1); // the first key it sees
        if (query - first < 2) continue;
        const p = rowOf(pattern, head, query).slice(0, query + 1);
        const order = p.map((_, k) => k).filter((k) => k >= first).sort((a, b) => p[b]! - p[a]! || a - b);
        const [j1, j2] = order as [number, number];
        if (p[j2]! < minWeight) continue;
        rows.push({ path: place.path, layer: place.layer, head, query, keys: [j1, j2], weights: [p[j1]!, p[j2]!], keyCount: query + 1 - first });
        const s = rowOf(scores, head, query);
        const masks = [[j1], [j2], [j1, j2]];
        const rowKept: number[] = [];
        for (const masked of masks) {
          const m = maskedRow(s, query, masked, first);
          rowKept.push(m.kept);
          runs.push(new Map([[place.pattern, [setRowEdit(head, query, m.row)]]]));
        }
        kept.push(rowKept);
      }
    }
  });
  const metric = targetLogit({ answer: options.target, position });
  const [fx, ...masked] = runPatched(model, [[...ids]], runs, metric, { batchSize: options.batchSize });
  return rows.map((row, r) => {
    const placeIndex = places.findIndex((p) => p.path === row.path);
    const [e1, e2, e12] = [0, 1, 2].map((i) => fx! - masked[3 * r + i]!) as [number, number, number];
    const [k1, k2, k12] = kept[r] as [number, number, number];
    const methods: Record<string, MethodKeyScores> = {};
    options.methods.forEach((m, i) => {
      const g = rowOf(gradients[i]![placeIndex]!, row.head, row.query).slice(0, row.query + 1);
      const [g1, g2] = [g[row.keys[0]]!, g[row.keys[1]]!];
      methods[m.name] = {
        gradients: [g1, g2],
        estimates: { first: g1 / k1, second: g2 / k2, both: (g1 + g2) / k12 },
        ranks: [rankOf(g, row.keys[0]), rankOf(g, row.keys[1])],
        pairShare: (g1 + g2) / g.reduce((sum, v) => sum + Math.abs(v), 0),
      };
    });
    return { ...row, logit: fx!, effects: { first: e1, second: e2, both: e12 }, methods };
  });
}

/** When a measured row counts as self-repair (see the top of this file). */
export interface SelfRepairCriteria {
  /** E({j1, j2}) must be at least this share of |f(x)| (default 0.05). */
  readonly minJointEffect?: number;
  /** |E({j1})| + |E({j2})| must be at most this share of E({j1, j2}) (default 0.5). */
  readonly maxAloneShare?: number;
}

/** Whether a row shows self-repair: the two keys matter together, and much less one at a time. */
export function isSelfRepair(row: SelfRepairRow, criteria: SelfRepairCriteria = {}): boolean {
  const minJoint = criteria.minJointEffect ?? 0.05;
  const share = criteria.maxAloneShare ?? 0.5;
  const { first, second, both } = row.effects;
  return both > 0 && both >= minJoint * Math.abs(row.logit) && Math.abs(first) + Math.abs(second) <= share * both;
}
