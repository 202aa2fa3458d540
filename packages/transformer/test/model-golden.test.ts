import { grad, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadModel } from "../src/node/index.js";
import { fixtureCases, fixturesDir, readGolden, relativeError } from "./golden.js";

describe.each(fixtureCases)("%s matches the torch reference", (name) => {
  const golden = readGolden(name);
  const model = loadModel(path.join(fixturesDir, name));

  it("logits at every position", () => {
    const logits = model.forward({ ids: golden.ids }).logits.value;
    expect(logits.shape).toEqual([golden.ids.length, golden.logits[0]!.length]);
    expect(relativeError(logits.toFlat(), golden.logits.flat())).toBeLessThan(1e-4);
  });

  it("logits of a second input of another length", () => {
    const logits = model.forward({ ids: golden.ids2 }).logits.value;
    expect(relativeError(logits.toFlat(), golden.logits2.flat())).toBeLessThan(1e-4);
  });

  it("gradient of the target logit with respect to the input embeddings", () => {
    const e = variable(model.embedTokens(golden.ids));
    const out = model.forward({ embeds: e });
    expect(out.logit(golden.target_position, golden.target_id).item()).toBeCloseTo(golden.target_logit, 3);
    const [g] = grad(out.logit(golden.target_position, golden.target_id), [e]);
    expect(relativeError(g!.toFlat(), golden.grad_input_embeds.flat())).toBeLessThan(1e-4);
  });

  it("logits at chosen positions only equal those rows of the full run", () => {
    const out = model.forward({ ids: golden.ids }, { positions: [2, -1] });
    expect(out.positions).toEqual([2, golden.ids.length - 1]);
    expect(relativeError(out.logits.value.toFlat(), [...golden.logits[2]!, ...golden.logits[golden.ids.length - 1]!])).toBeLessThan(1e-4);
    expect(out.logit(-1, golden.target_id).item()).toBeCloseTo(golden.target_logit, 3);
    expect(() => model.forward({ ids: golden.ids }, { positions: [] })).toThrow(/positions is empty/);
    expect(() => out.logit(0, 0)).toThrow(/position 0 has no logits: the forward computed them only at positions \[2, \d+\]/);
  });

  it("a batch gives the same logits as each sequence alone", () => {
    const batch = model.forward({ ids: [golden.ids, [...golden.ids].reverse()] }).logits.value; // [2, T, V]
    expect(relativeError(T.select(batch, 0, 0).toFlat(), golden.logits.flat())).toBeLessThan(1e-4);
  });
});
