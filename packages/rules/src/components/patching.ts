/**
 * Many patched runs of the same prompts, batched: each run is a set of edits to activations
 * at places, the runs are stacked along the batch axis (run r owns rows r*B .. r*B+B-1 for B
 * prompts), and the forward passes record no graph. An edit sees only its own run's rows,
 * so the result of a run does not depend on which runs share its batch.
 *
 * Exact activation patching, circuit evaluation and exact edge patching are all sets of such
 * runs.
 */
import * as T from "@gim/tensor";
import { formatShape, type Tensor, InputError } from "@gim/tensor";
import { run, type CausalLM, type Patch } from "@gim/transformer";
import type { Component } from "./components.js";
import type { Metric } from "./logitMetric.js";
import type { PreparedPair } from "./pair.js";

/**
 * A change to one run's activation at one place. `rows` is a fresh contiguous copy of the
 * run's rows ([B, ...], B prompts) that the edit may overwrite; `seen` holds the run's
 * activations at the recorded places that ran before this one. Returns the new rows.
 */
export type RowEdit = (rows: Tensor, seen: ReadonlyMap<string, Tensor>) => Tensor;

/** One patched run: edits by place key (several edits of one place apply in order). */
export type PatchedRun = ReadonlyMap<string, readonly RowEdit[]>;

/** Options of {@link runPatched}. */
export interface RunPatchedOptions {
  /** Sequences per forward pass (default 64); runs are never split across passes. */
  readonly batchSize?: number;
  /** Places whose (edited) activation each run records for later edits of the same run. */
  readonly record?: readonly string[];
  /** Run the split q/k/v forward (its `attn.q_input`/`k_input`/`v_input` places can be edited). */
  readonly splitQkv?: boolean;
}

/**
 * The metric of each patched run of `prompts` (mean over prompts), in `runs` order. A run
 * without edits is the plain run of the prompts.
 */
export function runPatched(model: CausalLM, prompts: readonly (readonly number[])[], runs: readonly PatchedRun[], metric: Metric, options: RunPatchedOptions = {}): number[] {
  return runPatchedPrompts(model, prompts, runs, metric, options).map((values) => values.reduce((s, v) => s + v, 0) / values.length);
}

/** {@link runPatched} with the metric of every prompt of every run: `[run][prompt]`. */
export function runPatchedPrompts(model: CausalLM, prompts: readonly (readonly number[])[], runs: readonly PatchedRun[], metric: Metric, options: RunPatchedOptions = {}): number[][] {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
  const perPrompt = prompts.length;
  const perPass = Math.max(1, Math.floor(batchSize / perPrompt)); // runs per forward pass
  const recorded = new Set(options.record ?? []);
  const results: number[][] = [];
  for (let start = 0; start < runs.length; start += perPass) {
    const chunk = runs.slice(start, start + perPass);
    const seen = chunk.map(() => new Map<string, Tensor>());
    const places = new Set<string>(recorded);
    for (const r of chunk) for (const key of r.keys()) places.add(key);
    const patches: Patch[] = [...places].map((place) => ({
      place,
      value: (current: Tensor) => {
        let out: Tensor | undefined;
        chunk.forEach((r, c) => {
          const edits = r.get(place);
          if (!edits?.length && !recorded.has(place)) return;
          let rows = T.narrow(current, 0, c * perPrompt, perPrompt); // [B, ...], a view
          if (edits?.length) {
            rows = T.clone(rows); // edits may write into it; never into the forward's own tensor
            for (const edit of edits) {
              const next = edit(rows, seen[c]!);
              if (!T.sameShape(next.shape, rows.shape)) throw new InputError(`an edit at "${place}" returned shape ${formatShape(next.shape)}, expected ${formatShape(rows.shape)}`);
              rows = next.isContiguous() && next.offset === 0 ? next : T.clone(next);
            }
            out ??= T.clone(current);
            out.data.set(T.contiguousData(rows, out.dtype), c * rows.size);
          }
          if (recorded.has(place)) seen[c]!.set(place, rows);
        });
        return out ?? current;
      },
    }));
    const ids = chunk.flatMap(() => prompts as number[][]);
    const logits = run(model, { ids }, { patches, record: false, splitQkv: options.splitQkv ?? false }).logits.value; // [C*B, T, V]
    chunk.forEach((_, c) => results.push(Array.from({ length: perPrompt }, (_, b) => metric.value(T.select(logits, 0, c * perPrompt + b), b))));
  }
  return results;
}

/** An edit that sets one head's slice [:, h, :, :] of a per-head activation [B, H, T, dh] to `source`'s. */
export function replaceHead(source: Tensor, head: number): RowEdit {
  const src = T.contiguousData(source);
  return (rows) => {
    const [batch, heads, steps, dh] = rows.shape as [number, number, number, number];
    const block = steps * dh;
    for (let b = 0; b < batch; b++) {
      const at = (b * heads + head) * block;
      rows.data.set(src.subarray(at, at + block), at);
    }
    return rows;
  };
}

/** An edit that replaces the whole activation by `source`. */
export function replaceAll(source: Tensor): RowEdit {
  return () => T.clone(source);
}

/** The edit that puts a component's corrupted activation in place of the current one. */
export function corruptEdit(pair: PreparedPair, component: Component): RowEdit {
  const source = pair.corruptedCache.require(component.place);
  return component.kind === "head" ? replaceHead(source, component.head!) : replaceAll(source);
}

/** A run that patches each of `components` with its corrupted activation. */
export function corruptRun(pair: PreparedPair, components: Iterable<Component>): PatchedRun {
  const edits = new Map<string, RowEdit[]>();
  for (const c of components) {
    const list = edits.get(c.place) ?? [];
    list.push(corruptEdit(pair, c));
    edits.set(c.place, list);
  }
  return edits;
}
