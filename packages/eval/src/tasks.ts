/**
 * The evaluation tasks of the shipped models: held-out IOI and induction examples (from
 * `@gim/models`' generators), with their ground-truth evidence and clean/corrupted pairs.
 */
import { INDUCTION_OPTIONS, INDUCTION_TWICE_OPTIONS, inductionExamples, ioiExamples, type InductionExample, type IoiExample, type TaskTokenizer } from "@gim/models";
import { defaultBaseline } from "@gim/rules";
import { InputError, quote } from "@gim/tensor";
import type { CausalLM, Tokenizer } from "@gim/transformer";
import type { EvalExample, EvalPair, EvalTask } from "./task.js";

/**
 * The tasks an evaluation can draw held-out data for. `induction-twice` is the induction task
 * with the copied segment and its answer occurring twice before the tail (`occurrences: 2`):
 * two keys of the induction head's row then carry the answer, the redundancy self-repair is
 * about. Models trained on `induction` answer it without further training.
 */
export const evalTaskKinds = ["ioi", "induction", "induction-twice"] as const;

/** One of {@link evalTaskKinds}. */
export type EvalTaskKind = (typeof evalTaskKinds)[number];

/** How many held-out items each part of the evaluation uses. */
export interface EvalSizes {
  /** Token attribution examples. */
  readonly examples: number;
  /** Clean/corrupted pairs of the component evaluation. */
  readonly pairs: number;
  /** Examples of the self-repair measurement. */
  readonly selfRepair: number;
  /** Examples of the paper's self-repair protocol (default `selfRepair`). */
  readonly protocol?: number;
  /** Pairs of the circuit evaluation: as many to score edges on and as many (disjoint) to evaluate circuits on. */
  readonly circuitPairs: number;
}

/** Held-out sizes of a full run, per model (those of docs/results.md). */
export const fullRun: EvalSizes = { examples: 64, pairs: 32, selfRepair: 48, protocol: 128, circuitPairs: 64 };

/**
 * The largest subset: its examples and pairs are drawn and tokenized before the run starts,
 * and each costs several forward and backward passes, so a larger one is a run of days.
 */
export const maxSubset = 4096;

/** Held-out sizes for a subset of N (N of each part, at most the full run's self-repair and protocol sizes), or a full run. */
export function sizesOf(subset: number | undefined): EvalSizes {
  if (subset === undefined) return fullRun;
  if (typeof subset !== "number" || !Number.isInteger(subset) || subset < 1 || subset > maxSubset) {
    throw new InputError(`the subset must be an integer in [1, ${maxSubset}], got ${quote(subset)}`);
  }
  return { examples: subset, pairs: subset, selfRepair: Math.min(subset, fullRun.selfRepair), protocol: Math.min(subset, fullRun.protocol!), circuitPairs: subset };
}

/**
 * IOI's corrupted prompt (the counterfactual):
 * - `s2-io-flip` (MIB's IOI, its default `s2_io_flip_counterfactual`): the second mention of S
 *   replaced by IO, so IO is the repeated name and the answer flips to S; the metric is
 *   logit[IO] - logit[S] in every run (MIB's labels [IO, S]);
 * - `third-name` (this repository's earlier default): IO's mention replaced by a third name C,
 *   which the corrupted prompt supports; the metric is logit[IO] - logit[C].
 */
export const ioiCounterfactuals = ["s2-io-flip", "third-name"] as const;

/** One of {@link ioiCounterfactuals}. */
export type IoiCounterfactual = (typeof ioiCounterfactuals)[number];

/** Added to the evaluation seed to draw the held-out examples (apart from the seeds training used). */
export const EVAL_DATA_SEED = 3_000_003;

/** Options of {@link buildEvalTask}. */
export interface EvalTaskOptions {
  /** The model's name in the report. */
  readonly name: string;
  readonly sizes: EvalSizes;
  /** Seed of the held-out draw (offset by {@link EVAL_DATA_SEED}); default 0. */
  readonly seed?: number;
  /** What the model is, for the report (sentences); the task's own description is appended. */
  readonly about?: string;
  /** IOI's counterfactual (default `s2-io-flip`, MIB's). */
  readonly counterfactual?: IoiCounterfactual;
}

/** Seed offset of the circuit evaluation's scoring pairs (drawn apart from the evaluation pairs). */
export const CIRCUIT_SCORE_SEED = 1_000_003;

/**
 * `count` pairs of `draw(seed)` whose clean prompts are not among `avoid`'s (nor repeated),
 * drawing again with the next seed until there are enough (at most 8 draws).
 */
function disjointPairs(draw: (seed: number) => EvalPair[], seed: number, count: number, avoid: readonly EvalPair[]): EvalPair[] {
  const seen = new Set(avoid.map((p) => p.clean.join(",")));
  const out: EvalPair[] = [];
  for (let k = 0; k < 8 && out.length < count; k++) {
    for (const p of draw(seed + k)) {
      const key = p.clean.join(",");
      if (out.length < count && !seen.has(key)) {
        seen.add(key);
        out.push(p);
      }
    }
  }
  if (out.length < count) throw new InputError(`only ${out.length} held-out pairs differ from the ${avoid.length} evaluation pairs; the circuit evaluation asked for ${count}`);
  return out;
}

/**
 * Draws a model's held-out data for `kind` with its tokenizer: examples with their evidence
 * positions (IOI: the IO name, and {IO, S1, S2}; induction: s+1, and {s, s+1}, at every earlier
 * occurrence), and clean / corrupted pairs (the corrupted prompt supports another answer, the
 * metric's wrong one).
 */
export function buildEvalTask(kind: EvalTaskKind, model: CausalLM, tokenizer: Tokenizer & TaskTokenizer, options: EvalTaskOptions): EvalTask {
  const { sizes } = options;
  const seed = EVAL_DATA_SEED + (options.seed ?? 0);
  const protocol = sizes.protocol ?? sizes.selfRepair;
  for (const part of ["examples", "pairs", "selfRepair", "protocol", "circuitPairs"] as const) {
    const n = part === "protocol" ? protocol : sizes[part];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > maxSubset) throw new InputError(`buildEvalTask: sizes.${part} must be an integer in [0, ${maxSubset}], got ${quote(n)}`);
  }
  const count = Math.max(sizes.examples, sizes.pairs, sizes.selfRepair, protocol);
  const tokensOf = (ids: readonly number[]) => ids.map((id) => tokenizer.decodeToken(id));
  let examples: EvalExample[];
  let pairs: EvalTask["pairs"];
  let circuitPairs: EvalTask["circuitPairs"];
  let evidenceSets: EvalTask["evidenceSets"];
  let pairDescription: string;
  let examplesDescription: string;
  if (kind === "ioi") {
    const counterfactual = options.counterfactual ?? "s2-io-flip";
    const toPair = (e: IoiExample): EvalPair =>
      counterfactual === "s2-io-flip" ? { clean: e.ids, corrupted: e.flipped.ids, answer: e.target, wrong: e.subject } : { clean: e.ids, corrupted: e.corrupted.ids, answer: e.target, wrong: e.corrupted.target! };
    const drawn = ioiExamples("heldout", Math.max(count, sizes.circuitPairs), seed, tokenizer);
    examples = drawn.map((e) => ({ ids: e.ids, target: e.target, evidence: { io: [e.positions.io], names: [e.positions.io, e.positions.s1, e.positions.s2] }, tokens: tokensOf(e.ids) }));
    pairs = drawn.slice(0, sizes.pairs).map(toPair);
    const evaluate = drawn.slice(0, sizes.circuitPairs).map(toPair);
    circuitPairs = { score: disjointPairs((s) => ioiExamples("heldout", sizes.circuitPairs, s, tokenizer).map(toPair), seed + CIRCUIT_SCORE_SEED, sizes.circuitPairs, evaluate), evaluate };
    evidenceSets = [
      { name: "io", description: "IO" },
      { name: "names", description: "{IO, S1, S2}" },
    ];
    pairDescription =
      counterfactual === "s2-io-flip"
        ? "MIB's S2/IO flip: the second mention of the subject S replaced by the indirect object IO, so the corrupted prompt supports S; the metric is logit[IO] - logit[S]."
        : "the indirect object's mention replaced by a third name (the corrupted prompt supports that name, the wrong answer of the metric).";
    examplesDescription = "Examples: IOI prompts from the held-out templates and name pairs.";
  } else {
    const twice = kind === "induction-twice";
    const inductionOptions = twice ? INDUCTION_TWICE_OPTIONS : INDUCTION_OPTIONS;
    const toPair = (e: InductionExample): EvalPair => ({ clean: e.ids, corrupted: e.corrupted.ids, answer: e.target, wrong: e.corrupted.target! });
    const drawn = inductionExamples(Math.max(count, sizes.circuitPairs), seed, tokenizer, inductionOptions);
    examples = drawn.map((e) => {
      const next = e.positions.earlier.map((o) => o.next);
      return { ids: e.ids, target: e.target, evidence: { next, copy: e.positions.earlier.flatMap((o) => [o.s, o.next]) }, tokens: tokensOf(e.ids) };
    });
    pairs = drawn.slice(0, sizes.pairs).map(toPair);
    const evaluate = drawn.slice(0, sizes.circuitPairs).map(toPair);
    circuitPairs = { score: disjointPairs((s) => inductionExamples(sizes.circuitPairs, s, tokenizer, inductionOptions).map(toPair), seed + CIRCUIT_SCORE_SEED, sizes.circuitPairs, evaluate), evaluate };
    evidenceSets = twice
      ? [
          { name: "next", description: "both s+1" },
          { name: "copy", description: "both {s, s+1}" },
        ]
      : [
          { name: "next", description: "s+1" },
          { name: "copy", description: "{s, s+1}" },
        ];
    pairDescription = twice
      ? "the token after both earlier occurrences (each s+1) replaced by a symbol that occurs nowhere else (the corrupted prompt supports that symbol, the wrong answer of the metric)."
      : "the token after the earlier occurrence (s+1) replaced by a symbol that occurs nowhere else (the corrupted prompt supports that symbol, the wrong answer of the metric).";
    examplesDescription = twice
      ? `Examples: induction sequences of ${INDUCTION_TWICE_OPTIONS.length} symbols whose copied segment (1 to ${INDUCTION_TWICE_OPTIONS.maxRepeat} symbols) and its answer occur twice before the tail (the last token occurred twice before, each time followed by the answer).`
      : `Examples: induction sequences of ${INDUCTION_OPTIONS.length} symbols.`;
  }
  for (const e of examples) {
    if (e.ids.length > model.maxPositions) throw new InputError(`a ${kind} example has ${e.ids.length} tokens; the model accepts at most ${model.maxPositions}`);
  }
  const baseline = defaultBaseline(tokenizer);
  return {
    name: options.name,
    description: [options.about ?? `a ${kind} model.`, examplesDescription].join(" "),
    model,
    baseline,
    baselineDescription: `${JSON.stringify(tokenizer.decodeToken(baseline))} (id ${baseline})`,
    evidenceSets,
    examples: examples.slice(0, sizes.examples),
    selfRepairExamples: examples.slice(0, sizes.selfRepair),
    protocolExamples: examples.slice(0, protocol),
    pairs,
    pairDescription,
    ...(sizes.circuitPairs > 0 ? { circuitPairs } : {}),
  };
}
