/** The recording context: scopes, tags, noGrad, forward hooks, and errors raised in forward. */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import {
  activeHooks, add, currentPath, currentTags, embedding, grad, isRecording, matmul, mul, noGrad, reshape, scope, softmax, sum, tag, tagged, tanh, variable,
  withDefaultContext, withForwardHook, type NodeInfo,
} from "../src/index.js";
import { build, expectClose, naive } from "./helpers.js";

const f64 = (shape: number[], seed: number) => T.randNormal(shape, { seed, dtype: "float64" });

describe("scope and tagged", () => {
  it("stamp nested module paths and tags on the nodes they record", () => {
    const x = variable(f64([2], 1));
    const y = scope("h", () => scope("3", () => scope("attn", () => tagged("a", () => tagged("b", () => tanh(x))))));
    expect(y.node).toMatchObject({ op: "tanh", path: "h.3.attn", tags: ["a", "b"] });
    const z = scope("h.3", () => scope("mlp", () => tag(x, "out")));
    expect(z.node).toMatchObject({ op: "identity", path: "h.3.mlp", tags: ["out"] });
    expect(currentPath()).toBe("");
    expect(currentTags()).toEqual([]);
  });

  it("give each node a copy of the tags (later tagging does not change recorded nodes)", () => {
    const x = variable(f64([2], 2));
    const inner = tagged("a", () => tanh(x));
    tagged("b", () => tanh(x));
    expect(inner.node!.tags).toEqual(["a"]);
  });

  it("restore path, tags and recording after an exception", () => {
    expect(() =>
      scope("h", () =>
        tagged("t", () =>
          noGrad(() =>
            scope("inner", () => {
              expect(currentPath()).toBe("h.inner");
              expect(isRecording()).toBe(false);
              throw new Error("inside");
            }),
          ),
        ),
      ),
    ).toThrow("inside");
    expect(currentPath()).toBe("");
    expect(currentTags()).toEqual([]);
    expect(isRecording()).toBe(true);
    expect(activeHooks()).toEqual([]);
    // And the next forward records at the top level.
    expect(tanh(variable(f64([1], 3))).node).toMatchObject({ path: "", tags: [] });
  });

  it("return the callback's value and reject bad names", () => {
    expect(scope("a", () => 42)).toBe(42);
    expect(tagged("t", () => "v")).toBe("v");
    for (const bad of ["", ".a", "a."]) expect(() => scope(bad, () => 0)).toThrow(/scope name/);
    expect(() => tagged("", () => 0)).toThrow(/tag must be a non-empty/);
  });
});

describe("noGrad", () => {
  it("records nothing: results have no node and no gradient path, values are the same", () => {
    const x = variable(f64([2, 2], 4));
    const recorded = tanh(mul(x, 2));
    const y = noGrad(() => tanh(mul(x, 2)));
    expect(y.node).toBeNull();
    expectClose(y.value, naive(recorded.value), 0, 0);
    const [dx] = grad(sum(y), [x]);
    expect([...dx!.toFlat()]).toEqual([0, 0, 0, 0]);
  });

  it("nests and restores the previous state", () => {
    noGrad(() => {
      noGrad(() => expect(isRecording()).toBe(false));
      expect(isRecording()).toBe(false);
    });
    expect(isRecording()).toBe(true);
  });
});

describe("forward hooks", () => {
  /** A tiny forward with three tagged places. */
  function forward(x: ReturnType<typeof variable>, w: Tensor) {
    return scope("h.0", () => {
      const h = tag(matmul(x, w), "pre"); // [2, 3]
      const a = scope("attn", () => tagged("pattern", () => softmax(h)));
      const out = tag(mul(a, h), "out");
      return { h, a, out };
    });
  }

  it("see every tagged op with its site (cache), and only tagged ops", () => {
    const x = variable(f64([2, 4], 5));
    const w = f64([4, 3], 6);
    const cache = new Map<string, Tensor>();
    const sites: NodeInfo[] = [];
    const { h, a } = withForwardHook((site, output) => {
      sites.push(site);
      cache.set(`${site.path}/${site.tags.join(",")}`, output);
    }, () => forward(x, w));
    expect(sites.map((s) => `${s.op} ${s.path} [${s.tags}]`)).toEqual(["identity h.0 [pre]", "softmax h.0.attn [pattern]", "identity h.0 [out]"]);
    expect(cache.get("h.0/pre")).toBe(h.value);
    expect(cache.get("h.0.attn/pattern")).toBe(a.value);
  });

  it("patch: a replaced output changes downstream values and cuts the gradient path through that place", () => {
    const x = variable(f64([2, 4], 7));
    const w = f64([4, 3], 8);
    const replacement = f64([2, 3], 9);
    const { a, out } = withForwardHook((site) => (site.op === "softmax" ? replacement : undefined), () => forward(x, w));
    expect(a.value).toBe(replacement);
    expect(a.node).toBeNull(); // no path back into the softmax
    const hv = T.matmul(x.value, w);
    expectClose(out.value, build([2, 3], ([i, j]) => replacement.get(i!, j!) * hv.get(i!, j!)));
    // d sum(out * c) / dx now only flows through h:  dh = c * replacement, dx = dh @ w^T.
    const c = f64([2, 3], 10);
    const [dx] = grad(sum(mul(out, c)), [x]);
    const dh = T.mul(c, replacement);
    expectClose(dx!, build([2, 4], ([i, k]) => {
      let s = 0;
      for (let j = 0; j < 3; j++) s += dh.get(i!, j) * w.get(k!, j);
      return s;
    }));
  });

  it("patch inside noGrad too (hooks run whether or not a graph is recorded)", () => {
    const x = variable(f64([2, 4], 11));
    const zeros = T.zeros([2, 3], { dtype: "float64" });
    const { out } = noGrad(() => withForwardHook((site) => (site.tags.includes("pre") ? zeros : undefined), () => forward(x, f64([4, 3], 12))));
    expect([...out.value.toFlat()]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("nest: the outer hook runs first and the inner one sees its result", () => {
    const x = variable(f64([3], 13));
    const order: string[] = [];
    const y = withForwardHook((_s, o) => {
      order.push("outer");
      return T.add(o, 1);
    }, () =>
      withForwardHook((_s, o) => {
        order.push("inner");
        return T.mul(o, 10);
      }, () => tag(x, "t")),
    );
    expect(order).toEqual(["outer", "inner"]);
    expectClose(y.value, build([3], ([i]) => (x.value.get(i!) + 1) * 10));
    expect(activeHooks()).toEqual([]);
  });

  it("a hook returning the wrong shape, dtype or a non-tensor fails clearly, naming the place", () => {
    const x = variable(f64([2, 3], 14));
    const run = (value: unknown) => () => withForwardHook(() => value as Tensor, () => scope("h.1", () => tag(x, "q")));
    expect(run(T.zeros([3, 2], { dtype: "float64" }))).toThrow("a forward hook at identity at h.1 [q] returned a float64 tensor of shape [3, 2] for an output of float64 shape [2, 3]");
    expect(run(T.zeros([2, 3]))).toThrow(/identity at h\.1 \[q\] returned a float32 tensor of shape \[2, 3\]/);
    expect(run([1, 2])).toThrow(/forward hook at identity at h\.1 \[q\] returned an array/);
  });
});

describe("withDefaultContext", () => {
  it("records at the top level inside scope, tagged, noGrad and a hook, and restores all four after", () => {
    const x = variable(f64([2], 30));
    let hookCalls = 0;
    const hook = (): undefined => void hookCalls++;
    const [inner, outer] = scope("outer", () =>
      tagged("t", () =>
        noGrad(() =>
          withForwardHook(hook, () => {
            const y = withDefaultContext(() => tag(tanh(x), "probe"));
            return [y, tag(x, "after")] as const;
          }),
        ),
      ),
    );
    expect(inner.node).toMatchObject({ op: "identity", path: "", tags: ["probe"] });
    expect(hookCalls).toBe(1); // only the tagged op recorded after withDefaultContext returned
    expect(outer.node).toBeNull(); // noGrad is back in force
    expect([currentPath(), currentTags(), isRecording(), activeHooks()]).toEqual(["", [], true, []]);
  });
});

describe("errors in forward", () => {
  it("are prefixed with the op and its module path, keeping the error class", () => {
    const a = variable(f64([2, 3], 15));
    const b = variable(f64([2, 3], 16));
    let error: unknown;
    try {
      scope("h.0", () => scope("mlp", () => tagged("up", () => matmul(a, b))));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(T.InputError);
    expect((error as Error).message).toMatch(/^matmul at h\.0\.mlp \[up\]: shapes \[2, 3\] and \[2, 3\] do not align/);
    expect(() => add(a, variable(f64([4], 17)))).toThrow(/^add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  });

  it("name wrong arguments to op functions", () => {
    expect(() => (tanh as unknown as () => unknown)()).toThrow(/tanh takes 1 inputs \(x\), got 0/);
    expect(() => tanh([1, 2] as never)).toThrow(/an array \(wrap it with tensor/);
    expect(() => add(variable(f64([2], 18)), null as never)).toThrow(/expected a Var, a Tensor or a number, got null/);
    // Attributes are optional only for ops whose attributes all are (checked by the compiler).
    // @ts-expect-error embedding needs { ids }
    expect(() => embedding(variable(f64([3, 2], 19)))).toThrow(/^embedding: /);
    // @ts-expect-error reshape needs { shape }
    expect(() => reshape(variable(f64([2], 20)))).toThrow(/^reshape: /);
    expect(sum(tanh(variable(f64([2], 21)))).shape).toEqual([]);
  });
});
