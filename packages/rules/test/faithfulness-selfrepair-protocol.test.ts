/**
 * The paper's self-repair protocol (selfRepairProtocol.ts): the hand-worked row of
 * docs/how-gim-changes-backprop.md with numbers computed here by hand (and pinned from an
 * independent float64 Python computation), and on the shipped ioi-gpt2 model (float64): dL/dA
 * against central differences of patched patterns, the linearised effects from those
 * differences, and the exact effects against forwards with the scores replaced by hand.
 */
import * as T from "@gim/tensor";
import { placeKey, run, type CausalLM } from "@gim/transformer";
import { loadModel, loadTokenizer } from "@gim/transformer/node";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  interactionOf,
  linearQuantile,
  protocolRowValues,
  selfRepairProtocol,
  summariseSelfRepairProtocol,
  type ProtocolRow,
  type SelfRepairProtocolResult,
} from "../src/index.js";

const softmax = (s: readonly number[]): number[] => {
  const e = s.map(Math.exp);
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};
const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, v, i) => sum + v * b[i]!, 0);

describe("the protocol on the hand-worked row s = [0, 3, 3.2], dL/dA = [0, 1, 0.95]", () => {
  const s = [0, 3, 3.2];
  const g = [0, 1, 0.95];
  const A = softmax(s);

  it("needs two keys with c above the threshold: the reference's threshold 1 keeps no key here", () => {
    // c = A * g = [0, 0.4403, 0.5109]: below 1, so the row is not measured at the default threshold.
    expect(protocolRowValues(s, A, g, 2)).toBeUndefined();
    expect(protocolRowValues(s, A, g, 2, { threshold: 0.45 })).toBeUndefined(); // only key 2 passes
    expect(protocolRowValues(s, A, g, 2, { threshold: 0.44 })?.keysAbove).toBe(2);
  });

  it("ablates each top key and both to the mean score and gives the hand-computed changes", () => {
    const v = protocolRowValues(s, A, g, 2, { threshold: 0.4 })!;
    // Keys by c: key 2 (0.5109) before key 1 (0.4403).
    expect(v.keys).toEqual([2, 1]);
    expect(v.contributions[0]).toBeCloseTo(A[2]! * 0.95, 14);
    expect(v.contributions[1]).toBeCloseTo(A[1]!, 14);
    const m = (0 + 3 + 3.2) / 3;
    expect(v.meanScore).toBeCloseTo(m, 14);
    // O(S) = sum_k softmax(s')_k g_k with s'_j = m for j in S; O(nothing) = A·g = 0.9512.
    const e = [1, Math.exp(3), Math.exp(3.2)];
    const original = (e[1]! + 0.95 * e[2]!) / (e[0]! + e[1]! + e[2]!);
    const without2 = (e[1]! + 0.95 * Math.exp(m)) / (1 + e[1]! + Math.exp(m));
    const without1 = (Math.exp(m) + 0.95 * e[2]!) / (1 + Math.exp(m) + e[2]!);
    const withoutBoth = (1.95 * Math.exp(m)) / (1 + 2 * Math.exp(m));
    const [first, second, both] = [original - without2, original - without1, original - withoutBoth];
    expect(v.linearised.first).toBeCloseTo(first, 13);
    expect(v.linearised.second).toBeCloseTo(second, 13);
    expect(v.linearised.both).toBeCloseTo(both, 13);
    expect(v.linearised.interaction).toBeCloseTo((both - first - second) / both, 12);
    // The same numbers from an independent float64 Python computation.
    expect(v.linearised.first).toBeCloseTo(-0.000682839, 8);
    expect(v.linearised.second).toBeCloseTo(0.017793494, 8);
    expect(v.linearised.both).toBeCloseTo(0.034236228, 8);
    expect(v.linearised.interaction).toBeCloseTo(0.500217867, 8);
  });

  it("reports the plain and TSG (T = 2) softmax backward at the two keys, as the doc's table", () => {
    const v = protocolRowValues(s, A, g, 2, { threshold: 0.4 })!;
    // docs/how-gim-changes-backprop.md: plain ds = [-0.0209, 0.0215, -0.0006], TSG ds = [-0.0844, 0.0514, 0.0330].
    expect(v.gradient[0]).toBeCloseTo(-0.00063986, 7);
    expect(v.gradient[1]).toBeCloseTo(0.02149102, 7);
    expect(v.tsg[0]).toBeCloseTo(0.0330214, 6);
    expect(v.tsg[1]).toBeCloseTo(0.05135389, 7);
  });

  it("sees only the keys of a sliding window and ignores keys after the query", () => {
    // Key 0 is outside the window (first = 1) and key 3 is after the query: neither moves the mean.
    const v = protocolRowValues([100, 0, 3, 3.2, -50], [0, ...A, 0], [9, 0, 1, 0.95, 9], 3, { threshold: 0.4, first: 1 })!;
    expect(v.keys).toEqual([3, 2]);
    expect(v.meanScore).toBeCloseTo(6.2 / 3, 14);
    expect(v.linearised.interaction).toBeCloseTo(0.500217867, 8);
  });

  it("gives interaction 0 when the joint change is 0, and rejects bad options", () => {
    expect(interactionOf(1, 2, 0)).toBe(0);
    expect(interactionOf(1, 1, 4)).toBe(0.5);
    expect(() => protocolRowValues(s, A, g, 2, { temperature: 0 })).toThrow(/temperature must be positive/);
    expect(() => protocolRowValues(s, A, g, 5)).toThrow(/query 5 is outside a row of 3 keys/);
  });
});

describe("linearQuantile and the pooled summary", () => {
  it("interpolates linearly between order statistics, as torch.quantile", () => {
    expect(linearQuantile([4, 1, 3, 2], 0.95)).toBeCloseTo(3.85, 14); // 1 + 0.95 * 3 positions
    expect(linearQuantile([7], 0.95)).toBe(7);
    expect(linearQuantile([0, 10], 0.5)).toBe(5);
    expect(() => linearQuantile([], 0.5)).toThrow(/no values/);
  });

  it("picks the rows strictly above the 0.95 quantile of the pooled interaction", () => {
    const row = (interaction: number): ProtocolRow => ({
      path: "h.0.attn", layer: 0, head: 0, query: 3, keys: [1, 2], contributions: [2, 2], keysAbove: 2, scores: [1, 1], weights: [0.4, 0.4],
      patternGradients: [5, 5], meanScore: 0, gradient: [0, 0], tsg: [0, 0], linearised: { first: 0, second: 0, both: 1, interaction },
    });
    const examples: SelfRepairProtocolResult[] = [
      { rows: Array.from({ length: 10 }, (_, i) => row(i / 10)), rowCount: 40, rowsWithKeyAbove: 12 },
      { rows: Array.from({ length: 10 }, (_, i) => row(1 + i / 10)), rowCount: 40, rowsWithKeyAbove: 11 },
    ];
    const summary = summariseSelfRepairProtocol(examples);
    // 20 values 0, 0.1, ..., 0.9, 1, ..., 1.9: the 0.95 quantile sits at position 18.05, 1.805.
    expect(summary.quantile).toBeCloseTo(1.805, 12);
    expect(summary.highInteraction.map((r) => r.linearised.interaction)).toEqual([1.9]);
    expect(summary.measured).toBe(20);
    expect(summary.rowCount).toBe(80);
    expect(summary.rowsWithKeyAbove).toBe(23);
    expect(summary.meanInteraction).toBeCloseTo(0.95, 12);
    expect(() => summariseSelfRepairProtocol(examples, { effects: "exact" })).toThrow(/row 0 .* has no exact effects/);
    expect(summariseSelfRepairProtocol([]).quantile).toBeUndefined();
  });
});

describe("the protocol on the shipped ioi-gpt2 model (float64)", () => {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../models/models/ioi-gpt2");
  const model: CausalLM = loadModel(dir, { dtype: "float64" });
  let ids: number[];
  let target: number;
  let result: SelfRepairProtocolResult;
  const threshold = 0.5;
  beforeAll(async () => {
    const tokenizer = await loadTokenizer(dir);
    ids = tokenizer.encode("When Mary and John went to the store, John gave a drink to") as number[];
    target = (tokenizer.encode(" John") as number[])[0]!;
    result = selfRepairProtocol(model, ids, { target, threshold });
  });
  const logitWith = (place: string, edit: (t: T.Tensor) => void): number => {
    const out = run(model, { ids: [ids] }, {
      record: false,
      patches: [{ place, value: (current) => { const next = T.clone(current); edit(next); return next; } }],
    });
    return out.logits.value.get(0, ids.length - 1, target);
  };

  it("measures rows with two keys above the threshold, counted among all rows", () => {
    expect(result.rows.length).toBeGreaterThan(0);
    expect(result.rowCount).toBe(2 * 4 * ids.length);
    expect(result.rowsWithKeyAbove).toBeGreaterThanOrEqual(result.rows.length);
    for (const r of result.rows) {
      expect(r.keysAbove).toBeGreaterThanOrEqual(2);
      expect(r.contributions[0]).toBeGreaterThanOrEqual(r.contributions[1]);
      expect(r.contributions[1]).toBeGreaterThan(threshold);
    }
  });

  it("takes dL/dA from a plain backward (central differences of the pattern) and the linearised effects from it", () => {
    const clean = run(model, { ids: [ids] }, { cache: result.rows.flatMap((r) => [placeKey(r.path, "attn.scores"), placeKey(r.path, "attn.pattern")]) });
    const eps = 1e-5;
    for (const r of result.rows) {
      const patternKey = placeKey(r.path, "attn.pattern");
      const keys = Array.from({ length: r.query + 1 }, (_, k) => k);
      const g = keys.map((k) => {
        const at = (d: number) => logitWith(patternKey, (t) => t.set([0, r.head, r.query, k], t.get(0, r.head, r.query, k) + d));
        return (at(eps) - at(-eps)) / (2 * eps);
      });
      const s = keys.map((k) => clean.cache.require(placeKey(r.path, "attn.scores")).get(0, r.head, r.query, k));
      const A = keys.map((k) => clean.cache.require(patternKey).get(0, r.head, r.query, k));
      expect(r.patternGradients[0]).toBeCloseTo(g[r.keys[0]]!, 6);
      expect(r.patternGradients[1]).toBeCloseTo(g[r.keys[1]]!, 6);
      const m = s.reduce((a, b) => a + b, 0) / s.length;
      const change = (ablated: number[]) => dot(A, g) - dot(softmax(s.map((v, k) => (ablated.includes(k) ? m : v))), g);
      expect(r.linearised.first).toBeCloseTo(change([r.keys[0]]), 6);
      expect(r.linearised.second).toBeCloseTo(change([r.keys[1]]), 6);
      expect(r.linearised.both).toBeCloseTo(change([...r.keys]), 6);
    }
  });

  it("gives exact effects equal to forwards with the scores replaced by the row's mean score", () => {
    const f = run(model, { ids: [ids] }, { record: false }).logits.value.get(0, ids.length - 1, target);
    for (const r of result.rows) {
      const key = placeKey(r.path, "attn.scores");
      const replaced = (ablated: number[]) =>
        f -
        logitWith(key, (t) => {
          let sum = 0;
          for (let k = 0; k <= r.query; k++) sum += t.get(0, r.head, r.query, k);
          for (const k of ablated) t.set([0, r.head, r.query, k], sum / (r.query + 1));
        });
      expect(r.exact!.first).toBeCloseTo(replaced([r.keys[0]]), 10);
      expect(r.exact!.second).toBeCloseTo(replaced([r.keys[1]]), 10);
      expect(r.exact!.both).toBeCloseTo(replaced([...r.keys]), 10);
      expect(r.exact!.interaction).toBeCloseTo((r.exact!.both - r.exact!.first - r.exact!.second) / r.exact!.both, 12);
      // Ablating changes f: the test would pass on no-op patches otherwise.
      expect(Math.abs(r.exact!.both)).toBeGreaterThan(1e-3);
    }
  });

  it("skips the forwards with exact: false", () => {
    const lean = selfRepairProtocol(model, ids, { target, threshold, exact: false });
    expect(lean.rows.length).toBe(result.rows.length);
    expect(lean.rows[0]!.exact).toBeUndefined();
    expect(lean.rows[0]!.linearised).toEqual(result.rows[0]!.linearised);
  });
});
