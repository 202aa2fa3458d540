/** Backward rules: matching (op, tag, path glob, AND, order), validation of what they return, required rules, traces. */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import {
  add, compileGlob, grad, matmul, mul, rule, scaleGrad, scope, softmax, softmaxBackward, softmaxForward, stopGrad, sum, tag, tagged,
  tanh, variable, type Rule, type Var,
} from "../src/index.js";
import { build, expectClose, naive, type Naive } from "./helpers.js";

const f64 = (shape: number[], seed: number) => T.randNormal(shape, { seed, dtype: "float64" });

/**
 * A small "model": tanh nodes at several module paths, each behind a tagged identity, summed
 * with random weights so no gradient vanishes. y = sum_p c_p * sum(tanh(x) tagged at p).
 */
const PATHS = ["h.0.attn", "h.0.attn.c_attn", "h.0.mlp", "h.1.attn", "h.12.attn", "h.2.attn", "ln_f", ""] as const;

function model(x: Var): Var {
  let total: Var | undefined;
  PATHS.forEach((path, i) => {
    const body = () => mul(sum(tag(tanh(x), "act")), i + 1);
    const term = path === "" ? body() : scopePath(path, body);
    total = total ? add(total, term) : term;
  });
  return total!;
}

function scopePath<V>(path: string, fn: () => V): V {
  return path.split(".").reduceRight<() => V>((inner, seg) => () => scope(seg, inner), fn)();
}

/** Paths at which a rule fired, from a trace. */
function firedAt(rules: Rule[], name: string): string[] {
  const x = variable(f64([3], 1));
  const { trace } = grad(model(x), [x], { rules, trace: true });
  return trace.filter((e) => e.rule === name).map((e) => e.path).sort();
}

describe("path globs", () => {
  const cases: [string, string, boolean][] = [
    ["h.*.attn", "h.3.attn", true],
    ["h.*.attn", "h.3.attn.c_attn", false],
    ["h.*.attn", "h.3.mlp", false],
    ["h.*.attn", "h.attn", false],
    ["h.*.attn.**", "h.3.attn", true],
    ["h.*.attn.**", "h.3.attn.c_attn", true],
    ["h.*.attn.**", "h.3.attn.c_attn.x.y", true],
    ["h.*.attn.**", "h.3.mlp", false],
    ["h.1*.attn", "h.1.attn", true],
    ["h.1*.attn", "h.12.attn", true],
    ["h.1*.attn", "h.2.attn", false],
    ["*_attn", "c_attn", true],
    ["*_attn", "c_proj", false],
    ["**", "", true],
    ["**", "a.b.c", true],
    ["", "", true],
    ["", "h", false],
    ["**.attn", "h.0.attn", true],
    ["**.attn", "attn", true],
    ["h.(0)", "h.(0)", true], // regex characters are literal
    ["h.(0)", "h.0", false],
    ["a.**.b.**.c", "a.x.b.y.z.c", true],
    ["a.**.b.**.c", "a.x.c.b", false],
    // Many `**` on a long path: linear in each, not exponential (this never finished before memoizing).
    [Array(12).fill("**").join(".") + ".x", Array.from({ length: 60 }, (_, i) => `s${i}`).join("."), false],
    [Array(12).fill("**").join(".") + ".x", Array.from({ length: 60 }, (_, i) => `s${i}`).join(".") + ".x", true],
  ];
  it.each(cases)("'%s' on '%s' is %s", (pattern, path, expected) => {
    expect(compileGlob(pattern).test(path)).toBe(expected);
  });

  it("rejects empty segments", () => {
    expect(() => compileGlob("h..attn")).toThrow(/empty segment/);
  });
});

describe("rule matching", () => {
  it("matches by op name (single or list)", () => {
    const x = variable(f64([3], 2));
    const y = sum(mul(tanh(x), 2));
    const { trace } = grad(y, [x], { rules: [rule("t", { op: "tanh" }, (_c, d) => d())], trace: true });
    expect(trace.map((e) => [e.op, e.rule])).toEqual([["sum", "default"], ["mul", "default"], ["tanh", "t"]]);
    const both = grad(y, [x], { rules: [rule("tm", { op: ["tanh", "mul"] }, (_c, d) => d())], trace: true });
    expect(both.trace.filter((e) => e.rule === "tm").map((e) => e.op)).toEqual(["mul", "tanh"]);
  });

  it("matches by tag", () => {
    expect(firedAt([rule("act", { tag: "act" }, (_c, d) => d())], "act")).toEqual([...PATHS].sort());
  });

  it("matches by path glob: h.*.attn, h.*.attn.**, in-segment *", () => {
    const r = (path: string) => [rule("r", { tag: "act", path }, (_c, d) => d())];
    expect(firedAt(r("h.*.attn"), "r")).toEqual(["h.0.attn", "h.1.attn", "h.12.attn", "h.2.attn"]);
    expect(firedAt(r("h.*.attn.**"), "r")).toEqual(["h.0.attn", "h.0.attn.c_attn", "h.1.attn", "h.12.attn", "h.2.attn"]);
    expect(firedAt(r("h.1*.attn"), "r")).toEqual(["h.1.attn", "h.12.attn"]);
    expect(firedAt(r("ln_*"), "r")).toEqual(["ln_f"]);
  });

  it("requires every given criterion (op AND tag AND path)", () => {
    const r = rule("r", { op: "identity", tag: "act", path: "h.0.**" }, (_c, d) => d());
    expect(firedAt([r], "r")).toEqual(["h.0.attn", "h.0.attn.c_attn", "h.0.mlp"]);
    expect(r.matches({ op: "identity", path: "h.0.mlp", tags: ["act"] })).toBe(true);
    expect(r.matches({ op: "tanh", path: "h.0.mlp", tags: ["act"] })).toBe(false);
    expect(r.matches({ op: "identity", path: "h.0.mlp", tags: ["other"] })).toBe(false);
    expect(r.matches({ op: "identity", path: "h.1.mlp", tags: ["act"] })).toBe(false);
  });

  it("lets the first matching rule win, in the order given", () => {
    const x = variable(f64([3], 3));
    const y = model(x);
    const [plain] = grad(y, [x]);
    const half = scaleGrad("half", 0.5, { tag: "act" });
    const tenth = scaleGrad("tenth", 0.1, { tag: "act", path: "h.*.attn" });
    const a = grad(y, [x], { rules: [half, tenth], trace: true });
    expect(new Set(a.trace.filter((e) => e.tags.includes("act")).map((e) => e.rule))).toEqual(new Set(["half"]));
    expectClose(a.grads[0]!, naive(T.mul(plain!, 0.5)), 1e-12);
    const b = grad(y, [x], { rules: [tenth, half], trace: true });
    expect(b.trace.filter((e) => e.rule === "tenth").map((e) => e.path).sort()).toEqual(["h.0.attn", "h.1.attn", "h.12.attn", "h.2.attn"]);
    // Paths 0..7 carry weights 1..8; the four h.*.attn ones (weights 1, 4, 5, 6) are scaled by 0.1, the rest by 0.5.
    const dtanh = T.sub(1, T.square(T.tanh(x.value)));
    expectClose(b.grads[0]!, naive(T.mul(dtanh, 0.1 * (1 + 4 + 5 + 6) + 0.5 * (2 + 3 + 7 + 8))), 1e-12);
  });

  it("refuses a rule with no criteria (it would match every node)", () => {
    expect(() => rule("all", {}, (_c, d) => d())).toThrow(/must match by op, tag or path/);
  });

  it("stopGrad cuts the gradient at the matched nodes only", () => {
    const x = variable(f64([3], 4));
    const [g] = grad(model(x), [x], { rules: [stopGrad("stop", { tag: "act", path: "h.**" })] });
    // Only ln_f (weight 7) and the top level (weight 8) remain.
    expectClose(g!, naive(T.mul(T.sub(1, T.square(T.tanh(x.value))), 15)), 1e-12);
  });

  it("gives a rule the node's context (path, tags, attrs, output) and the default backward", () => {
    const seen: unknown[] = [];
    const x = variable(f64([2, 3], 5));
    const y = scope("h.4", () => scope("attn", () => tagged("attn.pattern", () => softmax(x, { causal: true }))));
    const probe = rule("probe", { op: "softmax" }, (ctx, defaultBackward) => {
      seen.push({ node: ctx.node, attrs: ctx.attrs, needs: ctx.needs, sameOutput: ctx.output === y.value, sameX: ctx.inputs.x === x.value });
      return defaultBackward();
    });
    const seed = f64([2, 3], 6);
    const [withProbe] = grad(y, [x], { rules: [probe], seed });
    expect(seen).toEqual([{ node: { op: "softmax", path: "h.4.attn", tags: ["attn.pattern"] }, attrs: { causal: true }, needs: { x: true }, sameOutput: true, sameX: true }]);
    expectClose(withProbe!, naive(grad(y, [x], { seed })[0]!));
  });
});

describe("rule validation", () => {
  const setup = () => {
    const x = variable(f64([3, 4], 7));
    const y = scope("h.0", () => scope("attn", () => tagged("attn.pattern", () => softmax(x))));
    return { x, y, seed: f64([3, 4], 8) };
  };

  it("names the op, the module path, the input and both shapes for a gradient of the wrong shape", () => {
    const { x, y, seed } = setup();
    const bad = rule("bad", { op: "softmax" }, () => ({ x: T.zeros([4, 3], { dtype: "float64" }) }));
    expect(() => grad(y, [x], { rules: [bad], seed })).toThrow(
      "rule 'bad' for softmax at h.0.attn [attn.pattern] returned a gradient of float64 shape [4, 3] for input 'x' of float64 shape [3, 4]",
    );
  });

  it("names both dtypes for a gradient of the wrong dtype", () => {
    const { x, y, seed } = setup();
    const bad = rule("bad", { op: "softmax" }, () => ({ x: T.zeros([3, 4]) }));
    expect(() => grad(y, [x], { rules: [bad], seed })).toThrow(/softmax at h\.0\.attn.*float32 shape \[3, 4\].*float64 shape \[3, 4\]/);
  });

  it("refuses a gradient for an input name the op does not have, listing the real ones", () => {
    const { x, y, seed } = setup();
    const bad = rule("bad", { op: "softmax" }, () => ({ logits: T.zeros([3, 4], { dtype: "float64" }) }) as never);
    expect(() => grad(y, [x], { rules: [bad], seed })).toThrow(/rule 'bad' for softmax at h\.0\.attn.*'logits', which is not an input \(inputs: x\)/);
  });

  it("refuses non-tensor gradients and non-object results", () => {
    const { x, y, seed } = setup();
    const notTensor = rule("nt", { op: "softmax" }, () => ({ x: [1, 2] as unknown as Tensor }));
    expect(() => grad(y, [x], { rules: [notTensor], seed })).toThrow(/rule 'nt' for softmax at h\.0\.attn.*non-tensor gradient for input 'x'/);
    const notObject = rule("no", { op: "softmax" }, () => undefined as never);
    expect(() => grad(y, [x], { rules: [notObject], seed })).toThrow(/rule 'no' for softmax at h\.0\.attn .*returned undefined/);
  });

  it("wraps an exception thrown by a rule with the node and the rule's name", () => {
    const { x, y, seed } = setup();
    const throwing = rule("throwing", { tag: "attn.pattern" }, () => {
      throw new Error("not implemented");
    });
    expect(() => grad(y, [x], { rules: [throwing], seed })).toThrow(/backward of softmax at h\.0\.attn \[attn\.pattern\] \(rule 'throwing'\) failed: not implemented/);
  });
});

describe("required rules", () => {
  it("fail when they match no node on the path, naming the rule and its match", () => {
    const x = variable(f64([3], 9));
    const y = sum(mul(tanh(x), f64([3], 10)));
    const r = rule("tsg", { op: "softmax", tag: "attn.pattern" }, (_c, d) => d(), { required: true });
    expect(() => grad(y, [x], { rules: [r], unmatched: "ignore" })).toThrow("rule 'tsg' (op softmax, tag attn.pattern) matched no node on the path from the inputs to the output");
    // A matching node off the differentiated path does not count.
    const c = variable(f64([3], 11));
    const off = tagged("attn.pattern", () => softmax(c));
    const z = add(y, sum(mul(off, f64([3], 12))));
    expect(() => grad(z, [x], { rules: [r] })).toThrow(/matched no node/);
    expect(() => grad(z, [x, c], { rules: [r] })).not.toThrow();
  });

  it("are fine when they match, and optional rules that match nothing are silent with { unmatched: \"ignore\" }", () => {
    const x = variable(f64([3], 13));
    const y = sum(mul(tanh(x), f64([3], 14)));
    const rules = [scaleGrad("t", 1, { op: "tanh" }, { required: true }), scaleGrad("s", 2, { op: "softmax" })];
    expect(() => grad(y, [x], { rules, unmatched: "ignore" })).not.toThrow();
  });
});

describe("rules that match no node of the graph", () => {
  it("are an error by default, naming the rule, its match and the graph's tags; a match off the differentiated path is enough", () => {
    const x = variable(f64([3], 21));
    const y = sum(mul(tagged("attn.q", () => tanh(x)), f64([3], 22)));
    const typo = scaleGrad("typo", 0.5, { tag: "attn.qq" });
    expect(() => grad(y, [x], { rules: [typo] })).toThrow(/^rule 'typo' \(tag attn\.qq\) matches no node of this graph \(its tags: attn\.q\); .*bindRules.*unmatched: "ignore"/);
    expect(() => grad(y, [x], { rules: [scaleGrad("wrong-op", 0.5, { op: "softmax", tag: "attn.q" })] })).toThrow(/matches no node of this graph/);
    expect(grad(y, [x], { rules: [typo], unmatched: "ignore" })[0]!.toFlat()).toEqual(grad(y, [x])[0]!.toFlat());
    // It matches a node the gradient never reaches (not on the path from x): not an error.
    const c = variable(f64([3], 23));
    const z = add(y, sum(tagged("attn.k", () => tanh(c))));
    expect(() => grad(z, [x], { rules: [scaleGrad("k", 0.5, { tag: "attn.k" })] })).not.toThrow();
  });

  it("pass when made { optional: true } (for places some models lack)", () => {
    const x = variable(f64([3], 24));
    const y = sum(mul(tanh(x), f64([3], 25)));
    const gate = scaleGrad("gate", 0.5, { tag: "mlp.gate" }, { optional: true });
    expect(gate.optional).toBe(true);
    expect(grad(y, [x], { rules: [gate] })[0]!.toFlat()).toEqual(grad(y, [x])[0]!.toFlat());
  });
});

describe("traces", () => {
  it("list every differentiated node, latest first, with the rule that handled it", () => {
    const x = variable(f64([3], 15));
    const y = scope("blk", () => sum(mul(tag(tanh(x), "t"), 2)));
    const { trace, grads } = grad(y, [x], { rules: [scaleGrad("half", 0.5, { tag: "t" })], trace: true });
    expect(trace.map(({ op, path, tags, rule: r }) => ({ op, path, tags, rule: r }))).toEqual([
      { op: "sum", path: "blk", tags: [], rule: "default" },
      { op: "mul", path: "blk", tags: [], rule: "default" },
      { op: "identity", path: "blk", tags: ["t"], rule: "half" },
      { op: "tanh", path: "blk", tags: [], rule: "default" },
    ]);
    expect(trace.map((e) => e.id)).toEqual([...trace.map((e) => e.id)].sort((a, b) => b - a));
    expect(grads).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// The same forward, differentiated twice with two rule sets, each compared with a closed form.

/** softmax of each row, by hand. */
function softmaxRows(s: Naive, temperature = 1): number[][] {
  const [n, d] = s.shape as [number, number];
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from({ length: d }, (_, j) => s.values[i * d + j]! / temperature);
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    return row.map((v) => Math.exp(v) / z);
  });
}

/** The softmax VJP at probabilities p (rows): ds = p * (dp - sum(p * dp)). */
function softmaxVjp(p: number[][], dp: number[][]): number[] {
  return p.flatMap((row, i) => {
    const dot = row.reduce((a, v, j) => a + v * dp[i]![j]!, 0);
    return row.map((v, j) => v * (dp[i]![j]! - dot));
  });
}

describe("one forward, two rule sets", () => {
  it("gives the plain gradient and the temperature (TSG) gradient, each matching its closed form", () => {
    const [n, d, e] = [3, 4, 2];
    const s = variable(f64([n, d], 20), "scores");
    const r = variable(f64([n, d], 21), "router logits");
    const V = f64([d, e], 22);
    const U = f64([n, e], 23); // random upstream weights on the attention output
    const C = f64([n, d], 24); // random weights on the router (never backprop a bare sum through a softmax)
    // One forward: an attention-pattern softmax and an untagged "router" softmax.
    const p = scope("h.0", () => scope("attn", () => tagged("attn.pattern", () => softmax(s))));
    const y = add(sum(mul(matmul(p, V), U)), sum(mul(softmax(r), C)));

    const temperature = 2;
    const tsg = rule("tsg", { op: "softmax", tag: "attn.pattern" }, ({ inputs, grad: dp }) => ({
      x: softmaxBackward(softmaxForward(T.div(inputs.x, temperature)), dp),
    }), { required: true });

    const plain = grad(y, [s, r]);
    const withTsg = grad(y, [s, r], { rules: [tsg] });
    const plainAgain = grad(y, [s, r]);

    // dp = U @ V^T by hand.
    const dp = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => {
      let acc = 0;
      for (let k = 0; k < e; k++) acc += U.get(i, k) * V.get(j, k);
      return acc;
    }));
    const sN = naive(s.value);
    const expectedPlain = softmaxVjp(softmaxRows(sN), dp);
    const expectedTsg = softmaxVjp(softmaxRows(sN, temperature), dp); // no extra 1/T factor
    const dC = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => C.get(i, j)));
    const expectedRouter = softmaxVjp(softmaxRows(naive(r.value)), dC);

    expectClose(plain[0]!, { shape: [n, d], values: expectedPlain }, 1e-12, 1e-10, "plain ds");
    expectClose(withTsg[0]!, { shape: [n, d], values: expectedTsg }, 1e-12, 1e-10, "TSG ds");
    expectClose(plainAgain[0]!, { shape: [n, d], values: expectedPlain }, 1e-12, 1e-10, "plain ds after TSG");
    // The untagged softmax keeps its default backward under both rule sets.
    for (const g of [plain[1]!, withTsg[1]!]) expectClose(g, { shape: [n, d], values: expectedRouter }, 1e-12, 1e-10, "router");
    // And the two answers really differ.
    const diff = naive(T.sub(plain[0]!, withTsg[0]!)).values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(diff).toBeGreaterThan(1e-3);
  });

  it("applies a scale rule through a tagged place: half the gradient, checked by hand", () => {
    const xv = f64([2, 3], 25);
    const x = variable(xv);
    const c = f64([2, 3], 26);
    const y = sum(mul(tag(tanh(x), "h"), c));
    const [g] = grad(y, [x], { rules: [scaleGrad("half", 0.5, { tag: "h" })] });
    expectClose(g!, build([2, 3], ([i, j]) => 0.5 * c.get(i!, j!) * (1 - Math.tanh(xv.get(i!, j!)) ** 2)));
  });
});
