/**
 * What docs/custom-rules.md says about custom rules, checked through the public API on the
 * GPT-2 fixture: matching by op, tag and path glob, the default backward, first match wins,
 * required rules, shape errors, gradcheck of an exact rule, and traces.
 */
import { compileGlob, grad, gradcheck, rule, scaleGrad, silu, softmaxBackward, softmaxForward, stopGrad, variable, type Rule } from "@gim/autograd";
import * as T from "@gim/tensor";
import { placeVars, Tags } from "@gim/transformer";
import { describe, expect, it } from "vitest";
import { formatTrace, gradientScale, softmaxTemperature } from "../src/index.js";
import { expectBitwise, fixture, values } from "./helpers.js";

const { model, golden } = fixture("gpt2-f32");

function forward() {
  const e = variable(model.embedTokens(golden.ids));
  const out = model.forward({ embeds: e });
  return { e, L: out.logit(-1, golden.target_id) };
}

/** "path rule" for every node a rule (not the default) handled. */
function firings(rules: readonly Rule[]): string[] {
  const { e, L } = forward();
  return grad(L, [e], { rules, trace: true })
    .trace.filter((t) => t.rule !== "default")
    .map((t) => `${t.op} ${t.path} ${t.rule}`)
    .sort();
}

describe("matching", () => {
  it("op and tag: every attention softmax and nothing else", () => {
    expect(firings([stopGrad("s", { op: "softmax", tag: Tags.pattern })])).toEqual(["softmax h.0.attn s", "softmax h.1.attn s"]);
  });

  it("op and path glob: the c_fc and c_proj linears of every MLP", () => {
    expect(firings([scaleGrad("mlp", 0.5, { op: "linear", path: "h.*.mlp.**" })])).toEqual([ // (a stopGrad at c_proj would keep the gradient from reaching c_fc)
      "linear h.0.mlp.c_fc mlp",
      "linear h.0.mlp.c_proj mlp",
      "linear h.1.mlp.c_fc mlp",
      "linear h.1.mlp.c_proj mlp",
    ]);
  });

  it("tag and path: the values of block 1 only", () => {
    expect(firings([scaleGrad("v1", 0.5, { tag: Tags.v, path: "h.1.attn" })])).toEqual(["identity h.1.attn v1"]);
  });

  it("every criterion must hold, and at least one must be given", () => {
    const none = stopGrad("none", { op: "softmax", path: "h.*.mlp" });
    expect(() => firings([none])).toThrow(/rule 'none' \(op softmax, path h\.\*\.mlp\) matches no node of this graph/);
    const { e, L } = forward();
    expect(grad(L, [e], { rules: [none], trace: true, unmatched: "ignore" }).trace.filter((t) => t.rule !== "default")).toEqual([]);
    expect(() => rule("everything", {}, () => ({}))).toThrow("rule 'everything' must match by op, tag or path (it would match every node)");
  });

  it("globs behave as the table in the page says", () => {
    const table: [string, string[], string[]][] = [
      ["h.*.attn", ["h.0.attn", "h.11.attn"], ["h.0.attn.c_attn"]],
      ["h.*.attn.**", ["h.0.attn", "h.0.attn.c_attn"], ["h.0.mlp"]],
      ["h.0.**", ["h.0", "h.0.attn", "h.0.mlp.c_fc"], ["h.1.attn"]],
      ["model.layers.*.mlp.*", ["model.layers.2.mlp.gate_proj"], ["model.layers.2.mlp"]],
    ];
    for (const [glob, yes, no] of table) {
      const g = compileGlob(glob);
      for (const p of yes) expect(g.test(p), `${glob} matches ${p}`).toBe(true);
      for (const p of no) expect(g.test(p), `${glob} does not match ${p}`).toBe(false);
    }
  });

  it("model.places() lists the op, path and tags the page shows", () => {
    const show = model.places().map((p) => `${p.op} ${p.path} ${p.tags.join(",")}`);
    for (const line of ["std h.0.ln_1 norm.scale", "identity h.0.attn attn.q", "softmax h.0.attn attn.pattern", "linear h.0.mlp.c_fc "]) expect(show).toContain(line);
  });
});

describe("the rule's backward", () => {
  it("gets the default backward: post-processing it equals scaleGrad", () => {
    const { e, L } = forward();
    const byHand = rule("double", { tag: Tags.z }, (_ctx, defaultBackward) => ({ x: T.mul(defaultBackward().x!, 2) }));
    const [a] = grad(L, [e], { rules: [byHand] });
    const [b] = grad(L, [e], { rules: [scaleGrad("double", 2, { tag: Tags.z })] });
    expectBitwise(values(a!), values(b!));
  });

  it("a hand-written TSG with typed context equals softmaxTemperature", () => {
    const { e, L } = forward();
    const tsg = rule("tsg", { op: "softmax", tag: Tags.pattern }, ({ inputs: { x }, attrs, grad: dp }) => ({
      x: softmaxBackward(softmaxForward(T.div(x, 2), attrs), dp),
    }));
    const [a] = grad(L, [e], { rules: [tsg] });
    const [b] = grad(L, [e], { rules: [softmaxTemperature(2)] });
    expectBitwise(values(a!), values(b!));
  });

  it("a gradient of the wrong shape fails with the op, the path and both shapes", () => {
    const { e, L } = forward();
    const bad = rule("bad", { op: "softmax", tag: Tags.pattern }, () => ({ x: T.zeros([2, 2]) }));
    expect(() => grad(L, [e], { rules: [bad] })).toThrow(/rule 'bad' for softmax at h\.1\.attn.* returned a gradient of float32 shape \[2, 2\] for input 'x' of float32 shape \[1, 4, 8, 8\]/);
  });
});

describe("rule sets", () => {
  it("the first match wins: a specific rule placed before a general one overrides it", () => {
    const rules = [scaleGrad("block0V", 0.1, { tag: Tags.v, path: "h.0.attn" }), gradientScale("v", 0.5)];
    const { e, L } = forward();
    const keys = ["h.0.attn:attn.v", "h.1.attn:attn.v"];
    const at = placeVars(L, keys);
    const outs = keys.map((k) => at.get(k)!);
    const ins = outs.map((v) => v.node!.inputs[0]!);
    const g = grad(L, [...ins, ...outs], { rules });
    expectBitwise(values(g[0]!), values(g[2]!).map((x) => Math.fround(x * Math.fround(0.1))));
    expectBitwise(values(g[1]!), values(g[3]!).map((x) => x * 0.5));
    expect(grad(L, [e], { rules, trace: true }).trace.filter((t) => t.rule !== "default").map((t) => t.rule).sort()).toEqual(["block0V", "gim.vScale"]);
    expect(formatTrace(grad(L, [e], { rules, trace: true }).trace)).toBe("h.0: block0V (attn)\nh.1: gim.vScale (attn)");
  });

  it("a required rule that handles no node on the path fails", () => {
    const { e, L } = forward();
    const onPositions = scaleGrad("onPositions", 2, { tag: Tags.positionEmbeddings }, { required: true });
    expect(() => grad(L, [e], { rules: [onPositions] })).toThrow("rule 'onPositions' (tag embed.positions) matched no node on the path from the inputs to the output");
    expect(() => grad(L, [e], { rules: [scaleGrad("optional", 2, { tag: Tags.positionEmbeddings })] })).not.toThrow();
  });
});

describe("gradcheck", () => {
  it("passes an exact rule (silu's derivative written by hand) and flags a modified one", () => {
    const exactSilu = rule("exactSilu", { op: "silu" }, ({ inputs: { x }, grad: dy }) => {
      const s = T.sigmoid(x);
      return { x: T.mul(dy, T.mul(s, T.add(1, T.mul(x, T.sub(1, s))))) };
    });
    const input = T.randNormal([4, 5], { rng: new T.Rng(1), dtype: "float64" });
    expect(gradcheck((x) => silu(x), [input], { rules: [exactSilu] }).ok).toBe(true);
    const wrongSilu = rule("sigmoidOnly", { op: "silu" }, ({ inputs: { x }, grad: dy }) => ({ x: T.mul(dy, T.sigmoid(x)) }));
    const report = gradcheck((x) => silu(x), [input], { rules: [wrongSilu] });
    expect(report.ok).toBe(false);
    expect(report.format()).toMatch(/gradcheck FAILED.*rules: sigmoidOnly/);
  });
});
