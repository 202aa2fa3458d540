/**
 * The LRP-epsilon rule against LRP-epsilon written the textbook way: a forward pass that keeps
 * every activation, then relevances passed back layer by layer with explicit loops,
 * R_i = sum_j a_i W_ji / (z_j + eps sign z_j) R_j, starting from R = f(x) at the output.
 */
import { grad, linear, scope, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { epsilonRuleExample, lrpEpsilon, relevances, runNetwork, tinyNetwork } from "./epsilon-rule.js";

/** Textbook LRP-epsilon for output 0 of a bias-free ReLU network, in float64 loops. */
function lrpByHand(weights: readonly Tensor[], x: readonly number[], epsilon: number): { output: number; relevance: number[] } {
  const W = weights.map((w) => ({ rows: w.shape[0]!, cols: w.shape[1]!, at: (j: number, i: number) => w.get(j, i) }));
  const inputs: number[][] = []; // the activation entering each layer
  const preacts: number[][] = []; // z of each layer
  let a = [...x];
  W.forEach((w, l) => {
    inputs.push(a);
    const z = Array.from({ length: w.rows }, (_, j) => a.reduce((acc, ai, i) => acc + w.at(j, i) * ai, 0));
    preacts.push(z);
    a = l < W.length - 1 ? z.map((v) => Math.max(v, 0)) : z;
  });
  const output = a[0]!;
  let R = a.map((_, j) => (j === 0 ? output : 0)); // relevance at the output: f itself
  for (let l = W.length - 1; l >= 0; l--) {
    const w = W[l]!;
    const z = preacts[l]!;
    const input = inputs[l]!;
    // the ReLU after a hidden layer passes relevance unchanged (R at a inactive unit is 0 already)
    R = input.map((ai, i) => {
      let acc = 0;
      for (let j = 0; j < w.rows; j++) {
        const denominator = z[j]! + epsilon * (z[j]! >= 0 ? 1 : -1);
        if (denominator !== 0) acc += ((ai * w.at(j, i)) / denominator) * R[j]!; // 0/0 = 0: a unit with z = 0 has nothing to pass on
      }
      return acc;
    });
  }
  return { output, relevance: R };
}

const network = fc.record({
  hidden: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 3 }),
  inputs: fc.integer({ min: 1, max: 6 }),
  outputs: fc.integer({ min: 1, max: 3 }),
  epsilon: fc.constantFrom(0, 1e-3, 0.05, 0.3, 2),
  seed: fc.nat(),
});

describe("examples/epsilon-rule: lrpEpsilon", () => {
  it("equals textbook LRP-epsilon on random bias-free ReLU networks", () => {
    fc.assert(
      fc.property(network, ({ hidden, inputs, outputs, epsilon, seed }) => {
        const sizes = [inputs, ...hidden, outputs];
        const weights = tinyNetwork(sizes, seed);
        const x = T.randNormal([1, inputs], { rng: new T.Rng(seed + 1), dtype: "float64" });
        const viaRule = relevances(weights, x, epsilon);
        const byHand = lrpByHand(weights, Array.from(T.contiguousData(x)), epsilon);
        expect(viaRule.output).toBeCloseTo(byHand.output, 12);
        viaRule.relevance.forEach((r, i) => expect(Math.abs(r - byHand.relevance[i]!)).toBeLessThan(1e-10 * (1 + Math.abs(byHand.relevance[i]!))));
      }),
      { seed: 41, numRuns: 60 },
    );
  });

  it("conserves relevance at eps = 0 (the relevances add up to f(x)) and is then the plain gradient bit for bit", () => {
    fc.assert(
      fc.property(network, ({ hidden, inputs, outputs, seed }) => {
        const weights = tinyNetwork([inputs, ...hidden, outputs], seed);
        const x = T.randNormal([1, inputs], { rng: new T.Rng(seed + 1), dtype: "float64" });
        const { output, relevance } = relevances(weights, x, 0);
        expect(Math.abs(relevance.reduce((s, r) => s + r, 0) - output)).toBeLessThan(1e-12 * (1 + Math.abs(output)));
        const a = variable(x);
        const f = runNetwork(weights, a);
        const seedGrad = T.zeros(f.shape, { dtype: "float64" });
        seedGrad.set([0, 0], 1);
        const [plain] = grad(f, [a], { seed: seedGrad });
        expect(relevance).toEqual(Array.from(T.contiguousData(T.mul(x, plain!))));
      }),
      { seed: 42, numRuns: 40 },
    );
  });

  it("keeps back relevance for eps > 0: each layer passes on sum_j R_j z_j / (z_j + eps sign z_j)", () => {
    // One linear layer, so the identity can be checked directly on the rule's output.
    const w = T.randNormal([5, 4], { rng: new T.Rng(9), dtype: "float64" });
    const x = T.randNormal([1, 4], { rng: new T.Rng(10), dtype: "float64" });
    const a = variable(x);
    const z = linear(a, w); // [1, 5]
    const upstream = T.randNormal([1, 5], { rng: new T.Rng(11), dtype: "float64" });
    for (const epsilon of [0, 0.1, 1]) {
      const [g] = grad(z, [a], { seed: upstream, rules: [lrpEpsilon(epsilon)] });
      const passedOn = Array.from(T.contiguousData(T.mul(x, g!))).reduce((s, r) => s + r, 0);
      let expected = 0;
      for (let j = 0; j < 5; j++) {
        const zj = z.value.get(0, j);
        expected += zj * upstream.get(0, j) * (zj / (zj + epsilon * Math.sign(zj))); // R_j = z_j g_j, times the kept fraction
      }
      expect(passedOn).toBeCloseTo(expected, 12);
    }
  });

  it("fires at every linear node and can be narrowed to some layers by path", () => {
    const weights = tinyNetwork([3, 4, 4, 1], 5);
    const x = T.randNormal([1, 3], { rng: new T.Rng(6), dtype: "float64" });
    const { trace } = relevances(weights, x, 0.1);
    expect(trace.filter((t) => t.rule !== "default").map((t) => `${t.op} ${t.path}`)).toEqual(["linear layer2", "linear layer1", "linear layer0"]);
    const a = variable(x);
    const f = scope("net", () => runNetwork(weights, a));
    const narrowed = grad(f, [a], { rules: [lrpEpsilon(0.1, { path: "net.layer0" })], trace: true });
    expect(narrowed.trace.filter((t) => t.rule !== "default").map((t) => t.path)).toEqual(["net.layer0"]);
  });

  it("refuses a negative or non-finite epsilon", () => {
    for (const bad of [-0.1, Number.NaN, Infinity]) expect(() => lrpEpsilon(bad)).toThrow(/epsilon must be a finite number >= 0/);
  });
});

describe("examples/epsilon-rule: what it prints", () => {
  const r = epsilonRuleExample();

  it("relevances add up to f(x) at eps = 0 and to less and less of it as eps grows", () => {
    expect(r.rows.map((row) => row.epsilon)).toEqual([0, 0.01, 0.1, 1]);
    expect(Math.abs(r.rows[0]!.total - r.output)).toBeLessThan(1e-12);
    const absorbed = r.rows.map((row) => Math.abs(r.output - row.total));
    for (let i = 1; i < absorbed.length; i++) expect(absorbed[i]!).toBeGreaterThan(absorbed[i - 1]!);
  });

  it("gradcheck passes the rule at eps = 0 and flags it at eps = 0.1", () => {
    expect(r.gradchecks.exact.ok).toBe(true);
    expect(r.gradchecks.epsilon.ok).toBe(false);
  });
});
