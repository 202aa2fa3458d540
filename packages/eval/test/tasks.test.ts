/**
 * The induction-twice evaluation task: its evidence and corruptions cover both earlier
 * occurrences, and the shipped induction model answers it without training on it.
 */
import { describe, expect, it } from "vitest";
import { inductionTokenizer } from "@gim/models";
import { modelDir } from "@gim/models/node";
import { loadModel } from "@gim/transformer/node";
import { buildEvalTask, evaluateSelfRepair, predictsTarget } from "../src/index.js";

describe("the induction-twice task", () => {
  const dir = modelDir("induction-gpt2");
  const shipped = loadModel(dir);
  const tokenizer = inductionTokenizer();
  const sizes = { examples: 32, pairs: 8, selfRepair: 4, circuitPairs: 4 };
  const task = buildEvalTask("induction-twice", shipped, tokenizer, { name: "t", sizes });

  it("takes both earlier occurrences as the evidence, and corrupts the answer after each", () => {
    for (const e of task.examples) {
      const end = e.ids.length - 1;
      const earlier = e.ids.slice(0, end).flatMap((id, i) => (id === e.ids[end] ? [i] : []));
      expect(earlier).toHaveLength(2);
      expect(e.evidence["next"]).toEqual(earlier.map((s) => s + 1));
      expect(e.evidence["copy"]).toEqual(earlier.flatMap((s) => [s, s + 1]));
      for (const s of earlier) expect(e.ids[s + 1]).toBe(e.target);
    }
    for (const p of task.pairs) {
      const end = p.clean.length - 1;
      const earlier = p.clean.slice(0, end).flatMap((id, i) => (id === p.clean[end] ? [i] : []));
      expect(p.clean.flatMap((x, t) => (x !== p.corrupted[t] ? [t] : []))).toEqual(earlier.map((s) => s + 1));
      expect(p.corrupted[earlier[0]! + 1]).toBe(p.wrong);
    }
    expect(task.pairDescription).toMatch(/both earlier occurrences/);
  });

  it("is answered by the shipped induction model without training on it", () => {
    const correct = task.examples.filter((e) => predictsTarget(shipped, e.ids, e.target)).length;
    expect(correct / task.examples.length).toBeGreaterThanOrEqual(0.9);
    // The self-repair measurement reports the same share on its examples.
    const measured = evaluateSelfRepair(shipped, task.selfRepairExamples, { methods: [{ name: "gradient", rules: [] }], resamples: 20 });
    expect(measured.answered).toBe(task.selfRepairExamples.filter((e) => predictsTarget(shipped, e.ids, e.target)).length / task.selfRepairExamples.length);
    expect(measured.answered).toBeGreaterThanOrEqual(0.75);
  });
});
