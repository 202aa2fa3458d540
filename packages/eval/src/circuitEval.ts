/**
 * Circuit localization with MIB's held-out protocol (Mueller et al. 2025, circuit track): edge
 * scores of MIB's graph from one set of clean/corrupted pairs, circuits of MIB's sizes evaluated
 * on a disjoint set, CPR and CMD with paired bootstrap intervals over the evaluation pairs, and
 * the Spearman correlation of every method's scores with exact edge patching (bootstrap over the
 * scoring pairs). The methods (`circuitMethodGrid`):
 *
 * - headline: random, EAP, EAP-IG (MIB's 5 steps on the input embeddings), GIM-EAP, GIM-EAP-IG
 *   and exact edge patching as a ranking;
 * - ablation: EAP and EAP-IG with each of GIM's parts alone and GIM minus each part;
 * - TSG sweep: GIM-EAP and GIM-EAP-IG with the softmax temperature T in {1, 1.5, 2, 2.5, 3, 5, 10}
 *   (T = 2 is GIM itself; T = 1 is GIM minus TSG).
 *
 * Every difference the report states (GIM vs plain, each grid row vs plain) comes with its
 * paired interval: the same resampled pairs for both methods.
 */
import {
  excludesZero, gim, gimDefaults, heldOutCircuits, heldOutDifference, mibIgSteps, summarizeCurve,
  type EdgeMethodSpec, type GimOptions, type HeldOutResult, type HeldOutStatistic, type Interval,
} from "@gim/rules";
import { InputError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import type { EvalPair } from "./task.js";

/** The parts of GIM the ablation grid switches one at a time, with the settings that switch them off. */
export const gimParts = [
  { name: "freeze-norm", label: "norm freeze", off: { freezeNorm: false } },
  { name: "tsg", label: "TSG (T = 2)", off: { temperature: 1 } },
  { name: "qkv-scale", label: "q/k/v scale", off: { qScale: 1, kScale: 1, vScale: 1 } },
  { name: "gate-up-scale", label: "gate/up scale", off: { gateScale: 1, upScale: 1 } },
] as const satisfies readonly { name: string; label: string; off: GimOptions }[];

/** The temperatures of the TSG sweep. */
export const tsgTemperatures: readonly number[] = [1, 1.5, 2, 2.5, 3, 5, 10];

/** Which table of the report a method belongs to. */
export type CircuitMethodGroup = "headline" | "ablation" | "sweep";

/** An edge method of the grid, with where the report shows it. */
export interface CircuitMethod extends EdgeMethodSpec {
  readonly group: CircuitMethodGroup;
  /** The attribution method it varies (EAP or EAP-IG); absent for random and exact. */
  readonly base?: "eap" | "eap-ig";
  /** The rule set's name in the grid (`plain`, `gim`, `tsg only`, `gim − tsg`, `T = 1.5`). */
  readonly variant: string;
  /** The sweep's temperature. */
  readonly temperature?: number;
}

/** Options of {@link circuitMethodGrid}. */
export interface CircuitGridOptions {
  /** Include the ablation grid (default true). */
  readonly ablation?: boolean;
  /** Include the TSG sweep (default true). */
  readonly sweep?: boolean;
  /** Integrated-gradients steps (default MIB's 5). */
  readonly igSteps?: number;
  /** Random rankings whose curves the random baseline averages (default 5) and their first seed (default 0). */
  readonly randomDraws?: number;
  readonly seed?: number;
}

/** Every part off but `part`: GIM's settings with only that part on. */
function onlyPart(part: (typeof gimParts)[number]): GimOptions {
  const off: GimOptions = {};
  for (const other of gimParts) if (other !== part) Object.assign(off, other.off);
  return off;
}

/** The methods of the evaluation (see the top of this file), headline first. */
export function circuitMethodGrid(options: CircuitGridOptions = {}): CircuitMethod[] {
  const steps = options.igSteps ?? mibIgSteps;
  const bases = [
    { base: "eap", kind: "eap", name: "eap" },
    { base: "eap-ig", kind: "eap-ig-inputs", name: "eap-ig" },
  ] as const;
  const spec = (b: (typeof bases)[number], name: string, variant: string, group: CircuitMethodGroup, settings: GimOptions | undefined, temperature?: number): CircuitMethod => ({
    name,
    kind: b.kind,
    base: b.base,
    variant,
    group,
    rules: settings ? gim(settings) : [],
    ...(b.kind === "eap-ig-inputs" ? { steps } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  });
  const methods: CircuitMethod[] = [{ name: "random", kind: "random", variant: "random", group: "headline", seed: options.seed ?? 0, draws: options.randomDraws ?? 5 }];
  for (const b of bases) methods.push(spec(b, b.name, "plain", "headline", undefined), spec(b, `gim-${b.name}`, "gim", "headline", gimDefaults));
  methods.push({ name: "exact", kind: "exact", variant: "exact", group: "headline" });
  if (options.ablation ?? true) {
    for (const b of bases) {
      for (const part of gimParts) methods.push(spec(b, `${b.name}+${part.name}`, `${part.label} only`, "ablation", onlyPart(part)));
      for (const part of gimParts) methods.push(spec(b, `gim-${b.name}-${part.name}`, `GIM − ${part.label}`, "ablation", part.off));
    }
  }
  if (options.sweep ?? true) {
    for (const b of bases) {
      for (const t of tsgTemperatures) if (t !== gimDefaults.temperature) methods.push(spec(b, `gim-${b.name}@T${t}`, `T = ${t}`, "sweep", { temperature: t }, t));
    }
  }
  return methods;
}

/** One method's summary in the results. */
export interface CircuitMethodResult {
  readonly name: string;
  readonly group: CircuitMethodGroup;
  readonly base?: "eap" | "eap-ig";
  readonly variant: string;
  readonly temperature?: number;
  /** CPR (area under f, signed ranking; ↑) and CMD (area of |1 - f|, |score| ranking; ↓) on the evaluation pairs. */
  readonly cpr: Interval;
  readonly cmd: Interval;
  /** Spearman correlation with exact edge patching over the scoring pairs (not for random and exact). */
  readonly spearman?: Interval;
  /** f per fraction of MIB's grid, signed and |score| rankings (all evaluation pairs). */
  readonly faithfulness: { readonly signed: readonly number[]; readonly absolute: readonly number[] };
  /** Edges left after pruning per fraction (signed ranking). */
  readonly edgeCounts: readonly number[];
  /** Mean score per edge over the scoring pairs (random: the first draw). */
  readonly scores: readonly number[];
}

/** A paired difference between two methods. */
export interface CircuitDifference {
  readonly a: string;
  readonly b: string;
  readonly statistic: HeldOutStatistic;
  readonly interval: Interval;
  /** The interval excludes 0. */
  readonly supported: boolean;
}

/** The circuit evaluation of one model. */
export interface CircuitEvalResult {
  readonly scorePairs: number;
  readonly evalPairs: number;
  readonly edges: number;
  /** Edge names in the graph's order (`input->a0.h0<q>`, ...). */
  readonly edgeNames: readonly string[];
  readonly fractions: readonly number[];
  /** floor(p * E) per fraction. */
  readonly sizes: readonly number[];
  readonly metric: string;
  /** M of the clean and corrupted runs, mean over the evaluation pairs. */
  readonly metricClean: number;
  readonly metricCorrupted: number;
  readonly level: number;
  readonly resamples: number;
  readonly methods: readonly CircuitMethodResult[];
  /** Paired differences: every GIM or grid variant against the plain method of its base, and each headline method against random. */
  readonly differences: readonly CircuitDifference[];
}

/** Options of {@link evaluateCircuits}. */
export interface CircuitEvalOptions extends CircuitGridOptions {
  /** The methods (default {@link circuitMethodGrid} with these options). */
  readonly methods?: readonly CircuitMethod[];
  /** Bootstrap resamples (default 2000) and seed (default the grid's seed). */
  readonly resamples?: number;
  /** Sequences per forward pass of patched runs (default 64). */
  readonly batchSize?: number;
  readonly onProgress?: (stage: "scores" | "circuits", pairs: number) => void;
}

/** The differences the report states (see {@link CircuitEvalResult.differences}). */
function differencesOf(result: HeldOutResult, methods: readonly CircuitMethod[]): CircuitDifference[] {
  const has = new Set(methods.map((m) => m.name));
  const out: CircuitDifference[] = [];
  const add = (a: string, b: string, statistics: readonly HeldOutStatistic[]) => {
    if (!has.has(a) || !has.has(b)) return;
    for (const statistic of statistics) {
      const interval = heldOutDifference(result, a, b, statistic);
      out.push({ a, b, statistic, interval, supported: excludesZero(interval) });
    }
  };
  for (const m of methods) {
    if (m.base && m.variant !== "plain") add(m.name, m.base, result.exact ? ["cpr", "cmd", "spearman"] : ["cpr", "cmd"]);
  }
  for (const m of methods) if (m.group === "headline" && m.name !== "random") add(m.name, "random", ["cpr", "cmd"]);
  return out;
}

/**
 * Scores MIB's graph of `model` with every method on `scorePairs` and evaluates the circuits on
 * the disjoint `evalPairs` (see the top of this file).
 */
export function evaluateCircuits(model: CausalLM, scorePairs: readonly EvalPair[], evalPairs: readonly EvalPair[], options: CircuitEvalOptions = {}): CircuitEvalResult {
  const methods = options.methods ?? circuitMethodGrid(options);
  if (methods.length === 0) throw new InputError("the circuit evaluation needs at least one method");
  const resamples = options.resamples ?? 2000;
  const result = heldOutCircuits(model, {
    scorePairs,
    evalPairs,
    methods,
    batchSize: options.batchSize,
    bootstrap: { resamples, seed: options.seed ?? 0 },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const first = result.methods[0]!;
  return {
    scorePairs: result.scorePairs,
    evalPairs: result.evalPairs,
    edges: result.graph.edges.length,
    edgeNames: result.graph.edges.map((e) => e.name),
    fractions: first.signed.fractions,
    sizes: first.signed.sizes,
    metric: "logit[answer] - logit[wrong] at the last position, mean over pairs",
    metricClean: result.metricClean,
    metricCorrupted: result.metricCorrupted,
    level: result.level,
    resamples,
    methods: result.methods.map((r, i) => {
      const m = methods[i]!;
      return {
        name: m.name,
        group: m.group,
        ...(m.base ? { base: m.base } : {}),
        variant: m.variant,
        ...(m.temperature !== undefined ? { temperature: m.temperature } : {}),
        cpr: r.cpr,
        cmd: r.cmd,
        ...(r.spearman ? { spearman: r.spearman } : {}),
        faithfulness: { signed: summarizeCurve(r.signed).faithfulness, absolute: summarizeCurve(r.absolute).faithfulness },
        edgeCounts: r.signed.edgeCounts,
        scores: r.scores,
      };
    }),
    differences: differencesOf(result, methods),
  };
}
