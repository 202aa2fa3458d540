/**
 * The GIM paper's self-repair protocol over a task's examples, and its link to circuit error
 * (issue 11; definitions in `@gim/rules`' `faithfulness/selfRepairProtocol.ts` and
 * `selfRepairCircuitError.ts`):
 *
 * - every attention row of every example; the rows where at least two keys have a linearised
 *   contribution c_k = A[q,k] dL/dA[q,k] above the threshold are measured: the top-2 keys'
 *   scores set to the row's mean score, alone and together, linearised (the reference's) and
 *   exact (patched forwards) effects, and interaction = (both - first - second) / both;
 * - the high-interaction rows: interaction above the pooled 0.95 quantile (the reference's);
 * - the link: |EAP| / |exact| on the q/k edges into the heads that hold high-interaction rows vs
 *   the other q/k edges, for plain EAP, TSG alone and GIM, as a difference in differences
 *   against plain with a paired bootstrap over the circuit evaluation's scoring pairs. The heads
 *   are chosen on the protocol's examples and the ratios measured on the scoring pairs' clean
 *   prompts; how many of those are also protocol examples is reported (`sharedPrompts`).
 *
 * Intervals over examples are percentile bootstraps that resample whole examples (rows of one
 * example are not independent).
 */
import {
  bootstrapInterval, bootstrapSamples, edgeScoresByPair, gim, headsOf, methodRules, selfRepairCircuitErrorLink, selfRepairProtocol, summariseSelfRepairProtocol,
  type AblationEffects, type HeadId, type Interval, type MethodCircuitError, type ProtocolRow, type SelfRepairProtocolResult,
} from "@gim/rules";
import { InputError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { median, pooledShare } from "./stats.js";
import type { EvalExample, EvalPair } from "./task.js";

/** One measured row, as the report's plots and tables need it. */
export interface ProtocolPoint {
  /** Index of the example among the protocol's examples. */
  readonly example: number;
  readonly layer: number;
  readonly head: number;
  readonly query: number;
  readonly keys: readonly [number, number];
  readonly linearised: AblationEffects;
  readonly exact?: AblationEffects;
  /** Sum over the top-2 keys of the plain softmax backward, A (g - A·g), and of TSG's (T = temperature). */
  readonly gradientSum: number;
  readonly tsgSum: number;
  /** In the high-interaction set (by the linearised effects). */
  readonly high: boolean;
}

/** The high-interaction selection on one kind of effects. */
export interface InteractionSummary {
  /** The (1 - top) quantile of the interaction over the measured rows (NaN with none). */
  readonly quantile: number;
  /** Rows strictly above it. */
  readonly highRows: number;
  /** Median interaction over the measured rows, with a bootstrap interval over examples. */
  readonly medianInteraction: Interval;
  /** Mean interaction over the high-interaction rows. */
  readonly meanHighInteraction: number;
  /** Share of measured rows whose joint effect exceeds the sum of the single ones (interaction > 0 with both > 0), with a bootstrap interval over examples. */
  readonly superadditive: Interval;
}

/** The circuit-error link of one model (see the top of this file). */
export interface ProtocolLinkResult {
  readonly baseline: string;
  /** Scoring pairs the ratios are measured on. */
  readonly prompts: number;
  /** The heads holding high-interaction rows, and the q/k edges into them and into the other heads. */
  readonly heads: readonly HeadId[];
  readonly highEdges: number;
  readonly otherEdges: number;
  /** Scoring pairs whose clean prompt is also one of the protocol's examples. */
  readonly sharedPrompts: number;
  /** Per method (`plain`, `tsg`, `gim`): R(high), R(other), the gap and (not for plain) the difference in differences. */
  readonly methods: Readonly<Record<string, MethodCircuitError>>;
}

/** How many rows would meet the criterion at another threshold. */
export interface ThresholdShare {
  readonly threshold: number;
  readonly rowsWithKeyAbove: number;
  readonly measured: number;
  /** measured / rows looked at, with a bootstrap interval over examples. */
  readonly share: Interval;
}

/** The protocol's measurement of one model. */
export interface ProtocolEvalResult {
  readonly examples: number;
  readonly threshold: number;
  readonly temperature: number;
  readonly top: number;
  /** Rows looked at, rows with one key above the threshold, rows measured (at least two). */
  readonly rowCount: number;
  readonly rowsWithKeyAbove: number;
  readonly measured: number;
  /** measured / rowCount, with a bootstrap interval over examples. */
  readonly share: Interval;
  /** The share at the other thresholds of `sensitivityThresholds` (row counts only; nothing else is measured at them). */
  readonly sensitivity: readonly ThresholdShare[];
  /** The selection on the linearised effects (the reference's), and on the exact ones. */
  readonly linearised: InteractionSummary;
  readonly exact?: InteractionSummary;
  /** High-interaction rows in both selections. */
  readonly highInBoth?: number;
  /** High-interaction rows (linearised) per layer (index = layer), and per head. */
  readonly highByLayer: readonly number[];
  readonly highHeads: readonly (HeadId & { readonly rows: number })[];
  readonly points: readonly ProtocolPoint[];
  readonly link?: ProtocolLinkResult;
  /** Why there is no link, when there is none. */
  readonly linkNote?: string;
}

/** Options of {@link evaluateSelfRepairProtocol}. */
export interface ProtocolEvalOptions {
  /** Keys count when c_k > threshold (default 1, the reference's). */
  readonly threshold?: number;
  /** Share called high-interaction (default 0.05). */
  readonly top?: number;
  /** TSG temperature of the plot's TSG values (default 2). */
  readonly temperature?: number;
  /** Other thresholds at which to count the rows meeting the criterion (default 1, 0.5, 0.25, 0.1; the main threshold is left out). */
  readonly sensitivityThresholds?: readonly number[];
  /** Run the exact (patched) ablations too (default true). */
  readonly exact?: boolean;
  /** Pairs of the circuit-error link (its scoring pairs); no link without them. */
  readonly linkPairs?: readonly EvalPair[];
  /** Bootstrap resamples (default 2000) and seed (default 0). */
  readonly resamples?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  /** Called after each example and after each pair group of the link. */
  readonly onProgress?: (units: number) => void;
}

/** The rule sets of the link: plain EAP, TSG alone, GIM. */
export function linkRuleSets(temperature = 2): Record<string, ReturnType<typeof gim>> {
  return { plain: [], tsg: methodRules("softmaxTemperature", { temperature }), gim: gim() };
}

/** Percentile bootstrap over examples of a statistic of the rows of the sampled examples. */
function overExamples(perExample: readonly (readonly ProtocolRow[])[], statistic: (rows: readonly ProtocolRow[], sample: ArrayLike<number> | undefined) => number, samples: readonly Uint32Array[]): Interval {
  return bootstrapInterval((sample) => {
    const rows = sample ? Array.from(sample, (i) => perExample[i]!).flat() : perExample.flat();
    return statistic(rows, sample);
  }, samples);
}

function interactionSummary(results: readonly SelfRepairProtocolResult[], effects: "linearised" | "exact", top: number, samples: readonly Uint32Array[]): { summary: InteractionSummary; high: Set<ProtocolRow> } {
  const s = summariseSelfRepairProtocol(results, { effects, top });
  const perExample = results.map((r) => r.rows);
  const of = (row: ProtocolRow) => row[effects]!;
  const summary: InteractionSummary = {
    quantile: s.quantile ?? Number.NaN,
    highRows: s.highInteraction.length,
    medianInteraction: overExamples(perExample, (rows) => median(rows.map((r) => of(r).interaction)), samples),
    meanHighInteraction: s.meanHighInteraction ?? Number.NaN,
    superadditive: overExamples(perExample, (rows) => (rows.length === 0 ? Number.NaN : rows.filter((r) => of(r).both > 0 && of(r).interaction > 0).length / rows.length), samples),
  };
  return { summary, high: new Set(s.highInteraction) };
}

/** How many pairs' clean prompts are among the examples' prompts. */
function sharedPrompts(examples: readonly EvalExample[], pairs: readonly EvalPair[]): number {
  const seen = new Set(examples.map((e) => e.ids.join(",")));
  return pairs.filter((p) => seen.has(p.clean.join(","))).length;
}

/** Runs the protocol on every example, pools it, and (with `linkPairs`) measures the circuit-error link. */
export function evaluateSelfRepairProtocol(model: CausalLM, examples: readonly EvalExample[], options: ProtocolEvalOptions = {}): ProtocolEvalResult {
  if (examples.length === 0) throw new InputError("the self-repair protocol needs at least one example");
  const threshold = options.threshold ?? 1;
  const top = options.top ?? 0.05;
  const temperature = options.temperature ?? 2;
  const exact = options.exact ?? true;
  const results = examples.map((e) => {
    const r = selfRepairProtocol(model, e.ids, { target: e.target, threshold, temperature, exact, batchSize: options.batchSize });
    options.onProgress?.(1);
    return r;
  });
  const samples = bootstrapSamples(examples.length, { resamples: options.resamples, seed: options.seed });
  const shareOf = (per: readonly SelfRepairProtocolResult[]) => pooledShare(per.map((r) => ({ part: r.rows.length, whole: r.rowCount })), samples);
  const share = shareOf(results);
  const sensitivity = (options.sensitivityThresholds ?? [1, 0.5, 0.25, 0.1])
    .filter((t) => t !== threshold)
    .map((t): ThresholdShare => {
      const per = examples.map((e) => selfRepairProtocol(model, e.ids, { target: e.target, threshold: t, temperature, exact: false }));
      return { threshold: t, rowsWithKeyAbove: per.reduce((s, r) => s + r.rowsWithKeyAbove, 0), measured: per.reduce((s, r) => s + r.rows.length, 0), share: shareOf(per) };
    });
  const lin = interactionSummary(results, "linearised", top, samples);
  const ex = exact ? interactionSummary(results, "exact", top, samples) : undefined;
  const points: ProtocolPoint[] = results.flatMap((r, example) =>
    r.rows.map((row) => ({
      example,
      layer: row.layer,
      head: row.head,
      query: row.query,
      keys: row.keys,
      linearised: row.linearised,
      ...(row.exact ? { exact: row.exact } : {}),
      gradientSum: row.gradient[0] + row.gradient[1],
      tsgSum: row.tsg[0] + row.tsg[1],
      high: lin.high.has(row),
    })),
  );
  const highRows = [...lin.high];
  const layers = model.layout.blocks.length;
  const highHeads = headsOf(highRows).map((h) => ({ ...h, rows: highRows.filter((r) => r.layer === h.layer && r.head === h.head).length }));

  let link: ProtocolLinkResult | undefined;
  let linkNote: string | undefined;
  let pairsDone = false;
  if (!options.linkPairs || options.linkPairs.length === 0) linkNote = "no circuit pairs to measure the link on";
  else if (highHeads.length === 0) linkNote = "no high-interaction rows, so no heads to compare";
  else {
    const ruleSets = linkRuleSets(temperature);
    const names = Object.keys(ruleSets);
    const scored = edgeScoresByPair(model, options.linkPairs, Object.values(ruleSets), { exact: true, batchSize: options.batchSize });
    options.onProgress?.(options.linkPairs.length);
    pairsDone = true;
    try {
      const l = selfRepairCircuitErrorLink(scored.exact!, Object.fromEntries(names.map((n, i) => [n, scored.eap[i]!])), highHeads, { baseline: "plain", resamples: options.resamples, seed: options.seed });
      link = { baseline: l.baseline, prompts: l.prompts, heads: highHeads.map((h) => ({ layer: h.layer, head: h.head })), highEdges: l.highEdges.length, otherEdges: l.otherEdges.length, sharedPrompts: sharedPrompts(examples, options.linkPairs), methods: l.methods };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      linkNote = e.message;
    }
  }
  if (options.linkPairs && options.linkPairs.length > 0 && !pairsDone) options.onProgress?.(options.linkPairs.length);
  return {
    examples: examples.length,
    threshold,
    temperature,
    top,
    rowCount: results.reduce((s, r) => s + r.rowCount, 0),
    rowsWithKeyAbove: results.reduce((s, r) => s + r.rowsWithKeyAbove, 0),
    measured: points.length,
    share,
    sensitivity,
    linearised: lin.summary,
    ...(ex ? { exact: ex.summary, highInBoth: highRows.filter((r) => ex.high.has(r)).length } : {}),
    highByLayer: Array.from({ length: layers }, (_, l) => highRows.filter((r) => r.layer === l).length),
    highHeads,
    points,
    ...(link ? { link } : {}),
    ...(linkNote ? { linkNote } : {}),
  };
}
