/**
 * The self-repair measurement: masking keys of one attention row (against a hand softmax and
 * against an independent patch that zeroes pattern entries and renormalises), the first-order
 * estimate of the plain gradient (against central finite differences of a float64 model along
 * the masking direction), ranks, and the self-repair criterion.
 */
import * as T from "@gim/tensor";
import { placeKey, run, type CausalLM } from "@gim/transformer";
import { describe, expect, it } from "vitest";
import { gim, isSelfRepair, maskedRow, measureSelfRepair, type SelfRepairRow } from "../src/index.js";
import { fixtureModel } from "./helpers.js";

describe("maskedRow", () => {
  it("is the softmax over the keys left, causal keys hidden", () => {
    const scores = [1, 2, 3, 0.5];
    const { row, kept } = maskedRow(scores, 2, [2]);
    const e = scores.map(Math.exp);
    expect(Array.from(row)).toEqual([e[0]! / (e[0]! + e[1]!), e[1]! / (e[0]! + e[1]!), 0, 0].map((v) => expect.closeTo(v, 15)));
    expect(kept).toBeCloseTo((e[0]! + e[1]!) / (e[0]! + e[1]! + e[2]!), 15);
    // Large scores do not overflow.
    const big = maskedRow([1000, 999, 998], 2, [0]);
    expect(big.row[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 14);
    expect(() => maskedRow([1, 2], 1, [0, 1])).toThrow(/leaves no weight on any other key/);
  });

  it("leaves keys before a sliding window's first key out", () => {
    const scores = [5, 1, 2, 3, 0.5];
    const { row, kept } = maskedRow(scores, 3, [3], 1); // sees keys 1..3, masks 3
    const e = scores.map(Math.exp);
    expect(Array.from(row)).toEqual([0, e[1]! / (e[1]! + e[2]!), e[2]! / (e[1]! + e[2]!), 0, 0].map((v) => expect.closeTo(v, 15)));
    expect(kept).toBeCloseTo((e[1]! + e[2]!) / (e[1]! + e[2]! + e[3]!), 15);
  });
});

/** f with row (head, query) of the pattern at `path` replaced by `edit(row)`. */
function patchedLogitOf(model: CausalLM, ids: readonly number[], target: number) {
  return (path: string, head: number, query: number, edit: (p: number[]) => number[]): number => {
    const out = run(model, { ids: [[...ids]] }, {
      record: false,
      patches: [
        {
          place: placeKey(path, "attn.pattern"),
          value: (current) => {
            const next = T.clone(current);
            const keys = current.shape[3]!;
            const p = Array.from({ length: keys }, (_, k) => current.get(0, head, query, k));
            edit(p).forEach((v, k) => next.set([0, head, query, k], v));
            return next;
          },
        },
      ],
    });
    return out.logits.value.get(0, ids.length - 1, target);
  };
}

/** Zero the weights of `masked` and renormalise the rest: the definition, done on the pattern. */
const zeroAndRenormalise = (masked: readonly number[]) => (p: number[]) => {
  const q = p.map((v, k) => (masked.includes(k) ? 0 : v));
  const sum = q.reduce((s, v) => s + v, 0);
  return q.map((v) => v / sum);
};

describe("measureSelfRepair on a float64 fixture", () => {
  const model: CausalLM = fixtureModel("gpt2-f32", "float64");
  const ids = [5, 17, 3, 40, 22, 9, 61, 7];
  const target = 13;
  const rows = measureSelfRepair(model, ids, { target, methods: [{ name: "gradient", rules: [] }, { name: "gim", rules: gim() }], minWeight: 0.15 });
  const patchedLogit = patchedLogitOf(model, ids, target);
  const clean = run(model, { ids: [ids] }, { record: false }).logits.value.get(0, ids.length - 1, target);

  it("finds rows whose two heaviest keys hold the minimum weight", () => {
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.query).toBeGreaterThanOrEqual(2);
      expect(r.keyCount).toBe(r.query + 1);
      expect(r.weights[0]).toBeGreaterThanOrEqual(r.weights[1]);
      expect(r.weights[1]).toBeGreaterThanOrEqual(0.15);
      expect(r.keys[0]).not.toBe(r.keys[1]);
      expect(Math.max(...r.keys)).toBeLessThanOrEqual(r.query);
      if (r.layer === 1) expect(r.query).toBe(ids.length - 1); // the last layer: only the row f is read at
      expect(r.logit).toBeCloseTo(clean, 10);
      for (const m of Object.values(r.methods)) {
        for (const rank of m.ranks) expect(rank >= 1 && rank <= r.keyCount).toBe(true);
        expect(Math.abs(m.pairShare)).toBeLessThanOrEqual(1);
        expect(Math.sign(m.pairShare)).toBe(Math.sign(m.gradients[0] + m.gradients[1]));
      }
    }
  });

  it("measures exact effects equal to zeroing the weights and renormalising", () => {
    for (const r of rows.slice(0, 6)) {
      const [j1, j2] = r.keys;
      expect(r.effects.first).toBeCloseTo(clean - patchedLogit(r.path, r.head, r.query, zeroAndRenormalise([j1])), 10);
      expect(r.effects.second).toBeCloseTo(clean - patchedLogit(r.path, r.head, r.query, zeroAndRenormalise([j2])), 10);
      expect(r.effects.both).toBeCloseTo(clean - patchedLogit(r.path, r.head, r.query, zeroAndRenormalise([j1, j2])), 10);
    }
  });

  it("gives the plain gradient's first-order estimate of masking (central differences along the masking direction)", () => {
    const eps = 1e-5;
    for (const r of rows.slice(0, 6)) {
      for (const [masked, estimate] of [
        [[r.keys[0]], r.methods["gradient"]!.estimates.first],
        [[r.keys[1]], r.methods["gradient"]!.estimates.second],
        [[...r.keys], r.methods["gradient"]!.estimates.both],
      ] as const) {
        const along = (t: number) => (p: number[]) => {
          const target = zeroAndRenormalise(masked)(p);
          return p.map((v, k) => v + t * (target[k]! - v));
        };
        const derivative = (patchedLogit(r.path, r.head, r.query, along(eps)) - patchedLogit(r.path, r.head, r.query, along(-eps))) / (2 * eps);
        // E(S) ≈ f(x) - f(x + dp) ≈ -d/dt f(p + t dp) at t = 0.
        expect(estimate).toBeCloseTo(-derivative, 6);
      }
    }
  });

  it("skips only rows that cannot change f: last-layer rows before the last position", () => {
    expect(rows.some((r) => r.layer === 0 && r.query < ids.length - 1)).toBe(true);
    for (const query of [2, 4, 6]) expect(patchedLogit("h.1.attn", 0, query, zeroAndRenormalise([0, 1]))).toBe(clean);
    expect(patchedLogit("h.1.attn", 0, ids.length - 1, zeroAndRenormalise([0, 1]))).not.toBe(clean);
  });

  it("gives GIM a different view of the same rows", () => {
    const differ = rows.some((r) => Math.abs(r.methods["gim"]!.gradients[0] - r.methods["gradient"]!.gradients[0]) > 1e-9);
    expect(differ).toBe(true);
  });

  it("refuses a minimum weight the second key cannot have", () => {
    expect(() => measureSelfRepair(model, ids, { target, methods: [], minWeight: 0.6 })).toThrow(/minWeight must be in \[0, 0.5\]/);
  });
});

describe("measureSelfRepair under sliding-window attention (Mistral, window 4)", () => {
  const model: CausalLM = fixtureModel("mistral-window", "float64");
  const ids = [21, 7, 45, 50, 25, 29, 13, 38, 83, 97, 23, 22];
  const target = 29;
  const rows = measureSelfRepair(model, ids, { target, methods: [{ name: "gradient", rules: [] }], minWeight: 0.1 });
  const patchedLogit = patchedLogitOf(model, ids, target);
  const clean = run(model, { ids: [ids] }, { record: false }).logits.value.get(0, ids.length - 1, target);

  it("takes its keys from the window and counts only the keys the row sees", () => {
    expect(rows.some((r) => r.query >= 4)).toBe(true);
    for (const r of rows) {
      expect(r.keyCount).toBe(Math.min(r.query + 1, 4));
      for (const k of r.keys) expect(k > r.query - 4 && k <= r.query).toBe(true);
    }
  });

  it("measures exact effects equal to zeroing the weights and renormalising over the window", () => {
    for (const r of rows.filter((row) => row.query >= 4).slice(0, 6)) {
      const [j1, j2] = r.keys;
      expect(r.effects.first).toBeCloseTo(clean - patchedLogit(r.path, r.head, r.query, zeroAndRenormalise([j1])), 10);
      expect(r.effects.both).toBeCloseTo(clean - patchedLogit(r.path, r.head, r.query, zeroAndRenormalise([j1, j2])), 10);
    }
  });
});

describe("isSelfRepair", () => {
  const row = (first: number, second: number, both: number, logit = 10): SelfRepairRow => ({
    path: "h.0.attn", layer: 0, head: 0, query: 3, keys: [1, 2], weights: [0.5, 0.4], keyCount: 4, logit, effects: { first, second, both }, methods: {},
  });
  it("needs a joint effect that matters and |single effects| that add up to at most half of it", () => {
    expect(isSelfRepair(row(0.1, 0.2, 2))).toBe(true);
    expect(isSelfRepair(row(0.6, 0.5, 2))).toBe(false); // 1.1 > 0.5 * 2
    expect(isSelfRepair(row(0.5, 0.5, 2))).toBe(true); // exactly half
    expect(isSelfRepair(row(0, 0, 0.4))).toBe(false); // 0.4 < 5% of 10
    expect(isSelfRepair(row(0, 0, -3))).toBe(false);
    expect(isSelfRepair(row(-0.5, 0.4, 1))).toBe(false); // a hurting and a helping key: not redundancy
    expect(isSelfRepair(row(-0.2, 0.2, 1))).toBe(true);
    expect(isSelfRepair(row(0, 0, 0.4), { minJointEffect: 0.01 })).toBe(true);
    expect(isSelfRepair(row(0.6, 0.5, 2), { maxAloneShare: 0.6 })).toBe(true);
  });
});
