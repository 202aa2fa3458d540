/**
 * Metrics: a number computed from a run's logits that patching changes and attribution
 * patching differentiates. A run covers B prompts (one sequence each); its metric is the
 * mean of the per-prompt metric.
 *
 * The default for a clean/corrupted pair is the logit difference at the last position,
 * `logit[clean answer] - logit[corrupted answer]` (IOI: the indirect object's name minus the
 * subject's); `targetLogit` scores one answer alone.
 */
import { add, mul, narrow, reshape, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { resolvePosition } from "@gim/transformer";
import { InputError } from "@gim/tensor";

/** Token ids of one prompt, or of a batch of equal-length prompts. */
export type Prompts = readonly number[] | readonly (readonly number[])[];

/** A function of a run's logits, per prompt and as a differentiable mean over prompts. */
export interface Metric {
  /** What it computes, for reports (`logit[17] - logit[23] at position -1`). */
  readonly description: string;
  /** The metric of prompt `prompt` from that sequence's logits [T, V]. */
  value(logits: Tensor, prompt: number): number;
  /** The mean over the B prompts of a batch, from logits [B, T, V], as a scalar to differentiate. */
  differentiable(logits: Var): Var;
  /** Throws a clear error when the metric cannot apply to `prompts` prompts of `length` tokens with `vocab` ids. */
  check(prompts: number, length: number, vocab: number): void;
}

/** One term of a linear metric: `coefficient * logit[position, token]`. */
export interface LogitTerm {
  /** Position; negative counts from the end. */
  readonly position: number;
  readonly token: number;
  readonly coefficient: number;
}

/**
 * A metric that is a weighted sum of logits, `sum_i c_i * logit[p_i, token_i]`, with terms
 * that may differ per prompt. Both the logit difference and the target logit are of this kind.
 */
export function linearMetric(description: string, terms: (prompt: number) => readonly LogitTerm[]): Metric {
  return {
    description,
    value(logits, prompt) {
      const length = logits.shape[0]!;
      let total = 0;
      for (const t of terms(prompt)) total += t.coefficient * logits.get(resolvePosition(t.position, length), t.token);
      return total;
    },
    differentiable(logits) {
      const [prompts, length] = logits.shape as [number, number, number];
      let total: Var | undefined;
      for (let b = 0; b < prompts; b++) {
        for (const t of terms(b)) {
          const p = resolvePosition(t.position, length);
          const one = narrow(narrow(narrow(logits, { axis: 0, start: b, length: 1 }), { axis: 1, start: p, length: 1 }), { axis: 2, start: t.token, length: 1 });
          const term = mul(reshape(one, { shape: [] }), t.coefficient / prompts);
          total = total === undefined ? term : add(total, term);
        }
      }
      if (total === undefined) throw new InputError(`metric ${description} has no terms`);
      return total;
    },
    check(prompts, length, vocab) {
      for (let b = 0; b < prompts; b++) {
        for (const t of terms(b)) {
          const p = t.position < 0 ? t.position + length : t.position;
          if (!Number.isInteger(t.position) || p < 0 || p >= length) throw new InputError(`metric ${description}: position ${t.position} is out of range for prompts of ${length} tokens`);
          if (!Number.isInteger(t.token) || t.token < 0 || t.token >= vocab) throw new InputError(`metric ${description}: token id ${t.token} is outside the vocabulary [0, ${vocab})`);
        }
      }
    },
  };
}

/** Options of {@link logitDiff}. */
export interface LogitDiffOptions {
  /** The clean run's answer: one id for every prompt, or one per prompt. */
  readonly answer: number | readonly number[];
  /** The corrupted run's answer (the wrong one on the clean prompt): one id, or one per prompt. */
  readonly wrong: number | readonly number[];
  /** Position (negative counts from the end); default -1, the last token. */
  readonly position?: number;
}

/** `logit[answer] - logit[wrong]` at `position` (the last by default), averaged over prompts. */
export function logitDiff(options: LogitDiffOptions): Metric {
  const position = options.position ?? -1;
  const answer = perPrompt(options.answer, "answer");
  const wrong = perPrompt(options.wrong, "wrong");
  const description = `logit[${describeIds(options.answer)}] - logit[${describeIds(options.wrong)}] at position ${position}`;
  const metric = linearMetric(description, (b) => [
    { position, token: answer(b), coefficient: 1 },
    { position, token: wrong(b), coefficient: -1 },
  ]);
  return withCount(metric, [options.answer, options.wrong]);
}

/** Options of {@link targetLogit}. */
export interface TargetLogitOptions {
  /** The target token: one id for every prompt, or one per prompt. */
  readonly answer: number | readonly number[];
  /** Position (negative counts from the end); default -1, the last token. */
  readonly position?: number;
}

/** `logit[answer]` at `position` (the last by default), averaged over prompts. */
export function targetLogit(options: TargetLogitOptions): Metric {
  const position = options.position ?? -1;
  const answer = perPrompt(options.answer, "answer");
  const metric = linearMetric(`logit[${describeIds(options.answer)}] at position ${position}`, (b) => [{ position, token: answer(b), coefficient: 1 }]);
  return withCount(metric, [options.answer]);
}

/** The metric of a run over B prompts: the mean of the per-prompt values (logits [B, T, V]). */
export function metricOfRun(metric: Metric, logits: Tensor, firstRow = 0, prompts = logits.shape[0]! - firstRow): number {
  let total = 0;
  for (let b = 0; b < prompts; b++) total += metric.value(T.select(logits, 0, firstRow + b), b);
  return total / prompts;
}

/** Prompts as rows of ids, checked: non-empty, equal lengths. */
export function promptRows(prompts: Prompts, what: string): number[][] {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new InputError(`the ${what} prompts are empty`);
  const rows = (Array.isArray(prompts[0]) ? prompts : [prompts]) as (readonly number[])[];
  rows.forEach((row, b) => {
    if (!Array.isArray(row) || row.length === 0) throw new InputError(`${what} prompt ${b} has no tokens`);
    if (row.length !== rows[0]!.length) throw new InputError(`${what} prompts must have equal lengths; prompt ${b} has ${row.length} tokens, prompt 0 has ${rows[0]!.length}`);
  });
  return rows.map((r) => [...r]);
}

/** Clean and corrupted prompts as rows, checked to line up token by token. */
export function promptPair(clean: Prompts, corrupted: Prompts): { clean: number[][]; corrupted: number[][] } {
  const c = promptRows(clean, "clean");
  const x = promptRows(corrupted, "corrupted");
  if (c.length !== x.length) throw new InputError(`there are ${c.length} clean prompts but ${x.length} corrupted ones; each clean prompt needs its corrupted twin`);
  if (c[0]!.length !== x[0]!.length) {
    throw new InputError(`clean prompts have ${c[0]!.length} tokens but corrupted ones ${x[0]!.length}: activations are compared position by position, so both must have the same length`);
  }
  return { clean: c, corrupted: x };
}

function perPrompt(ids: number | readonly number[], what: string): (prompt: number) => number {
  if (typeof ids === "number") return () => ids;
  if (!Array.isArray(ids) || ids.length === 0) throw new InputError(`the ${what} token ids are empty`);
  return (b) => {
    const id = ids[b];
    if (id === undefined) throw new InputError(`there is no ${what} token id for prompt ${b} (${ids.length} given)`);
    return id;
  };
}

/** Adds a check that per-prompt id lists have one id per prompt. */
function withCount(metric: Metric, lists: readonly (number | readonly number[])[]): Metric {
  return {
    ...metric,
    check(prompts, length, vocab) {
      for (const l of lists) {
        if (typeof l !== "number" && l.length !== prompts) throw new InputError(`metric ${metric.description}: ${l.length} token ids given for ${prompts} prompts`);
      }
      metric.check(prompts, length, vocab);
    },
  };
}

function describeIds(ids: number | readonly number[]): string {
  return typeof ids === "number" ? String(ids) : ids.length <= 3 ? ids.join("|") : `${ids.slice(0, 3).join("|")}|...`;
}
