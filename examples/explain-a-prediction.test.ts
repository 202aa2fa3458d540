import { describe, expect, it } from "vitest";
import { explainAPrediction } from "./explain-a-prediction.js";

describe("the README's library example", () => {
  it("explains the shipped IOI model's prediction, and explain() equals the by-hand GIM gradient x input", async () => {
    const r = await explainAPrediction();
    expect(r.target).toBe(" Mary");
    r.gim.forEach((a, i) => expect(a).toBeCloseTo(r.byHand.gim[i]!, 5));
    // GIM ranks the indirect object first; the two backward passes differ.
    const top = r.gim.indexOf(Math.max(...r.gim));
    expect(r.tokens[top]).toBe(" Mary");
    expect(r.byHand.plain.some((p, i) => Math.abs(p - r.byHand.gim[i]!) > 1e-3)).toBe(true);
  });
});
