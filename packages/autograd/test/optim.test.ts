/** SGD and Adam(W): updates against hand-written formulas, minimisation, state, and errors. */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { Adam, add, grad, linear, matmul, mean, mul, SGD, sub, sum, tanh, variable, type Var } from "../src/index.js";

const f64 = (shape: number[], seed: number, std = 1) => T.randNormal(shape, { seed, dtype: "float64", std });
const values = (t: Tensor): number[] => [...t.toFlat()];

function expectArraysClose(actual: readonly number[], expected: readonly number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    if (!(Math.abs(v - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)))) throw new Error(`element ${i}: ${v}, expected ${expected[i]}`);
  });
}

// Fixed gradients for three steps (the optimizer does not care where they come from).
const P0 = [0.5, -1.25, 2];
const G = [[0.1, -0.4, 1.5], [-0.3, 0.2, 0.7], [0.05, 0.6, -1]];

describe("SGD", () => {
  it("follows p -= lr * b, b = momentum * b + (g + wd * p), for three steps with an lr change", () => {
    const p = variable(T.tensor(P0, { dtype: "float64" }), "p");
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    const lrs = [0.1, 0.1, 0.02];
    // By hand, element by element.
    const expected = [...P0];
    const buf = [0, 0, 0];
    G.forEach((g, step) => {
      for (let k = 0; k < 3; k++) {
        const d = g[k]! + 0.01 * expected[k]!;
        buf[k] = step === 0 ? d : 0.9 * buf[k]! + d;
        expected[k] = expected[k]! - lrs[step]! * buf[k]!;
      }
      if (step === 2) opt.step([T.tensor(g, { dtype: "float64" })], { lr: 0.02 });
      else opt.step([T.tensor(g, { dtype: "float64" })]);
      expectArraysClose(values(p.value), expected);
    });
    expect(opt.lr).toBe(0.02);
    expect(opt.stepCount).toBe(3);
  });

  it("without momentum is plain gradient descent, updating the same tensor in place", () => {
    const p = variable(T.tensor(P0, { dtype: "float64" }));
    const tensorBefore = p.value;
    new SGD([p], { lr: 0.5 }).step([T.tensor(G[0]!, { dtype: "float64" })]);
    expect(p.value).toBe(tensorBefore);
    expectArraysClose(values(p.value), P0.map((v, k) => v - 0.5 * G[0]![k]!));
  });

  it("updates float32 parameters and reads broadcast (stride-0) gradients", () => {
    const p = variable(T.zeros([2, 3]));
    new SGD([p], { lr: 2 }).step([T.expand(T.tensor([[1, 2, 3]]), [2, 3])]);
    expect(values(p.value)).toEqual([-2, -4, -6, -2, -4, -6]);
  });
});

describe("Adam (AdamW decay)", () => {
  it("follows the AdamW formulas with bias correction for three steps with an lr change", () => {
    const p = variable(T.tensor(P0, { dtype: "float64" }));
    const [b1, b2, eps, wd] = [0.8, 0.95, 1e-6, 0.1];
    const opt = new Adam([p], { lr: 0.1, betas: [b1, b2], eps, weightDecay: wd });
    const lrs = [0.1, 0.05, 0.05];
    const expected = [...P0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    G.forEach((g, step) => {
      const t = step + 1;
      const lr = lrs[step]!;
      for (let k = 0; k < 3; k++) {
        m[k] = b1 * m[k]! + (1 - b1) * g[k]!;
        v[k] = b2 * v[k]! + (1 - b2) * g[k]! ** 2;
        const mHat = m[k]! / (1 - b1 ** t);
        const vHat = v[k]! / (1 - b2 ** t);
        expected[k] = expected[k]! - lr * wd * expected[k]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      if (step === 1) opt.lr = 0.05;
      opt.step([T.tensor(g, { dtype: "float64" })]);
      expectArraysClose(values(p.value), expected);
    });
  });

  it("moves each weight by about lr on the first step whatever the gradient's scale (the normalisation)", () => {
    const p = variable(T.zeros([3], { dtype: "float64" }));
    new Adam([p], { lr: 0.01 }).step([T.tensor([1e-3, -50, 7], { dtype: "float64" })]);
    expectArraysClose(values(p.value), [-0.01, 0.01, -0.01], 1e-4);
  });

  it("decays weights by (1 - lr * wd) independently of the gradient (decoupled)", () => {
    const p = variable(T.tensor([4, -2], { dtype: "float64" }));
    new Adam([p], { lr: 0.1, weightDecay: 0.5 }).step([T.zeros([2], { dtype: "float64" })]);
    expectArraysClose(values(p.value), [4 * 0.95, -2 * 0.95]);
  });
});

describe("minimisation", () => {
  /** L(p) = 0.5 * ||A p - b||^2 with A well conditioned; the minimum is 0. */
  function quadratic() {
    const A = T.add(T.mul(f64([4, 4], 1), 0.2), T.tensor([[1, 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1.2]], { dtype: "float64" }));
    const b = f64([4, 1], 2);
    const p = variable(T.zeros([4, 1], { dtype: "float64" }), "p");
    const loss = () => {
      const r = sub(matmul(A, p), b);
      return mul(sum(mul(r, r)), 0.5);
    };
    return { p, loss };
  }

  function train(opt: { step(g: Tensor[]): void }, params: Var[], loss: () => Var, steps: number): { first: number; last: number } {
    const first = loss().item();
    for (let i = 0; i < steps; i++) opt.step(grad(loss(), params));
    return { first, last: loss().item() };
  }

  it("SGD with momentum solves a convex quadratic", () => {
    const { p, loss } = quadratic();
    const { first, last } = train(new SGD([p], { lr: 0.1, momentum: 0.5 }), [p], loss, 150);
    expect(last).toBeLessThan(first * 1e-10);
  });

  it("Adam solves a convex quadratic (with a decaying learning rate)", () => {
    const { p, loss } = quadratic();
    const opt = new Adam([p], { lr: 0.1 });
    const first = loss().item();
    for (let i = 0; i < 400; i++) opt.step(grad(loss(), [p]), { lr: 0.1 * 0.99 ** i });
    expect(loss().item()).toBeLessThan(first * 1e-6);
  });

  /** A 2-layer tanh MLP regressing y = sin(2 x1) * x2 on 64 random points. */
  function mlp(seed: number) {
    const x = T.randUniform([64, 2], { seed, low: -1, high: 1, dtype: "float64" });
    const y = T.tensor(Array.from({ length: 64 }, (_, i) => [Math.sin(2 * x.get(i, 0)) * x.get(i, 1)]), { dtype: "float64" });
    const rng = new T.Rng(seed + 1);
    const params = [
      variable(T.randNormal([16, 2], { rng, dtype: "float64", std: 0.7 }), "w1"),
      variable(T.zeros([16], { dtype: "float64" }), "b1"),
      variable(T.randNormal([1, 16], { rng, dtype: "float64", std: 0.25 }), "w2"),
      variable(T.zeros([1], { dtype: "float64" }), "b2"),
    ];
    const [w1, b1, w2, b2] = params as [Var, Var, Var, Var];
    const loss = () => {
      const h = tanh(add(linear(x, w1), b1)); // [64, 16]
      const out = add(linear(h, w2), b2); // [64, 1]
      const r = sub(out, y);
      return mean(mul(r, r));
    };
    return { params, loss };
  }

  it("SGD with momentum trains a tiny MLP (loss falls by 100x or more)", () => {
    const { params, loss } = mlp(3);
    const { first, last } = train(new SGD(params, { lr: 0.2, momentum: 0.9 }), params, loss, 400);
    expect(last).toBeLessThan(first / 100);
  });

  it("Adam trains a tiny MLP (loss falls by 100x or more)", () => {
    const { params, loss } = mlp(3);
    const { first, last } = train(new Adam(params, { lr: 0.02 }), params, loss, 400);
    expect(last).toBeLessThan(first / 100);
  });
});

/** What both optimizers offer, with their state types erased so one test covers both. */
interface Optimizer {
  readonly stepCount: number;
  step(grads: Tensor[]): void;
  stateDict(): unknown;
  loadStateDict(state: never): void;
  zeroState(): void;
}

describe("state", () => {
  const makers: ((ps: Var[]) => Optimizer)[] = [(ps) => new SGD(ps, { lr: 0.05, momentum: 0.9 }), (ps) => new Adam(ps, { lr: 0.05 })];
  for (const make of makers) {
    it(`${make([variable(T.zeros([1]))]).constructor.name}: a saved state and parameter values resume the same trajectory`, () => {
      const p = variable(T.tensor(P0, { dtype: "float64" }));
      const opt = make([p]);
      const step = (i: number) => opt.step([T.tensor(G[i % 3]!, { dtype: "float64" })]);
      step(0);
      step(1);
      const savedState = opt.stateDict();
      const savedValues = values(p.value);
      step(2);
      step(0);
      const after = values(p.value);
      // Mutating the snapshot must not affect the optimizer, and vice versa.
      opt.loadStateDict(savedState as never);
      p.value.data.set(savedValues);
      step(2);
      step(0);
      expect(values(p.value)).toEqual(after);
      // zeroState: the next step equals that of a fresh optimizer from the same values.
      opt.zeroState();
      expect(opt.stepCount).toBe(0);
      const q = variable(T.tensor(values(p.value), { dtype: "float64" }));
      make([q]).step([T.tensor(G[1]!, { dtype: "float64" })]);
      step(1);
      expect(values(p.value)).toEqual(values(q.value));
    });
  }

  it("loadStateDict refuses state that does not fit the parameters", () => {
    const opt = new Adam([variable(T.zeros([3], { dtype: "float64" }))]);
    expect(() => opt.loadStateDict({ step: 1, m: [new Float64Array(2)], v: [new Float64Array(3)] })).toThrow(/m\[0\] does not fit parameter 0/);
    expect(() => opt.loadStateDict({ step: -1, m: [], v: [] })).toThrow(/step must be/);
  });
});

describe("errors", () => {
  const p = () => variable(T.zeros([2, 2], { dtype: "float64" }), "w");

  it("refuse parameters that are not contiguous leaves, repeated, or share storage", () => {
    const w = p();
    expect(() => new SGD([tanh(w)], { lr: 1 })).toThrow(/parameter 0 \(\[2, 2\]\) is the result of tanh, not a leaf/);
    expect(() => new SGD([variable(T.transpose(T.zeros([2, 3])))], { lr: 1 })).toThrow(/non-contiguous view/);
    expect(() => new SGD([w, w], { lr: 1 })).toThrow(/parameter 1 \('w', \[2, 2\]\) is also parameter 0/);
    const base = T.zeros([4]);
    expect(() => new Adam([variable(T.narrow(base, 0, 0, 3)), variable(T.narrow(base, 0, 2, 2))])).toThrow(/share storage/);
    expect(() => new SGD([], { lr: 1 })).toThrow(/non-empty array/);
  });

  it("refuse bad hyperparameters", () => {
    expect(() => new SGD([p()], { lr: -1 })).toThrow(/lr must be a finite number >= 0/);
    expect(() => new SGD([p()], { lr: 0.1, momentum: 1 })).toThrow(/momentum must be < 1/);
    expect(() => new Adam([p()], { betas: [0.9, 1] })).toThrow(/beta2 must be in \[0, 1\)/);
    const opt = new Adam([p()]);
    expect(() => (opt.lr = Number.NaN)).toThrow(/lr must be/);
  });

  it("check every gradient before changing any parameter", () => {
    const a = p();
    const b = variable(T.ones([3], { dtype: "float64" }), "b");
    const opt = new SGD([a, b], { lr: 1 });
    expect(() => opt.step([T.ones([2, 2])])).toThrow(/got 1 gradients for 2 parameters/);
    expect(() => opt.step([T.ones([2, 2]), T.ones([2])])).toThrow(/gradient of parameter 1 \('b', \[3\]\) has shape \[2\]/);
    expect(() => opt.step([T.ones([2, 2]), T.tensor([1, Number.NaN, 1])])).toThrow(/parameter 1 .* is NaN at flat index 1; no parameter was changed/);
    expect(values(a.value)).toEqual([0, 0, 0, 0]);
    expect(opt.stepCount).toBe(0);
  });
});
