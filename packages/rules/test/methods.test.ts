/**
 * explain()'s methods against independent computations: integrated gradients against
 * completeness, occlusion against forward passes with one token replaced, explainMethods
 * against separate explain calls; defaults (baseline, position, target) and bad inputs.
 */
import { noGrad } from "@gim/autograd";
import type { CausalLM } from "@gim/transformer";
import { describe, expect, it, vi } from "vitest";
import { defaultBaseline, explain, explainBatch, explainMethods, gim, maxIntegratedGradientsSteps, methodNames, type MethodName, type TokenizerLike } from "../src/index.js";
import { expectBitwise, expectClose, fixture, fixtureModel, values } from "./helpers.js";

/** L = logits[position, target] of one sequence, by a plain forward without a graph. */
function logitOf(model: CausalLM, ids: readonly number[], position: number, target: number): number {
  return noGrad(() => model.forward({ ids }).logits.value.get(position, target));
}

/** Index of the largest logit at `position`, by a loop (first one on ties). */
function argmaxAt(model: CausalLM, ids: readonly number[], position: number): number {
  const logits = noGrad(() => model.forward({ ids }).logits.value);
  let best = 0;
  for (let v = 1; v < model.vocabSize; v++) if (logits.get(position, v) > logits.get(position, best)) best = v;
  return best;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe("integrated gradients", () => {
  // Completeness: sum_t attr[t] = L(x) - L(every token = baseline) in the limit of many steps.
  // The midpoint rule's error falls like 1/steps^2; the paths of these random models are
  // curved enough that qwen2 needs more steps before that regime starts.
  it.each([
    ["gpt2-f32", 16, 64],
    ["llama-gqa-sharded", 16, 64],
    ["qwen2-f32", 64, 256],
  ] as const)("%s: completeness, with an error that shrinks with the steps (%i vs %i, float64)", (name, few, many) => {
    const model = fixtureModel(name, "float64");
    const { golden } = fixture(name);
    const ids = golden.ids;
    const baseline = 0;
    const coarse = explain(model, ids, { method: "integratedGradients", baseline, steps: few });
    const fine = explain(model, ids, { method: "integratedGradients", baseline, steps: many });
    const position = ids.length - 1;
    const change = logitOf(model, ids, position, coarse.target) - logitOf(model, ids.map(() => baseline), position, coarse.target);
    const errorFew = Math.abs(sum(coarse.attributions) - change);
    const errorMany = Math.abs(sum(fine.attributions) - change);
    expect(errorMany).toBeLessThan(errorFew / 8);
    expect(errorMany).toBeLessThan(2e-3 * Math.max(1, Math.abs(change)));
  });

  it("does not depend on the batch size (1, 5 or 8 points per forward give the same bits)", () => {
    const { model, golden } = fixture("llama-gqa-sharded");
    const run = (batchSize: number) => explain(model, golden.ids, { method: "integratedGradients", baseline: 0, steps: 16, batchSize }).attributions;
    const one = run(1);
    expectBitwise(run(8), one);
    expectBitwise(run(5), one);
  });

  it("uses the plain gradient by default, and the given rules when asked (then it is labelled custom and no longer complete)", () => {
    const model = fixtureModel("gpt2-f32", "float64");
    const ids = fixture("gpt2-f32").golden.ids;
    const plain = explain(model, ids, { method: "integratedGradients", baseline: 0, steps: 64 });
    const withGim = explain(model, ids, { method: "integratedGradients", baseline: 0, steps: 64, rules: gim() });
    expect(plain.method).toBe("integratedGradients");
    expect(withGim.method).toBe("custom");
    expect(withGim.skippedRules!.map((s) => s.rule)).toEqual(["gim.gateScale", "gim.upScale"]);
    const change = logitOf(model, ids, ids.length - 1, plain.target) - logitOf(model, ids.map(() => 0), ids.length - 1, plain.target);
    expect(Math.abs(sum(plain.attributions) - change)).toBeLessThan(1e-3);
    expect(Math.abs(sum(withGim.attributions) - change)).toBeGreaterThan(0.1);
  });
});

describe("occlusion", () => {
  it.each(["gpt2-f32", "llama-gqa-sharded"])("%s: attr[t] = L(x) - L(x with token t replaced by the baseline), by separate forwards", (name) => {
    const { model, golden } = fixture(name);
    const ids = golden.ids;
    const baseline = 3;
    for (const batchSize of [1, 3, 8]) {
      const result = explain(model, ids, { method: "occlusion", baseline, batchSize });
      const position = ids.length - 1;
      const full = logitOf(model, ids, position, result.target);
      expect(result.logit).toBeCloseTo(full, 5);
      const expected = ids.map((_, t) => full - logitOf(model, ids.map((id, s) => (s === t ? baseline : id)), position, result.target));
      expectClose(result.attributions, expected, 1e-5, 1e-5);
      expect(result.gradient).toBeUndefined();
    }
  });
});

describe("explainMethods", () => {
  const { model, golden } = fixture("llama-gqa-sharded");
  const ids = golden.ids;
  const gradientMethods: MethodName[] = ["gim", "gradient", "freezeNorm", "softmaxTemperature", "qkvScale", "gateUpScale"];

  it("gradient methods share one forward pass (a backward each)", () => {
    const spy = vi.spyOn(model, "forward");
    try {
      explainMethods(model, ids, gradientMethods, { baseline: 0 });
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it("every method sees the same target, position, logit and baseline, and equals a separate explain call", () => {
    const all = [...methodNames];
    const options = { baseline: 2, position: -2, steps: 8 } as const;
    const together = explainMethods(model, ids, all, options);
    expect(together.map((r) => r.method)).toEqual(all);
    for (const r of together) {
      expect([r.target, r.position, r.logit, r.baseline]).toEqual([together[0]!.target, ids.length - 2, together[0]!.logit, 2]);
      expect(r.ids).toEqual(ids);
    }
    together.forEach((r, i) => {
      const alone = explain(model, ids, { ...options, method: all[i]! });
      expectBitwise(r.attributions, alone.attributions);
      expect(alone.target).toBe(r.target);
    });
  });
});

describe("defaults", () => {
  const { model, golden } = fixture("gpt2-f32");
  const ids = golden.ids;

  it("baseline: the first id of encoding ' ' (without special tokens), else pad, else unk, else a clear error", () => {
    const calls: unknown[] = [];
    const withSpace: TokenizerLike = {
      encode: (text, options) => {
        calls.push([text, options]);
        return options?.addSpecialTokens === false ? [42, 7] : [1, 42, 7]; // a BOS when special tokens are on
      },
      padTokenId: 5,
    };
    expect(defaultBaseline(withSpace)).toBe(42);
    expect(calls).toEqual([[" ", { addSpecialTokens: false }]]);
    expect(defaultBaseline({ encode: () => [], padTokenId: 5, unkTokenId: 9 })).toBe(5);
    expect(defaultBaseline({ encode: () => [], unkTokenId: 9 })).toBe(9);
    expect(defaultBaseline({ encode: () => [], padTokenId: 0 })).toBe(0); // id 0 is a valid id
    expect(() => defaultBaseline({ encode: () => [] })).toThrow("no baseline token: the tokenizer has no id for \" \" and no pad or unk token; pass a baseline id");
    expect(() => defaultBaseline(undefined)).toThrow(/pass a baseline id/);
  });

  it("explain takes the baseline from the tokenizer unless one is given", () => {
    const tokenizer: TokenizerLike = { encode: () => [42] };
    const viaTokenizer = explain(model, ids, { tokenizer });
    const given = explain(model, ids, { baseline: 42 });
    expect(viaTokenizer.baseline).toBe(42);
    expectBitwise(viaTokenizer.attributions, given.attributions);
    expect(explain(model, ids, { tokenizer, baseline: 3 }).baseline).toBe(3);
    expect(() => explain(model, ids)).toThrow("no baseline token: pass a baseline id, or a tokenizer to take the id of \" \" from");
  });

  it("position: the last by default; negative positions count from the end", () => {
    expect(explain(model, ids, { baseline: 0 }).position).toBe(ids.length - 1);
    for (const p of [-1, -2, -ids.length]) {
      const negative = explain(model, ids, { baseline: 0, position: p });
      const positive = explain(model, ids, { baseline: 0, position: ids.length + p });
      expect(negative.position).toBe(ids.length + p);
      expectBitwise(negative.attributions, positive.attributions);
    }
  });

  it("target: the argmax of the logits at the position by default", () => {
    for (const position of [0, 3, ids.length - 1]) {
      const result = explain(model, ids, { baseline: 0, position });
      expect(result.target).toBe(argmaxAt(model, ids, position));
      expect(result.logit).toBeCloseTo(logitOf(model, ids, position, result.target), 5);
    }
    const chosen = explain(model, ids, { baseline: 0, target: 11 });
    expect(chosen.target).toBe(11);
    expect(chosen.logit).toBeCloseTo(logitOf(model, ids, ids.length - 1, 11), 5);
  });

  it("attributions are the gradient times (embedding - baseline embedding), summed over the width", () => {
    const result = explain(model, ids, { baseline: 4 });
    const e = model.embedTokens(ids);
    const eb = model.embedTokens([4]);
    const g = result.gradient!;
    const d = model.hiddenSize;
    const expected = ids.map((_, t) => {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += g.get(t, k) * (e.get(t, k) - eb.get(0, k));
      return acc;
    });
    expectClose(result.attributions, expected, 1e-6, 1e-5);
    expect(values(g).some((v) => v !== 0)).toBe(true);
  });
});

describe("bad inputs get clear errors", () => {
  const { model, golden } = fixture("gpt2-f32");
  const ids = golden.ids;
  const V = model.vocabSize;

  it("unknown method", () => {
    expect(() => explain(model, ids, { baseline: 0, method: "gim2" as MethodName })).toThrow(`unknown method "gim2"; known: ${methodNames.join(", ")}`);
  });

  it("position out of range or not an integer", () => {
    for (const p of [ids.length, -ids.length - 1, 1.5]) {
      expect(() => explain(model, ids, { baseline: 0, position: p })).toThrow(`position ${p} is out of range for ${ids.length} tokens`);
    }
  });

  it("target and baseline outside the vocabulary", () => {
    for (const t of [V, -1]) expect(() => explain(model, ids, { baseline: 0, target: t })).toThrow(`explain: the target token id ${t} is outside the vocabulary [0, ${V})`);
    expect(() => explain(model, ids, { baseline: 0, target: 2.5 })).toThrow("explain: the target token id 2.5 is a fraction, not an integer");
    expect(() => explain(model, ids, { baseline: 0, target: "3" as unknown as number })).toThrow('explain: the target token id "3" is a string, not an integer');
    for (const b of [V, -1]) expect(() => explain(model, ids, { baseline: b })).toThrow(`explain: the baseline token id ${b} is outside the vocabulary [0, ${V})`);
  });

  it("empty or bad ids", () => {
    expect(() => explain(model, [], { baseline: 0 })).toThrow("the input has no tokens (an empty sequence)");
    expect(() => explain(model, [1, V, 2], { baseline: 0 })).toThrow(`token id ${V} at position 1 is outside the vocabulary [0, ${V})`);
  });

  it("ids given as strings or nested arrays are reported as what they are", () => {
    const bad = (x: unknown) => () => explain(model, x as number[], { baseline: 0 });
    expect(bad([1, "2", 3])).toThrow(/^token id "2" at position 1 is a string, not an integer$/);
    expect(bad([1, [2, 3]])).toThrow(/^token id \[2,3\] at position 1 is an array, not an integer \(a batch must be an array of arrays from its first element on\)$/);
    expect(bad([1, null])).toThrow(/^token id null at position 1 is null, not an integer$/);
    expect(bad([1, NaN])).toThrow(/^token id NaN at position 1 is NaN, not an integer$/);
    expect(bad("1,2")).toThrow(/^token ids must be an array of integers \(or of arrays, for a batch\), got a string "1,2"$/);
    expect(() => model.forward({ ids: [[1, 2], 3] as unknown as number[][] })).toThrow(/^sequence 1 of the batch is a number 3, not an array of token ids/);
    expect(() => model.forward({ ids: [[1, 2], [3, "4"]] as unknown as number[][] })).toThrow(/^token id "4" at position 1 of sequence 1 is a string, not an integer$/);
  });

  it("integrated gradients reports its progress after each batch of steps", () => {
    const seen: [number, number][] = [];
    explain(model, ids, { baseline: 0, method: "integratedGradients", steps: 20, batchSize: 8, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([[8, 20], [16, 20], [20, 20]]);
  });

  it("integrated gradients with more steps than the documented limit are refused before any pass", () => {
    expect(() => explain(model, ids, { baseline: 0, method: "integratedGradients", steps: maxIntegratedGradientsSteps + 1 })).toThrow(`explain: steps must be at most ${maxIntegratedGradientsSteps}, got ${maxIntegratedGradientsSteps + 1}`);
    expect(() => explain(model, ids, { baseline: 0, method: "integratedGradients", steps: "8" as unknown as number })).toThrow('explain: steps must be a positive integer, got "8"');
  });

  it("steps and batch sizes that are not positive integers (a batch size of 0 must not hang)", () => {
    for (const method of ["integratedGradients", "occlusion"] as const) {
      for (const batchSize of [0, -2, 1.5]) {
        expect(() => explain(model, ids, { baseline: 0, method, batchSize })).toThrow(`explain: batchSize must be a positive integer, got ${batchSize}`);
      }
    }
    expect(() => explain(model, ids, { baseline: 0, method: "integratedGradients", steps: 0 })).toThrow("explain: steps must be a positive integer, got 0");
  });
});

describe("a contrastive target (answer minus foil)", () => {
  const model = fixtureModel("gpt2-f32", "float64");
  const ids = fixture("gpt2-f32").golden.ids;
  const baseline = 0;
  const methods: MethodName[] = ["gim", "gradient", "softmaxTemperature", "integratedGradients", "occlusion"];

  it("explains logit[target] - logit[foil]: every method's attributions are those of the target minus those of the foil", () => {
    // Every backward rule of GIM is linear in the upstream gradient, so the contrast's
    // attributions must be the difference of the two single-logit explanations.
    const [target, foil] = [7, 11];
    const contrast = explainMethods(model, ids, methods, { target, foil, baseline, steps: 8 });
    const ofTarget = explainMethods(model, ids, methods, { target, baseline, steps: 8 });
    const ofFoil = explainMethods(model, ids, methods, { target: foil, baseline, steps: 8 });
    for (const [i, method] of methods.entries()) {
      const want = ofTarget[i]!.attributions.map((a, t) => a - ofFoil[i]!.attributions[t]!);
      expectClose(contrast[i]!.attributions, want, 1e-10, 1e-8);
      expect(contrast[i]!.foil).toBe(foil);
      expect(contrast[i]!.logit).toBeCloseTo(logitOf(model, ids, ids.length - 1, target), 10);
      expect(contrast[i]!.foilLogit).toBeCloseTo(logitOf(model, ids, ids.length - 1, foil), 10);
    }
    // And the contrast differs from the target alone (the foil's gradient is not zero).
    expect(Math.max(...contrast[0]!.attributions.map((a, t) => Math.abs(a - ofTarget[0]!.attributions[t]!)))).toBeGreaterThan(1e-6);
  });

  it("refuses a foil equal to the target, or outside the vocabulary", () => {
    expect(() => explain(model, ids, { target: 5, foil: 5, baseline })).toThrow(/foil token id 5 is the target itself/);
    expect(() => explain(model, ids, { foil: model.vocabSize, baseline })).toThrow(/foil token id \d+ is outside the vocabulary/);
  });
});

describe("explaining a batch of predictions", () => {
  const model = fixtureModel("gpt2-f32", "float64");
  const ids = fixture("gpt2-f32").golden.ids;

  it("gives each item what explainMethods gives it alone, with per-item targets, foils and positions", () => {
    const items = [
      { ids },
      { ids: ids.slice(0, 3), target: 4, foil: 9 },
      { ids: [...ids].reverse(), position: 1, baseline: 2 },
    ];
    const progress: number[] = [];
    const batch = explainBatch(model, items, ["gim", "gradient"], { baseline: 0, onItemDone: (done) => progress.push(done) });
    expect(progress).toEqual([1, 2, 3]);
    for (const [i, item] of items.entries()) {
      const alone = explainMethods(model, item.ids, ["gim", "gradient"], { baseline: 0, ...item });
      expect(batch[i]!.map((e) => e.attributions)).toEqual(alone.map((e) => e.attributions));
      expect(batch[i]![0]!.target).toBe(alone[0]!.target);
    }
    expect(batch[1]![0]!.foil).toBe(9);
    expect(batch[2]![0]!.position).toBe(1);
  });

  it("names the item whose input is bad", () => {
    expect(() => explainBatch(model, [{ ids }, { ids, target: -1 }], ["gim"], { baseline: 0 })).toThrow(/^item 2: explain: the target token id -1/);
  });
});
