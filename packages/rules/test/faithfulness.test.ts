/**
 * Token faithfulness metrics (GIM.md): comprehensiveness and sufficiency against hand
 * computations on a stub "model" whose logit is a known sum of per-token contributions,
 * ranking exclusions, the seeded random baseline, evidence hit rates, and the metrics on a
 * fixture model against one unbatched forward per masked sequence.
 */
import { noGrad } from "@gim/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkRanking, comprehensivenessMasks, evidenceHitRate, exampleRng, explain, maskPositions, randomRanking, rankablePositions, rankTokens, sufficiencyMasks,
  sufficiencyRatios, targetLogitFunction, tokenFaithfulness, topIsEvidence, type LogitFunction,
} from "../src/index.js";
import { fixtureModel } from "./helpers.js";

const BASE = 0;

/**
 * A stub model: f(seq) = c + sum over t of w[t] for every token that is not the baseline, so
 * masking token t lowers f by exactly w[t]. Counts its calls and the sequences it saw.
 */
function additiveModel(weights: readonly number[], c: number): { f: LogitFunction; calls: (readonly (readonly number[])[])[] } {
  const calls: (readonly (readonly number[])[])[] = [];
  const f: LogitFunction = (seqs) => {
    calls.push(seqs);
    return seqs.map((s) => c + s.reduce((sum, id, t) => sum + (id === BASE ? 0 : weights[t]!), 0));
  };
  return { f, calls };
}

describe("comprehensiveness and sufficiency", () => {
  // Six tokens: positions 1..4 are rankable (n = 4). f(x) = 2 + 5 + 4 + 1 + 3 + 2 + 7 = 24.
  const ids = [10, 11, 12, 13, 14, 15];
  const weights = [5, 4, 1, 3, 2, 7];
  const order = [1, 3, 4, 2]; // by weight: 4, 3, 2, 1

  it("gives the hand-computed values on an additive stub", () => {
    const { f } = additiveModel(weights, 2);
    const [r] = tokenFaithfulness(ids, [order], f, { baseline: BASE });
    expect(r!.logit).toBe(24);
    expect(r!.defined).toBe(true);
    expect(r!.rankable).toBe(4);
    // Top-k masked, k = 1..4 (K = min(50, 4)): drops 4, 4+3, 4+3+2, 4+3+2+1.
    expect(r!.comprehensivenessSteps).toEqual([4 / 24, 7 / 24, 9 / 24, 10 / 24]);
    expect(r!.comprehensiveness).toBeCloseTo(30 / 96, 15);
    // floor(r * 4) least important masked: 2, 3, 3, 3, 3 tokens -> drops 1+2, 1+2+3 (x4).
    expect(r!.sufficiencySteps).toEqual([3 / 24, 6 / 24, 6 / 24, 6 / 24, 6 / 24]);
    expect(r!.sufficiency).toBeCloseTo(27 / 120, 15);
    expect(r!.drops.comprehensiveness).toEqual([4, 7, 9, 10]);
  });

  it("builds the masked sequences of the definition", () => {
    expect(comprehensivenessMasks(ids, order, BASE)).toEqual([
      [10, 0, 12, 13, 14, 15],
      [10, 0, 12, 0, 14, 15],
      [10, 0, 12, 0, 0, 15],
      [10, 0, 0, 0, 0, 15],
    ]);
    expect(comprehensivenessMasks(ids, order, BASE, 2)).toHaveLength(2);
    expect(sufficiencyMasks(ids, order, BASE, [0.5, 0.99, 0.1])).toEqual([
      [10, 11, 0, 13, 0, 15], // the 2 least important: 4 and 2
      [10, 11, 0, 0, 0, 15],
      [10, 11, 12, 13, 14, 15], // floor(0.4) = 0 tokens
    ]);
    expect(() => maskPositions(ids, [6], BASE)).toThrow(/mask position 6 is out of range for a sequence of 6 tokens/);
  });

  it("caps comprehensiveness at 50 steps and evaluates every distinct sequence once, x included", () => {
    const length = 60; // n = 58 rankable
    const longIds = Array.from({ length }, (_, t) => t + 1);
    const w = Array.from({ length }, (_, t) => (t * 7) % 11);
    const { f, calls } = additiveModel(w, 1);
    const byWeight = rankablePositions(length).sort((a, b) => w[b]! - w[a]! || a - b);
    const reversed = [...byWeight].reverse();
    const [a, b] = tokenFaithfulness(longIds, [byWeight, byWeight, reversed], f, { baseline: BASE });
    expect(a!.comprehensivenessSteps).toHaveLength(50);
    expect(calls).toHaveLength(1);
    const seen = calls[0]!.map((s) => s.join(","));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(longIds.join(","));
    // Brute force: f(x) and the drop after masking the top k by a loop.
    const fx = 1 + w.reduce((s, v) => s + v, 0);
    for (let k = 1; k <= 50; k++) {
      const drop = byWeight.slice(0, k).reduce((s, p) => s + w[p]!, 0);
      expect(a!.comprehensivenessSteps[k - 1]).toBeCloseTo(drop / fx, 14);
    }
    expect(b!.comprehensiveness).toBe(a!.comprehensiveness);
  });

  it("marks f(x) <= 0 as undefined but keeps the drops", () => {
    const { f } = additiveModel(weights, -22); // f(x) = 0
    const [r] = tokenFaithfulness(ids, [order], f, { baseline: BASE });
    expect(r!.defined).toBe(false);
    expect(r!.comprehensiveness).toBeNaN();
    expect(r!.sufficiency).toBeNaN();
    expect(r!.comprehensivenessSteps.every(Number.isNaN)).toBe(true);
    expect(r!.drops.comprehensiveness).toEqual([4, 7, 9, 10]);
    const [neg] = tokenFaithfulness(ids, [order], additiveModel(weights, -30).f, { baseline: BASE });
    expect(neg!.defined).toBe(false);
  });

  it("refuses rankings that are not a full ranking of the rankable positions", () => {
    const { f } = additiveModel(weights, 2);
    expect(() => tokenFaithfulness(ids, [[1, 2, 3]], f, { baseline: BASE })).toThrow(/ranking 0 has 3 positions; a sequence of 6 tokens has 4 rankable ones/);
    expect(() => tokenFaithfulness(ids, [[0, 1, 2, 3]], f, { baseline: BASE })).toThrow(/holds position 0, which is not rankable/);
    expect(() => tokenFaithfulness(ids, [[1, 2, 3, 5]], f, { baseline: BASE })).toThrow(/holds position 5, which is not rankable/);
    expect(() => tokenFaithfulness(ids, [[1, 2, 2, 3]], f, { baseline: BASE })).toThrow(/holds position 2 twice/);
    expect(() => checkRanking([], 2)).not.toThrow();
    expect(() => tokenFaithfulness(ids, [order], f, { baseline: BASE, maxSteps: 0 })).toThrow(/maxSteps must be a positive integer/);
    expect(() => tokenFaithfulness(ids, [order], f, { baseline: BASE, ratios: [1.5] })).toThrow(/sufficiency ratio 1.5 is not in \[0, 1\]/);
  });

  it("uses GIM.md's ratios", () => {
    expect(sufficiencyRatios).toEqual([0.5, 0.8, 0.9, 0.95, 0.99]);
  });
});

describe("ranking", () => {
  it("excludes the first and last token even when they have the largest attribution", () => {
    expect(rankTokens([100, 1, 3, 2, 100])).toEqual([2, 3, 1]);
    expect(rankTokens([0, -1, 5, -1, 9])).toEqual([2, 1, 3]); // ties keep position order
    expect(rankTokens([1, 2])).toEqual([]);
    expect(rankablePositions(2)).toEqual([]);
    expect(rankablePositions(5)).toEqual([1, 2, 3]);
    expect(() => rankTokens([0, Number.NaN, 1])).toThrow(/attribution of token 1 is NaN/);
  });

  it("orders by signed attribution, largest first (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 0, maxLength: 30 }), (attr) => {
        const order = rankTokens(attr);
        expect([...order].sort((a, b) => a - b)).toEqual(rankablePositions(attr.length));
        for (let i = 0; i + 1 < order.length; i++) {
          const [a, b] = [attr[order[i]!]!, attr[order[i + 1]!]!];
          expect(a > b || (a === b && order[i]! < order[i + 1]!)).toBe(true);
        }
      }),
    );
  });

  it("draws the random baseline from a seeded stream per example", () => {
    const a = randomRanking(20, exampleRng(7, 3));
    expect(randomRanking(20, exampleRng(7, 3))).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(rankablePositions(20));
    expect(randomRanking(20, exampleRng(8, 3))).not.toEqual(a);
    expect(randomRanking(20, exampleRng(7, 4))).not.toEqual(a);
    // Over many draws, each rankable position comes first about equally often.
    const firsts = new Map<number, number>();
    for (let i = 0; i < 3000; i++) {
      const p = randomRanking(5, exampleRng(1, i))[0]!;
      firsts.set(p, (firsts.get(p) ?? 0) + 1);
    }
    expect([...firsts.keys()].sort()).toEqual([1, 2, 3]);
    for (const n of firsts.values()) expect(Math.abs(n - 1000)).toBeLessThan(120);
  });
});

describe("evidence hit rate", () => {
  it("counts top tokens that are evidence, and evidence no ranking can reach", () => {
    expect(topIsEvidence([3, 1, 2], [3])).toBe(true);
    expect(topIsEvidence([1, 3, 2], [3])).toBe(false);
    expect(topIsEvidence([], [0])).toBe(false);
    const r = evidenceHitRate(
      [
        [2, 1, 3],
        [1, 2, 3],
        [3, 2, 1],
        [1, 2, 3],
      ],
      [[2], [2, 3], [0], [4]], // example 2's evidence is the first token, example 3's the last (length 5)
      [5, 5, 5, 5],
    );
    expect(r).toEqual({ hits: 1, count: 4, rate: 0.25, unreachable: 2 });
    expect(() => evidenceHitRate([[1]], [], [3])).toThrow(/one ranking, one evidence list and one length per example/);
    expect(evidenceHitRate([], [], []).rate).toBeNaN();
  });
});

describe("on a fixture model", () => {
  const model = fixtureModel("gpt2-f32");
  const ids = [5, 17, 3, 40, 22, 9, 61, 7, 30, 12];
  const target = 13;
  const baseline = 0;

  it("matches one unbatched forward per masked sequence", () => {
    const attributions = explain(model, ids, { target, baseline, method: "gim" }).attributions;
    const order = rankTokens(attributions);
    const f = targetLogitFunction(model, { target, batchSize: 3 });
    const [r] = tokenFaithfulness(ids, [order], f, { baseline });
    const single = (seq: readonly number[]) => noGrad(() => model.forward({ ids: [...seq] }).logits.value.get(seq.length - 1, target));
    const fx = single(ids);
    expect(r!.logit).toBeCloseTo(fx, 4);
    comprehensivenessMasks(ids, order, baseline).forEach((seq, k) => {
      const expected = fx > 0 ? (fx - single(seq)) / fx : Number.NaN;
      expect(Math.abs(r!.comprehensivenessSteps[k]! - expected)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
    });
    sufficiencyMasks(ids, order, baseline).forEach((seq, i) => {
      expect(r!.drops.sufficiency[i]!).toBeCloseTo(fx - single(seq), 4);
    });
  });

  it("names bad targets, positions and batch sizes", () => {
    expect(() => targetLogitFunction(model, { target: 96 })).toThrow(/target token id 96 is outside the vocabulary \[0, 96\)/);
    expect(() => targetLogitFunction(model, { target: 1, batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => targetLogitFunction(model, { target: 1, position: 4 })([[1, 2]])).toThrow(/position 4 is out of range for 2 tokens/);
  });
});
