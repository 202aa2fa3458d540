/** The custom-rule example computes what it says, checked against closed forms written out here. */
import type { Tensor } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import { customRuleExample } from "./custom-rule.js";

/** Rows of a 2-d tensor as nested arrays. */
const rows = (t: Tensor): number[][] => t.toArray() as number[][];

function expectMatrixClose(actual: Tensor, expected: number[][], tol = 1e-12): void {
  const got = rows(actual);
  expect(got.length).toBe(expected.length);
  got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i]![j]!)).toBeLessThan(tol)));
}

/** Row-wise softmax of s / temperature, by hand. */
function softmaxRows(s: number[][], temperature: number): number[][] {
  return s.map((row) => {
    const e = row.map((v) => Math.exp(v / temperature));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  });
}

describe("examples/custom-rule", () => {
  const r = customRuleExample();

  it("part 1: the scale rule halves dy/dx, against the closed form 0.5 * ((1 - tanh(xw)^2) * c) w^T", () => {
    const x = rows(r.scale.x);
    const w = rows(r.scale.w);
    const c = rows(r.scale.c);
    const dh = x.map((xr, i) =>
      w[0]!.map((_, j) => {
        const h = xr.reduce((acc, v, k) => acc + v * w[k]![j]!, 0);
        return (1 - Math.tanh(h) ** 2) * c[i]![j]!;
      }),
    );
    const dx = dh.map((dr) => w.map((wr) => dr.reduce((acc, v, j) => acc + v * wr[j]!, 0)));
    expectMatrixClose(r.scale.plain, dx);
    expectMatrixClose(r.scale.halved, dx.map((row) => row.map((v) => 0.5 * v)));
    expect(r.scale.trace.filter((e) => e.rule === "half at h")).toEqual([expect.objectContaining({ op: "identity", path: "block", tags: ["h"] })]);
  });

  it("part 2: the temperature rule gives pT * (dp - sum(pT dp)) with pT = softmax(s / T), the plain backward p * (dp - sum(p dp))", () => {
    const s = rows(r.temperature.scores);
    const v = rows(r.temperature.v);
    const u = rows(r.temperature.upstream);
    // dp = upstream @ v^T
    const dp = u.map((ur) => v.map((vr) => ur.reduce((acc, x, k) => acc + x * vr[k]!, 0)));
    const vjp = (p: number[][]) =>
      p.map((pr, i) => {
        const dot = pr.reduce((acc, x, j) => acc + x * dp[i]![j]!, 0);
        return pr.map((x, j) => x * (dp[i]![j]! - dot));
      });
    expectMatrixClose(r.temperature.plain, vjp(softmaxRows(s, 1)));
    expectMatrixClose(r.temperature.tsg, vjp(softmaxRows(s, r.temperature.temperature)));
    expect(r.temperature.trace.find((e) => e.op === "softmax")).toMatchObject({ path: "h.0.attn", tags: ["attn.pattern"], rule: "temperature softmax" });
  });

  it("part 3: gradcheck passes the exact rule and flags the temperature rule", () => {
    expect(r.gradchecks.exactRule.ok).toBe(true);
    expect(r.gradchecks.temperatureRule.ok).toBe(false);
    expect(r.gradchecks.temperatureRule.format()).toMatch(/FAILED.*rules: temperature softmax/);
  });
});
