/**
 * What `runEval` evaluates: a model with its held-out data, given as plain ids so that this
 * package needs no task generator (`gim eval` builds these from `@gim/models`).
 */
import { methodNames, type MethodName } from "@gim/rules";
import type { CausalLM } from "@gim/transformer";

/** The token attribution methods of the evaluation: those of `explain`, and a seeded random ranking. */
export type EvalMethod = MethodName | "random";

/** Every {@link EvalMethod}, in report order: plain gradient × input first, then GIM, its rules alone, the references. */
export const evalMethods: readonly EvalMethod[] = ["gradient", "gim", ...methodNames.filter((m) => m !== "gradient" && m !== "gim"), "random"];

/** One held-out example for token attributions. */
export interface EvalExample {
  /** Token ids; f is the target logit at the last position. */
  readonly ids: readonly number[];
  /** The correct next token: f = its logit. */
  readonly target: number;
  /** Ground-truth evidence positions, by evidence set name (see `EvalTask.evidenceSets`). */
  readonly evidence: Readonly<Record<string, readonly number[]>>;
  /** How each token reads (for the report), when a tokenizer is at hand. */
  readonly tokens?: readonly string[];
}

/** A clean/corrupted pair for component attribution. */
export interface EvalPair {
  readonly clean: readonly number[];
  /** Same length as `clean`. */
  readonly corrupted: readonly number[];
  /** The clean answer. */
  readonly answer: number;
  /** The answer the corrupted prompt supports; the metric is logit[answer] - logit[wrong] at the last position. */
  readonly wrong: number;
}

/** A named set of evidence positions, as the report describes it. */
export interface EvidenceSet {
  /** Key into `EvalExample.evidence`. */
  readonly name: string;
  /** What the positions are (`the indirect object's mention`). */
  readonly description: string;
}

/** A model and its held-out data. */
export interface EvalTask {
  /** The model's name (`ioi-gpt2`). */
  readonly name: string;
  /** One line on the model and task. */
  readonly description: string;
  readonly model: CausalLM;
  /** The token id masked tokens (and attribution baselines) become. */
  readonly baseline: number;
  /** How the baseline was chosen (`" " (id 220)`). */
  readonly baselineDescription: string;
  /** Evidence sets, the headline one first. */
  readonly evidenceSets: readonly EvidenceSet[];
  /** Held-out examples for comprehensiveness, sufficiency and evidence. */
  readonly examples: readonly EvalExample[];
  /** Held-out examples whose attention rows the self-repair measurement searches. */
  readonly selfRepairExamples: readonly EvalExample[];
  /** Held-out examples of the paper's self-repair protocol (default `selfRepairExamples`). */
  readonly protocolExamples?: readonly EvalExample[];
  /** Held-out clean/corrupted pairs for component attribution. */
  readonly pairs: readonly EvalPair[];
  /** How the corrupted prompts differ from the clean ones (for the report). */
  readonly pairDescription: string;
  /**
   * The circuit evaluation's pairs (MIB's held-out protocol): edge scores come from `score`,
   * circuits are evaluated on `evaluate`; no clean prompt is in both.
   */
  readonly circuitPairs?: { readonly score: readonly EvalPair[]; readonly evaluate: readonly EvalPair[] };
}
