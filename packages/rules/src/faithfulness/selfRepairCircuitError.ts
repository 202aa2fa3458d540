/**
 * The link between self-repair and circuit error (issue 11): does EAP misjudge the q/k edges
 * into heads that hold high-interaction attention rows more than the other q/k edges, and does
 * TSG (or GIM) close that gap?
 *
 * Edges: the q and k edges of MIB's graph (receiver kind "q" or "k"), split into `high` (the
 * receiver's head, layer and query head, holds a row of the protocol's high-interaction set)
 * and `other`. For a method m and a set of prompts P, with the edge score x_e(P) the mean over
 * P of the per-prompt scores,
 *
 *   R_m(group) = sum over e in group of |EAP_m,e(P)| / sum over e in group of |exact_e(P)|
 *
 * (a pooled ratio: per-edge ratios blow up at edges whose exact effect is near 0), its gap
 * D_m = R_m(high) - R_m(other), and for every method but the baseline the difference in
 * differences DiD_m = D_m - D_baseline.
 *
 * D_m and DiD_m change when a method's scores are all scaled by one factor (GIM's are smaller
 * than plain EAP's everywhere), so the link has a scale-free form too: the ratio of ratios
 * Q_m = R_m(high) / R_m(other), which such a factor cancels from, and Q_m / Q_baseline. Q = 1
 * means the method misjudges the high edges neither more nor less than the others; a method
 * that moves Q toward 1 closes the gap whatever its scale.
 *
 * Intervals are paired percentile bootstraps over prompts (bootstrap.ts): each resample draws
 * prompts once and every method and the exact scores use the same draw. The per-prompt scores
 * must come from the same prompts in the same order.
 */
import { InputError } from "@gim/tensor";
import { bootstrapInterval, bootstrapSamples, type BootstrapOptions, type Interval } from "../circuits/bootstrap.js";
import type { MibEdgeScores } from "../circuits/attribution.js";

/** A head: block index and (query) head index. */
export interface HeadId {
  readonly layer: number;
  readonly head: number;
}

/** The distinct heads of rows (e.g. the protocol's `highInteraction` rows). */
export function headsOf(rows: readonly HeadId[]): HeadId[] {
  const seen = new Map<string, HeadId>();
  for (const r of rows) seen.set(`${r.layer}.${r.head}`, { layer: r.layer, head: r.head });
  return [...seen.values()].sort((a, b) => a.layer - b.layer || a.head - b.head);
}

/** One method's ratios and gap. */
export interface MethodCircuitError {
  readonly high: Interval;
  readonly other: Interval;
  /** R(high) - R(other). */
  readonly gap: Interval;
  /** gap - the baseline's gap (absent for the baseline). */
  readonly differenceInDifferences?: Interval;
  /** R(high) / R(other): the gap without the method's scale. */
  readonly ratioOfRatios: Interval;
  /** ratioOfRatios / the baseline's (absent for the baseline). */
  readonly ratioOfRatiosVsBaseline?: Interval;
}

/** The link, per method. */
export interface SelfRepairCircuitErrorLink {
  readonly baseline: string;
  /** q/k edges into high-interaction heads, and the other q/k edges (indices into graph.edges). */
  readonly highEdges: readonly number[];
  readonly otherEdges: readonly number[];
  readonly prompts: number;
  readonly methods: Readonly<Record<string, MethodCircuitError>>;
}

/** Options of {@link selfRepairCircuitErrorLink}. */
export interface CircuitErrorLinkOptions extends BootstrapOptions {
  /** The method the others are compared with (default the first of `methods`). */
  readonly baseline?: string;
}

/**
 * |EAP| / |exact| on q/k edges into `heads` vs the other q/k edges, per method, with the
 * difference in differences against the baseline (see the top of this file). `methods` maps
 * a name (`plain`, `tsg`, `gim`) to that method's EAP scores of the same graph and prompts.
 */
export function selfRepairCircuitErrorLink(
  exact: MibEdgeScores,
  methods: Readonly<Record<string, MibEdgeScores>>,
  heads: readonly HeadId[],
  options: CircuitErrorLinkOptions = {},
): SelfRepairCircuitErrorLink {
  const names = Object.keys(methods);
  if (names.length === 0) throw new InputError("the circuit-error link needs at least one method's edge scores");
  const baseline = options.baseline ?? names[0]!;
  if (!(baseline in methods)) throw new InputError(`baseline "${baseline}" is not one of the methods (${names.join(", ")})`);
  const graph = exact.graph;
  const prompts = exact.perPrompt.length;
  for (const name of names) {
    const m = methods[name]!;
    if (m.graph.edges.length !== graph.edges.length) throw new InputError(`method "${name}" scores ${m.graph.edges.length} edges, the exact scores ${graph.edges.length}`);
    if (m.perPrompt.length !== prompts) throw new InputError(`method "${name}" has scores of ${m.perPrompt.length} prompts, the exact scores of ${prompts}`);
  }
  const wanted = new Set(heads.map((h) => `${h.layer}.${h.head}`));
  const highEdges: number[] = [];
  const otherEdges: number[] = [];
  graph.edges.forEach((e, i) => {
    const r = graph.receivers[e.to]!;
    if (r.kind !== "q" && r.kind !== "k") return;
    (wanted.has(`${r.layer}.${r.head}`) ? highEdges : otherEdges).push(i);
  });
  if (highEdges.length === 0 || otherEdges.length === 0) {
    throw new InputError(`the circuit-error link needs q/k edges in both groups, got ${highEdges.length} into the given heads and ${otherEdges.length} others`);
  }

  /** Mean per-prompt score of edge e over the sample (all prompts when undefined). */
  const edgeScore = (perPrompt: readonly Float64Array[], e: number, sample: ArrayLike<number> | undefined): number => {
    let sum = 0;
    const n = sample ? sample.length : prompts;
    for (let i = 0; i < n; i++) sum += perPrompt[sample ? sample[i]! : i]![e]!;
    return sum / n;
  };
  const ratio = (m: MibEdgeScores, edges: readonly number[], sample: ArrayLike<number> | undefined): number => {
    let num = 0;
    let den = 0;
    for (const e of edges) {
      num += Math.abs(edgeScore(m.perPrompt, e, sample));
      den += Math.abs(edgeScore(exact.perPrompt, e, sample));
    }
    return den === 0 ? Number.NaN : num / den;
  };
  const gap = (m: MibEdgeScores, sample: ArrayLike<number> | undefined) => ratio(m, highEdges, sample) - ratio(m, otherEdges, sample);
  const ratioOfRatios = (m: MibEdgeScores, sample: ArrayLike<number> | undefined) => ratio(m, highEdges, sample) / ratio(m, otherEdges, sample);

  const samples = bootstrapSamples(prompts, options);
  const level = options.level;
  const base = methods[baseline]!;
  const result: Record<string, MethodCircuitError> = {};
  for (const name of names) {
    const m = methods[name]!;
    result[name] = {
      high: bootstrapInterval((s) => ratio(m, highEdges, s), samples, level),
      other: bootstrapInterval((s) => ratio(m, otherEdges, s), samples, level),
      gap: bootstrapInterval((s) => gap(m, s), samples, level),
      ...(name === baseline ? {} : { differenceInDifferences: bootstrapInterval((s) => gap(m, s) - gap(base, s), samples, level) }),
      ratioOfRatios: bootstrapInterval((s) => ratioOfRatios(m, s), samples, level),
      ...(name === baseline ? {} : { ratioOfRatiosVsBaseline: bootstrapInterval((s) => ratioOfRatios(m, s) / ratioOfRatios(base, s), samples, level) }),
    };
  }
  return { baseline, highEdges, otherEdges, prompts, methods: result };
}
