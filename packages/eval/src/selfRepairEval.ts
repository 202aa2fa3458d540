/**
 * The self-repair measurement over a task's examples (see `faithfulness/selfRepair.ts` for
 * the definitions): every attention row whose two heaviest keys both hold weight, the exact
 * effects of masking each key and both, and how each gradient method ranks and estimates
 * the two keys, summarised over the rows that show self-repair and over the rows whose keys
 * matter additively (the control).
 */
import { bootstrapSamples, spearman, isSelfRepair, measureSelfRepair, type GradientMethod, type Interval, type SelfRepairCriteria, type SelfRepairRow } from "@gim/rules";
import type { CausalLM } from "@gim/transformer";
import { meanStat, median, pooledShare, type MeanStat } from "./stats.js";
import { predictsTarget } from "./tokenEval.js";
import type { EvalExample } from "./task.js";

/** How one method treats the two keys of a group of rows. */
export interface SelfRepairMethodSummary {
  readonly name: string;
  /** Mean rank of the heavier and of the lighter key among the row's keys by the method's score gradient (1 = top). */
  readonly meanRanks: readonly [number, number];
  /** Share of rows where the two keys are the method's top two. */
  readonly bothTopTwo: number;
  /** Median over rows of the pair's signed share of the row's gradient, (g_j1 + g_j2) / sum |g_k| (in [-1, 1]). */
  readonly medianPairShare: number;
  /** Median over rows of Ê({j1, j2}) / E({j1, j2}): how much of the joint effect the first-order estimate sees (1 = all). */
  readonly medianJointRatio: number;
  /** Median over rows of (Ê({j1}) + Ê({j2})) / E({j1, j2}). */
  readonly medianAloneRatio: number;
  /**
   * Median over rows of (g_j1 + g_j2) / E({j1, j2}): the raw score gradient per unit of joint
   * effect. This is what reaches the tokens and components upstream of the scores (no 1/(1 - P)
   * normalisation), so it is where self-repair hides importance. Its scale differs between
   * methods (TSG has no 1/T factor); compare it between row groups of one method.
   */
  readonly medianGradientPerEffect: number;
}

/** A group of rows (self-repair, or the additive control) summarised. */
export interface RowGroupSummary {
  readonly rows: number;
  /** Mean keys per row (the rank a key can have is 1 .. keys). */
  readonly meanKeys: number;
  /** E({j1}), E({j2}), E({j1, j2}) as shares of f(x), mean over rows. */
  readonly effects: { readonly first: MeanStat; readonly second: MeanStat; readonly both: MeanStat };
  readonly methods: readonly SelfRepairMethodSummary[];
}

/** The self-repair measurement of one model. */
export interface SelfRepairResult {
  readonly examples: number;
  /** Weight both keys must hold for a row to be measured. */
  readonly minWeight: number;
  readonly criteria: Required<SelfRepairCriteria>;
  /** Rows measured (two keys with weight >= minWeight). */
  readonly rowsMeasured: number;
  /** Rows with E({j1, j2}) >= minJointEffect * |f(x)| (both keys matter together). */
  readonly rowsThatMatter: number;
  /** Rows that show self-repair. */
  readonly selfRepair: RowGroupSummary;
  /** Share of the examples whose most likely next token is the target (the model answers them). */
  readonly answered: number;
  /** Self-repair rows / rows measured, pooled, with a bootstrap interval over examples. */
  readonly shareOfMeasured: Interval;
  /** Self-repair rows / rows where the pair matters, pooled, with a bootstrap interval over examples (NaN without such rows). */
  readonly shareOfMatter: Interval;
  /** Rows that matter but are not self-repair (|single effects| add up to more than maxAloneShare of the joint). */
  readonly additive: RowGroupSummary;
  /** Spearman correlation over every measured row of Ê({j1, j2}) with E({j1, j2}), per method. */
  readonly jointSpearman: Readonly<Record<string, number>>;
  /** Spearman correlation over every measured row of the raw g_j1 + g_j2 with E({j1, j2}), per method. */
  readonly gradientSpearman: Readonly<Record<string, number>>;
  /**
   * Per method: medianGradientPerEffect over the self-repair rows divided by the same over the
   * additive rows. 1: the gradient credits a pair's joint effect alike whether or not the keys
   * compensate for each other; near 0: self-repair hides the pair from the gradient.
   */
  readonly visibility: Readonly<Record<string, number>>;
  /** Rows per layer that show self-repair (index = layer). */
  readonly selfRepairByLayer: readonly number[];
  /** The self-repair rows with the largest joint effect (up to 8), for the report. */
  readonly strongest: readonly StrongRow[];
}

/** A self-repair row of the report, with where it comes from and how its tokens read. */
export interface StrongRow extends SelfRepairRow {
  /** Index of the example in the task's self-repair examples. */
  readonly example: number;
  /** How the query and the two keys read (when the example has tokens), with the evidence sets they belong to. */
  readonly labels: { readonly query: string; readonly keys: readonly [string, string] };
}

/** How position `p` of an example reads: `"Mary"@3 (io)`, or `@3` without tokens. */
export function positionLabel(example: EvalExample, p: number): string {
  const text = example.tokens?.[p];
  const sets = Object.entries(example.evidence).filter(([, ps]) => ps.includes(p)).map(([name]) => name);
  return `${text !== undefined ? JSON.stringify(text) : ""}@${p}${sets.length ? ` (${sets.join(", ")})` : ""}`;
}

/** Options of {@link evaluateSelfRepair}. */
export interface SelfRepairEvalOptions {
  readonly methods: readonly GradientMethod[];
  readonly minWeight?: number;
  readonly criteria?: SelfRepairCriteria;
  readonly batchSize?: number;
  /** Bootstrap resamples of the shares' intervals (default 2000). */
  readonly resamples?: number;
  /** Seed of the bootstrap (default 0). */
  readonly seed?: number;
  /** Called after each example. */
  readonly onExample?: () => void;
}

function summarizeRows(rows: readonly SelfRepairRow[], methods: readonly GradientMethod[]): RowGroupSummary {
  const share = (get: (r: SelfRepairRow) => number) => meanStat(rows.map((r) => get(r) / Math.abs(r.logit)));
  return {
    rows: rows.length,
    meanKeys: meanStat(rows.map((r) => r.keyCount)).mean,
    effects: { first: share((r) => r.effects.first), second: share((r) => r.effects.second), both: share((r) => r.effects.both) },
    methods: methods.map((m) => {
      const of = (r: SelfRepairRow) => r.methods[m.name]!;
      return {
        name: m.name,
        meanRanks: [meanStat(rows.map((r) => of(r).ranks[0])).mean, meanStat(rows.map((r) => of(r).ranks[1])).mean],
        bothTopTwo: rows.length === 0 ? Number.NaN : rows.filter((r) => Math.max(...of(r).ranks) <= 2).length / rows.length,
        medianJointRatio: median(rows.map((r) => of(r).estimates.both / r.effects.both)),
        medianAloneRatio: median(rows.map((r) => (of(r).estimates.first + of(r).estimates.second) / r.effects.both)),
        medianGradientPerEffect: median(rows.map((r) => (of(r).gradients[0] + of(r).gradients[1]) / r.effects.both)),
        medianPairShare: median(rows.map((r) => of(r).pairShare)),
      };
    }),
  };
}

/** Measures every example's attention rows and summarises them (see the top of this file). */
export function evaluateSelfRepair(model: CausalLM, examples: readonly EvalExample[], options: SelfRepairEvalOptions): SelfRepairResult {
  const criteria = { minJointEffect: options.criteria?.minJointEffect ?? 0.05, maxAloneShare: options.criteria?.maxAloneShare ?? 0.5 };
  const minWeight = options.minWeight ?? 0.2;
  const all: (SelfRepairRow & { example: number })[] = [];
  examples.forEach((e, i) => {
    const rows = measureSelfRepair(model, e.ids, { target: e.target, methods: options.methods, minWeight, batchSize: options.batchSize });
    for (const r of rows) all.push({ ...r, example: i });
    options.onExample?.();
  });
  const matters = (r: SelfRepairRow) => r.effects.both > 0 && r.effects.both >= criteria.minJointEffect * Math.abs(r.logit);
  const matter = all.filter(matters);
  const repair = matter.filter((r) => isSelfRepair(r, criteria));
  const perExample = examples.map((_, i) => {
    const rows = all.filter((r) => r.example === i);
    return { measured: rows.length, matter: rows.filter(matters).length, repair: rows.filter((r) => matters(r) && isSelfRepair(r, criteria)).length };
  });
  const samples = examples.length > 0 ? bootstrapSamples(examples.length, { resamples: options.resamples, seed: options.seed }) : [];
  const additive = matter.filter((r) => !isSelfRepair(r, criteria));
  const layers = Math.max(0, ...all.map((r) => r.layer + 1));
  const jointSpearman: Record<string, number> = {};
  const gradientSpearman: Record<string, number> = {};
  const correlate = (xs: readonly number[]) => (all.length >= 2 ? spearman(xs.map((v) => (Number.isFinite(v) ? v : 0)), all.map((r) => r.effects.both)) : Number.NaN);
  for (const m of options.methods) {
    jointSpearman[m.name] = correlate(all.map((r) => r.methods[m.name]!.estimates.both));
    gradientSpearman[m.name] = correlate(all.map((r) => r.methods[m.name]!.gradients[0] + r.methods[m.name]!.gradients[1]));
  }
  const selfRepair = summarizeRows(repair, options.methods);
  const additiveRows = summarizeRows(additive, options.methods);
  const visibility: Record<string, number> = {};
  options.methods.forEach((m, i) => {
    visibility[m.name] = selfRepair.methods[i]!.medianGradientPerEffect / additiveRows.methods[i]!.medianGradientPerEffect;
  });
  return {
    examples: examples.length,
    minWeight,
    criteria,
    rowsMeasured: all.length,
    rowsThatMatter: matter.length,
    selfRepair,
    answered: examples.length === 0 ? Number.NaN : examples.filter((e) => predictsTarget(model, e.ids, e.target)).length / examples.length,
    shareOfMeasured: pooledShare(perExample.map((e) => ({ part: e.repair, whole: e.measured })), samples),
    shareOfMatter: pooledShare(perExample.map((e) => ({ part: e.repair, whole: e.matter })), samples),
    additive: additiveRows,
    jointSpearman,
    gradientSpearman,
    visibility,
    selfRepairByLayer: Array.from({ length: layers }, (_, l) => repair.filter((r) => r.layer === l).length),
    strongest: [...repair]
      .sort((a, b) => b.effects.both / Math.abs(b.logit) - a.effects.both / Math.abs(a.logit))
      .slice(0, 8)
      .map((r) => {
        const e = examples[r.example]!;
        return { ...r, labels: { query: positionLabel(e, r.query), keys: [positionLabel(e, r.keys[0]), positionLabel(e, r.keys[1])] } };
      }),
  };
}
