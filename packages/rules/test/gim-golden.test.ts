import { grad, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import { loadModel } from "@gim/transformer/node";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureCases, fixturesDir, readGolden, relativeError, type GimResult } from "../../transformer/test/golden.js";
import { bindRules, explain, gim, type GimOptions } from "../src/index.js";

function optionsOf(s: GimResult["settings"]): GimOptions {
  return { temperature: s.temperature, freezeNorm: s.freeze_norm, qScale: s.q_scale, kScale: s.k_scale, vScale: s.v_scale, gateScale: s.gate_scale, upScale: s.up_scale };
}

describe.each(fixtureCases)("%s: GIM attributions match the torch reference", (name) => {
  const golden = readGolden(name);
  const model = loadModel(path.join(fixturesDir, name));

  it.each(golden.gim.results.map((r) => [r.name, r] as const))("%s", (_label, result) => {
    const rules = bindRules(model, gim(optionsOf(result.settings))).rules;
    const e = variable(model.embedTokens(golden.ids));
    const out = model.forward({ embeds: e });
    const [g] = grad(out.logit(golden.gim.target_position, golden.gim.target_id), [e], { rules });
    expect(relativeError(g!.toFlat(), result.grad_input_embeds.flat())).toBeLessThan(1e-4);

    const explained = explain(model, golden.ids, { rules: gim(optionsOf(result.settings)), baseline: golden.gim.baseline_id, target: golden.gim.target_id, position: golden.gim.target_position });
    expect(relativeError(explained.attributions, result.attributions)).toBeLessThan(1e-4);
  });

  it("the default method is GIM with the reference defaults, and the default target is the argmax", () => {
    const reference = golden.gim.results.find((r) => r.name === "gim")!;
    const explained = explain(model, golden.ids, { baseline: golden.gim.baseline_id });
    expect(explained.target).toBe(golden.target_id);
    expect(explained.position).toBe(golden.ids.length - 1);
    expect(explained.logit).toBeCloseTo(golden.target_logit, 4);
    expect(relativeError(explained.attributions, reference.attributions)).toBeLessThan(1e-4);
    expect(T.sameShape(explained.gradient!.shape, [golden.ids.length, reference.grad_input_embeds[0]!.length])).toBe(true);
  });
});
