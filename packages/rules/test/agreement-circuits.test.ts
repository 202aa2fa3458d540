/**
 * Agreement statistics (Spearman with average ranks for ties, top-k overlap) against hand
 * computations and brute-force references, and circuit faithfulness on fixture models:
 * the full circuit is the clean run and the empty one the corrupted run, exactly.
 */
import * as T from "@gim/tensor";
import { run } from "@gim/transformer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  averageRanks, circuitFaithfulness, compareComponentMethods, componentScores, edgeCircuitFaithfulness, edgeScores, exactComponentScores, listComponents, listEdges,
  logitDiff, mibFractions, rankOrder, spearman, topKOverlap, trapezoid,
} from "../src/index.js";
import { fixtureModel } from "./helpers.js";

/** Rank of each value by counting: 1 + (number smaller) + (number equal - 1) / 2. */
function bruteRanks(xs: readonly number[]): number[] {
  return xs.map((x) => 1 + xs.filter((y) => y < x).length + (xs.filter((y) => y === x).length - 1) / 2);
}

/** Pearson correlation written out in float64. */
function pearsonByHand(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

describe("Spearman and top-k overlap", () => {
  it("matches a hand computation with ties", () => {
    // ranks of b = [5, 6, 7, 8, 7] are [1, 2, 3.5, 5, 3.5]; centred: a [-2,-1,0,1,2], b [-2,-1,0.5,2,0.5];
    // sum of products 8, sums of squares 10 and 9.5: rho = 8 / sqrt(95).
    expect(averageRanks([5, 6, 7, 8, 7])).toEqual([1, 2, 3.5, 5, 3.5]);
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 14);
    // Without ties: 1 - 6 sum d^2 / (n (n^2 - 1)); d = [0, 2, -1, -1] -> 1 - 36 / 60.
    expect(spearman([1, 2, 3, 4], [10, 40, 20, 30])).toBeCloseTo(1 - 36 / 60, 14);
    expect(spearman([3, 1, 2], [30, 10, 20])).toBe(1);
    expect(spearman([3, 1, 2], [-30, -10, -20])).toBe(-1);
  });

  it("equals the Pearson correlation of brute-force average ranks, and is invariant under increasing maps", () => {
    const list = fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 3, maxLength: 12 });
    fc.assert(
      fc.property(list, list, (a0, b0) => {
        const n = Math.min(a0.length, b0.length);
        const a = a0.slice(0, n);
        const b = b0.slice(0, n);
        expect(averageRanks(a)).toEqual(bruteRanks(a));
        const rho = spearman(a, b);
        const constant = new Set(a).size === 1 || new Set(b).size === 1;
        if (constant) {
          expect(rho).toBeNaN();
          return;
        }
        expect(Math.abs(rho - pearsonByHand(bruteRanks(a), bruteRanks(b)))).toBeLessThan(1e-12);
        expect(Math.abs(spearman(a.map((x) => Math.exp(x) * 3 - 1), b) - rho)).toBeLessThan(1e-12);
      }),
      { numRuns: 300 },
    );
  });

  it("is NaN for constant scores (all zero) and refuses NaN or lists of different lengths", () => {
    expect(spearman([0, 0, 0], [1, 2, 3])).toBeNaN();
    expect(() => spearman([1, Number.NaN], [1, 2])).toThrow(/NaN/);
    expect(() => spearman([1, 2], [1, 2, 3])).toThrow(/lists of one length, got 2 and 3/);
  });

  it("top-k overlap counts shared members of the two top-k sets by |score|", () => {
    const a = [5, -4, 3, 0.1, 2];
    const b = [-6, 0.2, 3, 4, 1];
    // top-3 by |.|: a -> {0, 1, 2}; b -> {0, 3, 2}: two shared.
    expect(topKOverlap(a, b, 3)).toBeCloseTo(2 / 3, 15);
    expect(topKOverlap(a, b, 1)).toBe(1);
    // Signed: a -> {0, 2, 4}; b -> {3, 2, 4}.
    expect(topKOverlap(a, b, 3, "signed")).toBeCloseTo(2 / 3, 15);
    expect(topKOverlap(a, b, 99)).toBe(1);
    expect(() => topKOverlap(a, b, 0)).toThrow(/positive integer/);
    expect(rankOrder([1, -3, 3, 0], "absolute")).toEqual([1, 2, 0, 3]); // ties keep index order
    expect(rankOrder([1, -3, 3, 0], "signed")).toEqual([2, 0, 3, 1]);
  });

  it("trapezoid sums (x[i+1] - x[i]) * mean of neighbours", () => {
    expect(trapezoid([0, 0.5, 1], [0, 1, 1])).toBeCloseTo(0.75, 15);
    expect(trapezoid(mibFractions, mibFractions.map(() => 1))).toBeCloseTo(1 - 0.001, 15);
  });
});

describe.each(["gpt2-f32", "llama-gqa-sharded"])("circuit faithfulness on %s", (name) => {
  const model = fixtureModel(name);
  const clean = [3, 7, 1, 9, 12, 4, 5, 8, 2, 11];
  const corrupted = [3, 7, 1, 9, 20, 4, 5, 8, 2, 11];
  const metric = logitDiff({ answer: 5, wrong: 9 });
  const plainMetric = (ids: number[]) => {
    const logits = run(model, { ids: [ids] }, { record: false }).logits.value;
    return logits.get(0, ids.length - 1, 5) - logits.get(0, ids.length - 1, 9);
  };

  it("the full circuit is the clean run and the empty circuit the corrupted run, exactly: f(N) = 1, f(0) = 0", () => {
    const scores = componentScores(model, clean, corrupted, { metric }).scores;
    for (const ranking of ["signed", "absolute"] as const) {
      const curve = circuitFaithfulness(model, clean, corrupted, scores, { metric, ranking, batchSize: 5 });
      const N = listComponents(model).length;
      expect(curve.total).toBe(N);
      expect(curve.ks).toEqual(Array.from({ length: N + 1 }, (_, k) => k));
      expect(curve.metricFull).toBe(plainMetric(clean));
      expect(curve.metricEmpty).toBe(plainMetric(corrupted));
      expect(curve.faithfulness[0]).toBe(0);
      expect(curve.faithfulness[N]).toBe(1);
      expect(curve.defined).toBe(true);
      // The area is the trapezoid rule over k / N, the MIB grid reads f at floor(p * N).
      const xs = curve.ks.map((k) => k / N);
      let area = 0;
      for (let k = 0; k < N; k++) area += (xs[k + 1]! - xs[k]!) * (curve.faithfulness[k]! + curve.faithfulness[k + 1]!) / 2;
      expect(curve.area).toBeCloseTo(area, 14);
      expect(curve.mib.ks).toEqual(mibFractions.map((p) => Math.floor(p * N)));
      expect(curve.mib.faithfulness).toEqual(curve.mib.ks.map((k) => curve.faithfulness[k]));
    }
  });

  it("circuit k keeps the top-k components and patches the rest: f(k) by hand from patched runs", () => {
    const scores = exactComponentScores(model, clean, corrupted, { metric }).scores;
    const curve = circuitFaithfulness(model, clean, corrupted, scores, { metric, ranking: "absolute", ks: [3] });
    const components = listComponents(model);
    const order = components.map((_, i) => i).sort((a, b) => Math.abs(scores[b]!) - Math.abs(scores[a]!) || a - b);
    const kept = new Set(order.slice(0, 3));
    const corr = run(model, { ids: [corrupted] }, { cache: [...new Set(components.map((c) => c.place))], record: false }).cache;
    // One patch per place, putting the corrupted value of every component outside the circuit.
    const byPlace = new Map<string, number[]>();
    components.forEach((c, i) => {
      if (!kept.has(i)) byPlace.set(c.place, [...(byPlace.get(c.place) ?? []), c.head ?? -1]);
    });
    const patches = [...byPlace].map(([place, heads]) => ({
      place,
      value: (current: T.Tensor) => {
        const source = corr.get(place)!;
        if (heads.includes(-1)) return source;
        const out = T.clone(current);
        const [, H, steps, dh] = current.shape as [number, number, number, number];
        for (let i = 0; i < out.size; i++) if (heads.includes(Math.floor(i / (steps * dh)) % H)) out.data[i] = source.data[i]!;
        return out;
      },
    }));
    const logits = run(model, { ids: [clean] }, { patches, record: false }).logits.value;
    const m = logits.get(0, clean.length - 1, 5) - logits.get(0, clean.length - 1, 9);
    const i = curve.ks.indexOf(3);
    expect(curve.metrics[i]).toBeCloseTo(m, 5);
    expect(curve.faithfulness[i]).toBeCloseTo((m - plainMetric(corrupted)) / (plainMetric(clean) - plainMetric(corrupted)), 4);
  });

  it("the signed ranking puts the most supportive components first, in the direction of M(clean) - M(corrupted) unless told", () => {
    const scores = componentScores(model, clean, corrupted, { metric }).scores;
    const gap = plainMetric(clean) - plainMetric(corrupted);
    const byDirection = (d: number) => scores.map((_, i) => i).sort((a, b) => d * (scores[b]! - scores[a]!) || a - b);
    const ks = [0];
    expect(circuitFaithfulness(model, clean, corrupted, scores, { metric, ks }).order).toEqual(byDirection(Math.sign(gap)));
    expect(circuitFaithfulness(model, clean, corrupted, scores, { metric, ks, direction: 1 }).order).toEqual(byDirection(1));
    expect(circuitFaithfulness(model, clean, corrupted, scores, { metric, ks, direction: -1 }).order).toEqual(byDirection(-1));
  });

  it("edge circuits: all edges kept is the clean run, none the corrupted run", () => {
    const scores = edgeScores(model, clean, corrupted, { metric }).scores;
    const curve = edgeCircuitFaithfulness(model, clean, corrupted, scores, { metric, ks: [0, 1, 5] });
    expect(curve.total).toBe(listEdges(model).length);
    expect(curve.metricFull).toBe(plainMetric(clean));
    expect(Math.abs(curve.metricEmpty - plainMetric(corrupted))).toBeLessThan(1e-5);
    expect(curve.faithfulness[0]).toBe(0);
    expect(curve.faithfulness.at(-1)).toBe(1);
  });

  it("identical prompts: faithfulness is undefined (NaN, defined false), agreement NaN", () => {
    const scores = componentScores(model, clean, clean, { metric }).scores;
    const curve = circuitFaithfulness(model, clean, clean, scores, { metric });
    expect(curve.defined).toBe(false);
    expect(curve.faithfulness.every(Number.isNaN)).toBe(true);
    expect(curve.area).toBeNaN();
    const report = compareComponentMethods(model, clean, clean, { metric });
    expect(report.methods.map((m) => m.agreement!.spearman).every(Number.isNaN)).toBe(true);
    expect(report.methods.every((m) => m.circuits!.signed.defined === false)).toBe(true);
  });

  it("the report shares one forward between methods and agrees with the single-purpose functions", () => {
    const report = compareComponentMethods(model, clean, corrupted, { metric, edges: true, top: 4, ks: [0, 2] });
    const exact = exactComponentScores(model, clean, corrupted, { metric }).scores;
    expect(report.exact!.scores).toEqual(exact);
    const gimScores = report.methods.find((m) => m.name === "gim")!;
    const plain = report.methods.find((m) => m.name === "gradient")!;
    expect(plain.scores).toEqual(componentScores(model, clean, corrupted, { metric }).scores);
    const headsAndMlps = listComponents(model).flatMap((c, i) => (c.kind === "embed" ? [] : [i]));
    expect(gimScores.agreement!.spearman).toBeCloseTo(spearman(headsAndMlps.map((i) => gimScores.scores[i]!), headsAndMlps.map((i) => exact[i]!)), 14);
    expect(gimScores.agreement).toMatchObject({ k: 4, count: headsAndMlps.length });
    expect(plain.edgeScores).toEqual(edgeScores(model, clean, corrupted, { metric }).scores);
    expect(report.edges!.length).toBe(plain.edgeScores!.length);
    expect(report.exact!.edgeScores!.length).toBe(plain.edgeScores!.length);
    expect(() => compareComponentMethods(model, clean, corrupted, { metric, methods: [{ name: "a", rules: [] }, { name: "a", rules: [] }] })).toThrow(/method "a" is given twice/);
  });
});
