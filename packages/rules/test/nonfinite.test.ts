/**
 * The non-finite policy of the library: a forward whose logits hold NaN or Infinity, and
 * attributions that do, are a NonFiniteError naming where the values first appeared; weights
 * holding them load fine. No target is picked by argmax among NaNs, and temperatures or scales
 * that overflow are refused when the rules are made. Weights are changed at test time.
 */
import { noGrad } from "@gim/autograd";
import * as T from "@gim/tensor";
import { InputError, NonFiniteError } from "@gim/tensor";
import type { CausalLM } from "@gim/transformer";
import { loadModel } from "@gim/transformer/node";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { componentScores, explain, explainMethods, gim, gradientScale, logitDiff, softmaxTemperature } from "../src/index.js";
import { fixturesDir } from "./helpers.js";

/** A fresh GPT-2 fixture model (its weights are changed in place by the tests). */
function gpt2(change?: (params: CausalLM["params"]) => void): CausalLM {
  const model = loadModel(path.join(fixturesDir, "gpt2-f32"));
  change?.(model.params);
  return model;
}
const ids = [1, 2, 3, 4];
const poison = (name: string, value: number, at = 0) => (params: CausalLM["params"]) => void params.get(name)!.value.data.fill(value, at, at + 1);

describe("forward", () => {
  it("fails on NaN logits, naming the parameter, recorded or in noGrad alike", () => {
    const model = gpt2(poison("h.1.attn.c_proj.weight", NaN, 7));
    const message = /^the logits are not finite: parameter "h\.1\.attn\.c_proj\.weight" holds NaN \(element 7 of \[32, 32\]\)$/;
    expect(() => model.forward({ ids })).toThrow(message);
    expect(() => noGrad(() => model.forward({ ids }, { positions: [-1] }))).toThrow(message);
    expect(() => model.forward({ ids })).toThrow(NonFiniteError);
  });

  it("returns them with allowNonFinite, and the model's places are listed either way", () => {
    const model = gpt2(poison("ln_f.weight", Infinity));
    const logits = model.forward({ ids }, { allowNonFinite: true }).logits.value;
    expect(T.allFinite(logits)).toBe(false);
    expect(model.places().length).toBeGreaterThan(10);
  });

  it("names the first op that overflows when every weight is finite", () => {
    const model = gpt2((p) => void p.get("h.0.mlp.c_proj.weight")!.value.data.fill(1e37));
    expect(() => model.forward({ ids })).toThrow(/^the logits are not finite: -?Infinity first appears in the output of linear at h\.0\.mlp\.c_proj \(element \d+ of \[1, 4, 32\]\), whose inputs are finite$/);
  });

  it("does not blame a weight whose non-finite values the input never reaches", () => {
    const model = gpt2(poison("wpe.weight", NaN, 20 * 32)); // position 20: the 4 tokens never reach it
    expect(T.allFinite(model.forward({ ids }).logits.value)).toBe(true);
  });
});

describe("explain", () => {
  it("fails on NaN weights before any target is picked, also with allowNonFinite (no argmax among NaNs)", () => {
    const model = gpt2(poison("ln_f.bias", NaN));
    expect(() => explain(model, ids, { baseline: 0 })).toThrow(/^the logits are not finite: parameter "ln_f\.bias" holds NaN \(element 0 of \[32\]\)$/);
    expect(() => explain(model, ids, { baseline: 0, allowNonFinite: true })).toThrow(/^the logits at position 3 are not finite: token id 0 is NaN, so no target can be picked by argmax; pass a target$/);
    const given = explain(model, ids, { baseline: 0, target: 5, allowNonFinite: true });
    expect(given.logit).toBeNaN(); // the gradient does not go through the bias: the attributions are finite
    expect(given.attributions.every(Number.isFinite)).toBe(true);
  });

  it("names the first backward that made the gradient non-finite, for gradient methods and integrated gradients", () => {
    const model = gpt2();
    const huge = { qScale: 1e25, kScale: 1e25, vScale: 1e25 };
    const before = explain(model, ids, { baseline: 0 });
    expect(before.attributions.every(Number.isFinite)).toBe(true);
    expect(() => explain(model, ids, { baseline: 0, target: before.target, gim: huge })).toThrow(/^the gim attributions are not finite: the gradient first became (-?Infinity|NaN) in the backward of \w+ at h\.\d\.\S+ .*; the attribution of token \d+ is (-?Infinity|NaN)$/);
    expect(() => explain(model, ids, { baseline: 0, method: "integratedGradients", steps: 4, rules: gim(huge) })).toThrow(/^the integrated gradients are not finite: the gradient first became .* at interpolation point 1\.\.4 of 4$/);
    const allowed = explain(model, ids, { baseline: 0, gim: huge, allowNonFinite: true });
    expect(allowed.attributions.some((v) => !Number.isFinite(v))).toBe(true);
  });

  it("occlusion fails on a forward that overflows, as every method does", () => {
    const model = gpt2(poison("h.1.mlp.c_fc.weight", 3e38, 0));
    expect(() => explainMethods(model, ids, ["occlusion"], { baseline: 0, target: 1 })).toThrow(NonFiniteError);
  });
});

describe("component attribution", () => {
  const clean = [1, 2, 3, 4];
  const corrupted = [1, 5, 3, 4];
  const metric = logitDiff({ answer: 7, wrong: 8, position: -1 });

  it("fails on a gradient that overflows, naming the place and the first backward that made it non-finite", () => {
    const model = gpt2();
    expect(componentScores(model, clean, corrupted, { metric, rules: gim() }).scores.every(Number.isFinite)).toBe(true);
    expect(() => componentScores(model, clean, corrupted, { metric, rules: gim({ qScale: 1e25, kScale: 1e25, vScale: 1e25 }) })).toThrow(
      /^the gradients of the metric \(at [^)]+\) are not finite: the gradient first became (-?Infinity|NaN) in the backward of \w+ at h\.\d\.\S+ .*\(rule 'gim\.\wScale'\)/,
    );
  });

  it("fails on NaN weights in the clean run, naming the parameter", () => {
    const model = gpt2(poison("h.0.attn.c_attn.bias", NaN, 3));
    expect(() => componentScores(model, clean, corrupted, { metric })).toThrow(/^the logits are not finite: parameter "h\.0\.attn\.c_attn\.bias" holds NaN \(element 3 of \[96\]\)$/);
  });
});

describe("temperatures and scales are refused when the rules are made", () => {
  it.each([
    [() => softmaxTemperature(1e-320), /^the softmax temperature must be at least 1e-30 \(softmax\(s \/ T\) is already one-hot there; far below it, 1 \/ T overflows and the softmax is NaN\), got 1e-320$/],
    [() => softmaxTemperature(0), /^the softmax temperature must be a positive number, got 0$/],
    [() => softmaxTemperature(Infinity), /must be a positive number, got Infinity/],
    [() => gradientScale("q", 1e308), /^the q gradient scale must be 0 or between 1e-30 and 1e\+30 in magnitude \(larger ones overflow float32 gradients\), got 1e\+308$/],
    [() => gradientScale("v", -1e-40), /^the v gradient scale must be 0 or between .* \(smaller ones underflow float32 gradients\), got -1e-40$/],
    [() => gradientScale("k", NaN), /^the k gradient scale must be a finite number, got NaN$/],
    [() => gim({ temperature: 1e-31 }), /softmax temperature must be at least 1e-30/],
  ])("%#", (make, message) => {
    expect(make).toThrow(InputError);
    expect(make).toThrow(message);
  });

  it("accepts the edges of the ranges and a scale of 0", () => {
    expect(() => [softmaxTemperature(1e-30), gradientScale("q", 0), gradientScale("k", 1e30), gradientScale("v", -1e-30)]).not.toThrow();
  });
});
