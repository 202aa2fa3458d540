/**
 * The numbers of examples/gim-at-one-layer.ts against formulas written out here, and
 * docs/how-gim-changes-backprop.md against the script's output (so the page cannot go stale).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { normFreezeExample, productScaleExample, report, tsgAtOneHead } from "./gim-at-one-layer.js";

const docPath = fileURLToPath(new URL("../docs/how-gim-changes-backprop.md", import.meta.url));

function expectAll(actual: readonly number[], expected: readonly number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!)).toBeLessThan(tol));
}

const softmax = (s: readonly number[]): number[] => {
  const e = s.map((v) => Math.exp(v - Math.max(...s)));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};

describe("examples/gim-at-one-layer: the numbers", () => {
  it("TSG: p, pT, dp and both score gradients, by hand", () => {
    const a = tsgAtOneHead();
    const p = softmax(a.scores);
    const pT = softmax(a.scores.map((s) => s / a.temperature));
    const dp = a.values.map((v) => v[0]! * a.upstream[0]! + v[1]! * a.upstream[1]!);
    const mean = (w: number[]) => w.reduce((acc, wk, k) => acc + wk * dp[k]!, 0);
    expectAll(a.p, p);
    expectAll(a.pT, pT);
    expectAll(a.dp, dp);
    expectAll([a.mean.plain, a.mean.tsg], [mean(p), mean(pT)]);
    expectAll(a.plain, p.map((pk, k) => pk * (dp[k]! - mean(p))));
    expectAll(a.tsg, pT.map((pk, k) => pk * (dp[k]! - mean(pT)))); // no 1/T factor
    expectAll(a.output, [0, 1].map((d) => p.reduce((acc, pk, k) => acc + pk * a.values[k]![d]!, 0)));
    const q = softmax(a.scores.slice(0, 2));
    expectAll(a.outputWithoutKey2, [0, 1].map((d) => q[0]! * a.values[0]![d]! + q[1]! * a.values[1]![d]!));
  });

  it("the story the page tells holds: key 2 nearly cancels in the plain gradient and not with TSG; masking it barely changes z", () => {
    const a = tsgAtOneHead();
    expect(a.p[2]).toBeGreaterThan(0.5);
    expect(Math.abs(a.plain[2]!)).toBeLessThan(0.001);
    expect(a.tsg[2]).toBeGreaterThan(30 * Math.abs(a.plain[2]!));
    expect(Math.abs(a.outputWithoutKey2[0]! - a.output[0]!)).toBeLessThan(0.002);
  });

  it("norm freeze: LayerNorm and RMSNorm, plain and frozen, by hand", () => {
    const { layerNorm: ln, rmsNorm: rn } = normFreezeExample();
    const x = [1, 2, 6];
    const g = [0, 0, 1];
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const s = Math.sqrt(mean(x.map((v) => (v - mean(x)) ** 2)));
    const xhat = x.map((v) => (v - mean(x)) / s);
    const gx = mean(g.map((gi, i) => gi * xhat[i]!));
    expect(ln.scale).toBeCloseTo(s, 12);
    expectAll(ln.y, xhat);
    expectAll(ln.plain, g.map((gi, i) => (gi - mean(g) - xhat[i]! * gx) / s));
    expectAll(ln.frozen, g.map((gi) => (gi - mean(g)) / s));
    const r = Math.sqrt(mean(x.map((v) => v * v)));
    const xr = x.map((v) => v / r);
    const gr = mean(g.map((gi, i) => gi * xr[i]!));
    expect(rn.scale).toBeCloseTo(r, 12);
    expectAll(rn.y, xr);
    expectAll(rn.plain, g.map((gi, i) => (gi - xr[i]! * gr) / r));
    expectAll(rn.frozen, g.map((gi) => gi / r));
  });

  it("gradient scaling: each factor of gate * up gets the whole product, or half of it", () => {
    const m = productScaleExample();
    expect(m.y).toBe(6);
    expect(m.plain).toEqual([6, 6]);
    expect(m.scaled).toEqual([3, 3]);
  });
});

describe("docs/how-gim-changes-backprop.md", () => {
  const doc = readFileSync(docPath, "utf8");
  const printed = report();

  it("quotes the script's output exactly", () => {
    const match = /<!-- begin output: npx tsx examples\/gim-at-one-layer\.ts -->\n```text\n([\s\S]*?)\n```\n<!-- end output -->/.exec(doc);
    expect(match, "the output block with its markers").not.toBeNull();
    expect(match![1]).toBe(printed);
  });

  it("every 4-decimal number in the text is one the script prints", () => {
    const numbers = doc.match(/-?\d+\.\d{4}\b/g) ?? [];
    expect(numbers.length).toBeGreaterThan(30);
    for (const x of new Set(numbers)) expect(printed, `${x} is quoted in the page`).toContain(x);
  });
});
