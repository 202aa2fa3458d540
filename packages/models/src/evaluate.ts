/**
 * Accuracy of a model on prompts with one correct next token: the argmax of the logits at the
 * last position must be the target. Prompts are run in batches of equal length, without
 * recording a graph.
 */
import { noGrad } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { InputError } from "@gim/tensor";

/** A prompt and the token that should follow it. */
export interface Scored {
  readonly ids: readonly number[];
  readonly target: number;
}

/** Accuracy and mean cross-entropy of the next token at the last position. */
export interface Evaluation {
  /** Share of prompts whose argmax is the target. */
  readonly accuracy: number;
  /** Mean of -log p(target). */
  readonly loss: number;
  readonly count: number;
}

/** Scores `examples` (see the top of this file); `batchSize` sequences per forward pass. */
export function evaluate(model: CausalLM, examples: readonly Scored[], batchSize = 64): Evaluation {
  if (examples.length === 0) throw new InputError("evaluate: no examples");
  const byLength = new Map<number, Scored[]>();
  for (const e of examples) {
    const group = byLength.get(e.ids.length) ?? [];
    group.push(e);
    byLength.set(e.ids.length, group);
  }
  let correct = 0;
  let loss = 0;
  noGrad(() => {
    for (const [length, group] of byLength) {
      for (let start = 0; start < group.length; start += batchSize) {
        const batch = group.slice(start, start + batchSize);
        const logits = model.forward({ ids: batch.map((e) => e.ids) }).logits.value; // [B, T, V]
        const last = T.narrow(logits, 1, length - 1, 1); // [B, 1, V]
        const logProbs = T.sub(last, T.logsumexp(last, -1, { keepdims: true }));
        const best = T.argmax(last, -1); // [B, 1]
        batch.forEach((e, b) => {
          if (best.get(b, 0) === e.target) correct++;
          loss -= logProbs.get(b, 0, e.target);
        });
      }
    }
  });
  return { accuracy: correct / examples.length, loss: loss / examples.length, count: examples.length };
}
