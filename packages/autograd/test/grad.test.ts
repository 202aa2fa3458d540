/** The backward engine: which backwards run, with what `needs`, gradients of any var, accumulation, seeds. */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import {
  add, defineOp, exp, grad, graphNodes, linear, matmul, mul, neg, scope, sum, tanh, variable, type Var,
} from "../src/index.js";
import { build, expectClose, naive } from "./helpers.js";

const f64 = (shape: number[], seed: number) => T.randNormal(shape, { seed, dtype: "float64" });

/** A probe op y = a * b whose backward records what it was asked for and computes only that. */
function makeProbe() {
  const calls: { needs: { a: boolean; b: boolean }; computed: string[] }[] = [];
  const probe = defineOp({
    name: "probe",
    inputs: ["a", "b"],
    forward: ({ a, b }) => T.mul(a, b),
    backward: ({ inputs: { a, b }, grad: g, needs }) => {
      const computed: string[] = [];
      const out: { a?: Tensor; b?: Tensor } = {};
      if (needs.a) {
        out.a = T.mul(g, b);
        computed.push("a");
      }
      if (needs.b) {
        out.b = T.mul(g, a);
        computed.push("b");
      }
      calls.push({ needs: { ...needs }, computed });
      return out;
    },
  });
  return { probe, calls };
}

describe("grad: needs", () => {
  it("asks a backward only for the inputs that lead to a requested var", () => {
    const { probe, calls } = makeProbe();
    const x = variable(f64([3], 1), "x");
    const w = variable(f64([3], 2), "w");
    const y = sum(probe(x, w));
    const [dx] = grad(y, [x]);
    expect(calls).toEqual([{ needs: { a: true, b: false }, computed: ["a"] }]);
    expectClose(dx!, naive(w.value));
    grad(y, [w]);
    expect(calls[1]).toEqual({ needs: { a: false, b: true }, computed: ["b"] });
    grad(y, [x, w]);
    expect(calls[2]).toEqual({ needs: { a: true, b: true }, computed: ["a", "b"] });
  });

  it("treats tensors and numbers passed as inputs as constants (not needed)", () => {
    const { probe, calls } = makeProbe();
    const x = variable(f64([2], 3));
    grad(sum(probe(f64([2], 4), x)), [x]);
    expect(calls[0]!.needs).toEqual({ a: false, b: true });
  });

  it("needs follows paths through the graph: a weight upstream of the probe is needed, a sibling branch is not", () => {
    const { probe, calls } = makeProbe();
    const x = variable(f64([2, 3], 5));
    const w = variable(f64([4, 3], 6));
    const h = linear(x, w); // [2, 4]
    const y = sum(probe(tanh(h), f64([2, 4], 7)));
    grad(y, [w]);
    expect(calls[0]!.needs).toEqual({ a: true, b: false });
  });

  it("does not run backwards of nodes off the path from the inputs to the output", () => {
    const { probe, calls } = makeProbe();
    const x = variable(f64([2], 8));
    const c = variable(f64([2], 9));
    const offPath = probe(c, c); // depends only on c
    const y = sum(mul(x, offPath));
    grad(y, [x]);
    expect(calls).toEqual([]);
  });
});

describe("grad: values", () => {
  it("gives gradients with respect to intermediate vars, alone or together with leaves", () => {
    const x = variable(f64([2, 3], 10));
    const w = variable(f64([3, 2], 11));
    const h = matmul(x, w); // [2, 2]
    const y = sum(tanh(h));
    const dhExpected = build([2, 2], ([i, j]) => 1 - Math.tanh(h.value.get(i!, j!)) ** 2);
    const [dh] = grad(y, [h]);
    expectClose(dh!, dhExpected);
    const [dh2, dx] = grad(y, [h, x]);
    expectClose(dh2!, dhExpected);
    // dx = dh @ w^T, by hand.
    expectClose(dx!, build([2, 3], ([i, k]) => dhExpected.values[i! * 2]! * w.value.get(k!, 0) + dhExpected.values[i! * 2 + 1]! * w.value.get(k!, 1)));
  });

  it("accumulates over every use of a var (same node twice, several nodes, diamonds)", () => {
    const xv = f64([4], 12);
    const x = variable(xv);
    // y = x*x + 3x + e^x  ->  dy/dx = 2x + 3 + e^x
    const y = sum(add(add(mul(x, x), mul(x, 3)), exp(x)));
    expectClose(grad(y, [x])[0]!, build([4], ([i]) => 2 * xv.get(i!) + 3 + Math.exp(xv.get(i!))));
    // diamond: a = tanh x; z = a*a + a  ->  dz/dx = (2a + 1)(1 - a^2)
    const a = tanh(x);
    const z = sum(add(mul(a, a), a));
    expectClose(grad(z, [x])[0]!, build([4], ([i]) => {
      const t = Math.tanh(xv.get(i!));
      return (2 * t + 1) * (1 - t * t);
    }));
  });

  it("takes a seed for a non-scalar output (a vector-Jacobian product)", () => {
    const xv = f64([2, 3], 13);
    const x = variable(xv);
    const y = tanh(x);
    const seed = f64([2, 3], 14);
    const [dx] = grad(y, [x], { seed });
    expectClose(dx!, build([2, 3], ([i, j]) => seed.get(i!, j!) * (1 - Math.tanh(xv.get(i!, j!)) ** 2)));
    // A seed scales a scalar output's gradient too.
    const [ds] = grad(sum(x), [x], { seed: T.scalar(2.5, { dtype: "float64" }) });
    expectClose(ds!, build([2, 3], () => 2.5));
  });

  it("defaults the seed to 1 for a one-element output of any rank", () => {
    const x = variable(f64([1, 1], 15));
    const [dx] = grad(mul(x, 4), [x]);
    expectClose(dx!, build([1, 1], () => 4));
  });

  it("returns zeros of the right shape and dtype for a var the output does not depend on, and the seed for the output itself", () => {
    const x = variable(f64([2], 16));
    const unrelated = variable(T.randNormal([3, 2], { seed: 17 })); // float32
    const y = sum(x);
    const [dz, dy] = grad(y, [unrelated, y]);
    expect(dz!.shape).toEqual([3, 2]);
    expect(dz!.dtype).toBe("float32");
    expect([...dz!.toFlat()]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(dy!.item()).toBe(1);
  });

  it("is functional: differentiating twice gives the same answer and changes no value", () => {
    const x = variable(f64([3], 18));
    const before = [...x.value.toFlat()];
    const y = sum(mul(tanh(x), x));
    const [a] = grad(y, [x]);
    const [b] = grad(y, [x]);
    expect([...a!.toFlat()]).toEqual([...b!.toFlat()]);
    expect([...x.value.toFlat()]).toEqual(before);
  });

  it("handles deep graphs without recursion limits", () => {
    const x = variable(f64([2], 19));
    let h: Var = x;
    for (let i = 0; i < 20_000; i++) h = neg(h);
    const [dx] = grad(sum(h), [x]);
    expectClose(dx!, build([2], () => 1)); // an even number of negations
  });
});

describe("graphNodes", () => {
  it("lists every node the output depends on once, inputs' nodes first, and nothing off the graph", () => {
    const x = variable(f64([2], 25));
    const a = tanh(x);
    const b = exp(a);
    const y = add(mul(a, b), a); // a is used three times
    neg(y); // a later node that y does not depend on
    expect(graphNodes(y).map((n) => n.op)).toEqual(["tanh", "exp", "mul", "add"]);
    expect(graphNodes(x)).toEqual([]);
  });
});

describe("grad: errors", () => {
  it("asks for a seed when the output is not a scalar", () => {
    const x = variable(f64([2, 3], 20));
    expect(() => grad(tanh(x), [x])).toThrow(/shape \[2, 3\].*seed/);
  });

  it("names both shapes for a seed of the wrong shape, and both dtypes for the wrong dtype", () => {
    const x = variable(f64([2, 3], 21));
    expect(() => grad(tanh(x), [x], { seed: f64([3, 2], 22) })).toThrow(/seed .*\[3, 2\].*output .*\[2, 3\]/);
    expect(() => grad(tanh(x), [x], { seed: T.ones([2, 3]) })).toThrow(/seed is a float32.*output a float64/);
  });

  it("rejects non-Var outputs and inputs", () => {
    const x = variable(f64([2], 23));
    expect(() => grad(x.value as unknown as Var, [x])).toThrow(/output must be a Var/);
    expect(() => grad(sum(x), [x, x.value as unknown as Var])).toThrow(/input 1 is not a Var/);
  });

  it("prefixes a failing backward with the op, its module path and the rule", () => {
    const failing = defineOp({
      name: "failingBackward",
      inputs: ["x"],
      forward: ({ x }) => x,
      backward: () => {
        throw new Error("boom");
      },
    });
    const x = variable(f64([2], 24));
    const y = scope("h.0", () => sum(failing(x)));
    expect(() => grad(y, [x])).toThrow(/backward of failingBackward at h\.0 \(the default backward\) failed: boom/);
  });
});

describe("printing a var", () => {
  it("names its op and path, and console.log shows its values under that", async () => {
    const { inspect } = await import("node:util");
    const x = variable(T.tensor([[1, 2], [3, 4]]), "x");
    const y = scope("h.0", () => mul(x, x));
    expect(String(y)).toBe("Var(mul at h.0, float32, [2, 2])");
    expect(inspect(y)).toBe("Var(mul at h.0, float32, [2, 2])\ntensor([[ 1,  4],\n        [ 9, 16]], dtype=float32)");
  });
});
