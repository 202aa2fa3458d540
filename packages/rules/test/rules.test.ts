/**
 * Each GIM rule against its closed form (GIM.md), on random float64 inputs with a random
 * upstream gradient (a `sum()` through a softmax would have zero gradient under any rule).
 * The places are built as the models build them (layerNormLayer, rmsNormLayer,
 * causalAttention from @gim/transformer, tags from `Tags`).
 */
import { add, grad, linear, mul, silu, softmax, tag, tagged, variable, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import { causalAttention, layerNormLayer, rmsNormLayer, Tags } from "@gim/transformer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freezeNorm, gradientScale, gradientScaleRange, softmaxTemperature, type ScaledPlace } from "../src/index.js";
import { expectBitwise, expectClose, randn, relativeL2, values } from "./helpers.js";

const RUNS = 40;

/**
 * TSG by hand: per row of scores s [.., rows, cols] (causal: key j visible to query i when
 * j <= i + cols - rows), pT = softmax(s / T) over the visible keys (0 elsewhere) and
 * ds_j = pT_j (dp_j - sum_k pT_k dp_k).
 */
function tsgByHand(s: number[], dp: number[], rows: number, cols: number, temperature: number): number[] {
  const ds = new Array<number>(s.length).fill(0);
  for (let row = 0; row < s.length / cols; row++) {
    const i = row % rows;
    const visible = i + cols - rows; // last visible key
    const base = row * cols;
    let top = -Infinity;
    for (let j = 0; j <= visible; j++) top = Math.max(top, s[base + j]! / temperature);
    const pT = new Array<number>(cols).fill(0);
    let z = 0;
    for (let j = 0; j <= visible; j++) z += pT[j] = Math.exp(s[base + j]! / temperature - top);
    let dot = 0;
    for (let j = 0; j <= visible; j++) {
      pT[j]! /= z;
      dot += pT[j]! * dp[base + j]!;
    }
    for (let j = 0; j <= visible; j++) ds[base + j] = pT[j]! * (dp[base + j]! - dot);
  }
  return ds;
}

const attentionShape = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  heads: fc.integer({ min: 1, max: 3 }),
  rows: fc.integer({ min: 1, max: 5 }),
  extraKeys: fc.integer({ min: 0, max: 2 }),
  temperature: fc.oneof(fc.constant(2), fc.double({ min: 0.25, max: 6, noNaN: true })),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

/** A gradient scale in [-max, max] that gradientScale accepts: 0, or at least 1e-30 in magnitude (subnormal doubles become 0). */
const scaleFactor = (max: number) => fc.double({ min: -max, max, noNaN: true }).map((v) => (Math.abs(v) < gradientScaleRange.min ? 0 : v));

describe("softmaxTemperature (TSG)", () => {
  it("equals pT * (dp - sum pT dp) with pT = softmax(s / T), masked entries 0, on random scores and upstream gradients", () => {
    fc.assert(
      fc.property(attentionShape, ({ batch, heads, rows, extraKeys, temperature, seed }) => {
        const rng = new T.Rng(seed);
        const cols = rows + extraKeys;
        const shape = [batch, heads, rows, cols];
        const s = randn(shape, rng, 3);
        const dp = randn(shape, rng);
        const x = variable(s);
        const p = tagged(Tags.pattern, () => softmax(x, { causal: true }));
        const [ds] = grad(p, [x], { seed: dp, rules: [softmaxTemperature(temperature)] });
        const expected = tsgByHand(values(s), values(dp), rows, cols, temperature);
        expectClose(values(ds!), expected, 1e-12, 1e-9);
        // masked entries get exactly zero
        values(ds!).forEach((v, k) => {
          if (k % cols > (Math.floor(k / cols) % rows) + cols - rows) expect(v + 0).toBe(0); // 0 * negative is -0
        });
      }),
      { seed: 11, numRuns: RUNS },
    );
  });

  it("has no 1/T factor: it is T times the gradient of softmax(s / T)", () => {
    fc.assert(
      fc.property(attentionShape, ({ batch, heads, rows, extraKeys, temperature, seed }) => {
        const rng = new T.Rng(seed);
        const shape = [batch, heads, rows, rows + extraKeys];
        const s = randn(shape, rng, 2);
        const dp = randn(shape, rng);
        const x = variable(s);
        const p = tagged(Tags.pattern, () => softmax(x, { causal: true }));
        const [tsg] = grad(p, [x], { seed: dp, rules: [softmaxTemperature(temperature)] });
        // an independent graph: the true gradient of softmax(x / T), which carries 1/T
        const x2 = variable(s);
        const [ofScaled] = grad(softmax(mul(x2, 1 / temperature), { causal: true }), [x2], { seed: dp });
        expectClose(values(tsg!), values(ofScaled!).map((v) => v * temperature), 1e-12, 1e-9);
      }),
      { seed: 12, numRuns: RUNS },
    );
  });

  it("at T = 1 equals the plain gradient bit for bit", () => {
    fc.assert(
      fc.property(attentionShape, ({ batch, heads, rows, extraKeys, seed }) => {
        const rng = new T.Rng(seed);
        const shape = [batch, heads, rows, rows + extraKeys];
        const s = randn(shape, rng, 2);
        const dp = randn(shape, rng);
        const x = variable(s);
        const p = tagged(Tags.pattern, () => softmax(x, { causal: true }));
        const [withRule] = grad(p, [x], { seed: dp, rules: [softmaxTemperature(1)] });
        const [plain] = grad(p, [x], { seed: dp });
        expectBitwise(values(withRule!), values(plain!));
      }),
      { seed: 13, numRuns: RUNS },
    );
  });

  it("changes the gradient at T = 2 (the test above is not vacuous)", () => {
    const rng = new T.Rng(5);
    const s = randn([1, 2, 4, 4], rng, 3);
    const dp = randn([1, 2, 4, 4], rng);
    const x = variable(s);
    const p = tagged(Tags.pattern, () => softmax(x, { causal: true }));
    const [tsg] = grad(p, [x], { seed: dp, rules: [softmaxTemperature(2)] });
    const [plain] = grad(p, [x], { seed: dp });
    expect(relativeL2(values(tsg!), values(plain!))).toBeGreaterThan(0.05);
  });

  it("leaves every other softmax alone (only the one tagged attn.pattern)", () => {
    const rng = new T.Rng(6);
    const a = variable(randn([3, 5], rng, 2));
    const b = variable(randn([3, 5], rng, 2));
    const dp = randn([3, 5], rng);
    const build = () => add(tagged(Tags.pattern, () => softmax(a, { causal: true })), softmax(b)); // b: e.g. a router's softmax
    const out = build();
    const traced = grad(out, [a, b], { seed: dp, rules: [softmaxTemperature(2)], trace: true });
    const [, plainB] = grad(out, [a, b], { seed: dp });
    expectBitwise(values(traced.grads[1]!), values(plainB!));
    expect(traced.trace.filter((t) => t.rule === "gim.softmaxTemperature").map((t) => t.tags)).toEqual([[Tags.pattern]]);
  });

  it("refuses a temperature that is not positive and finite", () => {
    for (const bad of [0, -1, Number.NaN, Infinity]) expect(() => softmaxTemperature(bad)).toThrow(/temperature must be a positive number/);
  });
});

const normShape = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  tokens: fc.integer({ min: 1, max: 4 }),
  width: fc.integer({ min: 2, max: 9 }),
  eps: fc.oneof(fc.constant(1e-5), fc.double({ min: 1e-6, max: 0.5, noNaN: true })),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

/** Per row of x [.., d]: mean, the LayerNorm std sqrt(var + eps) and the rms sqrt(mean x^2 + eps). */
function rowStats(x: number[], d: number, eps: number): { mean: number[]; std: number[]; rms: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  const rms: number[] = [];
  for (let r = 0; r < x.length / d; r++) {
    const row = x.slice(r * d, (r + 1) * d);
    const m = row.reduce((acc, v) => acc + v, 0) / d;
    mean.push(m);
    std.push(Math.sqrt(row.reduce((acc, v) => acc + (v - m) ** 2, 0) / d + eps));
    rms.push(Math.sqrt(row.reduce((acc, v) => acc + v * v, 0) / d + eps));
  }
  return { mean, std, rms };
}

describe("freezeNorm", () => {
  it("LayerNorm (as layerNormLayer builds it): dx = (g - mean g) / s with g = dy * w; weight and bias gradients unchanged", () => {
    fc.assert(
      fc.property(normShape, ({ batch, tokens, width: d, eps, seed }) => {
        const rng = new T.Rng(seed);
        const xs = randn([batch, tokens, d], rng, 2);
        const w = randn([d], rng);
        const b = randn([d], rng);
        const dy = randn([batch, tokens, d], rng);
        const [x, wv, bv] = [variable(xs), variable(w), variable(b)];
        const y = layerNormLayer(x, wv, bv, eps);
        const frozen = grad(y, [x, wv, bv], { seed: dy, rules: [freezeNorm()] });
        const plain = grad(y, [x, wv, bv], { seed: dy });

        const X = values(xs);
        const W = values(w);
        const G = values(dy);
        const { mean, std } = rowStats(X, d, eps);
        const dxFrozen: number[] = [];
        const dxPlain: number[] = [];
        const dw = new Array<number>(d).fill(0);
        const db = new Array<number>(d).fill(0);
        for (let r = 0; r < X.length / d; r++) {
          const g = Array.from({ length: d }, (_, i) => G[r * d + i]! * W[i]!);
          const xhat = Array.from({ length: d }, (_, i) => (X[r * d + i]! - mean[r]!) / std[r]!);
          const meanG = g.reduce((acc, v) => acc + v, 0) / d;
          const meanGx = g.reduce((acc, v, i) => acc + v * xhat[i]!, 0) / d;
          for (let i = 0; i < d; i++) {
            dxFrozen.push((g[i]! - meanG) / std[r]!);
            dxPlain.push((g[i]! - meanG - xhat[i]! * meanGx) / std[r]!); // the full LayerNorm gradient
            dw[i]! += G[r * d + i]! * xhat[i]!;
            db[i]! += G[r * d + i]!;
          }
        }
        expectClose(values(frozen[0]!), dxFrozen);
        expectClose(values(plain[0]!), dxPlain);
        expectClose(values(frozen[1]!), dw);
        expectClose(values(frozen[2]!), db);
        expectBitwise(values(frozen[1]!), values(plain[1]!));
        expectBitwise(values(frozen[2]!), values(plain[2]!));
      }),
      { seed: 21, numRuns: RUNS },
    );
  });

  it("RMSNorm (as rmsNormLayer builds it): dx = dy * w / r; the weight gradient unchanged", () => {
    fc.assert(
      fc.property(normShape, ({ batch, tokens, width: d, eps, seed }) => {
        const rng = new T.Rng(seed);
        const xs = randn([batch, tokens, d], rng, 2);
        const w = randn([d], rng);
        const dy = randn([batch, tokens, d], rng);
        const [x, wv] = [variable(xs), variable(w)];
        const y = rmsNormLayer(x, wv, eps);
        const frozen = grad(y, [x, wv], { seed: dy, rules: [freezeNorm()] });
        const plain = grad(y, [x, wv], { seed: dy });

        const X = values(xs);
        const W = values(w);
        const G = values(dy);
        const { rms } = rowStats(X, d, eps);
        const dxFrozen: number[] = [];
        const dxPlain: number[] = [];
        const dw = new Array<number>(d).fill(0);
        for (let r = 0; r < X.length / d; r++) {
          const xhat = Array.from({ length: d }, (_, i) => X[r * d + i]! / rms[r]!);
          const meanGx = xhat.reduce((acc, v, i) => acc + G[r * d + i]! * W[i]! * v, 0) / d;
          for (let i = 0; i < d; i++) {
            dxFrozen.push((G[r * d + i]! * W[i]!) / rms[r]!);
            dxPlain.push((G[r * d + i]! * W[i]! - xhat[i]! * meanGx) / rms[r]!);
            dw[i]! += G[r * d + i]! * xhat[i]!;
          }
        }
        expectClose(values(frozen[0]!), dxFrozen);
        expectClose(values(plain[0]!), dxPlain);
        expectClose(values(frozen[1]!), dw);
        expectBitwise(values(frozen[1]!), values(plain[1]!));
      }),
      { seed: 22, numRuns: RUNS },
    );
  });

  it("fires once per norm, at its scale statistic", () => {
    const rng = new T.Rng(3);
    const x = variable(randn([1, 3, 4], rng));
    const y = rmsNormLayer(layerNormLayer(x, variable(randn([4], rng)), variable(randn([4], rng)), 1e-5), variable(randn([4], rng)), 1e-6);
    const { trace } = grad(y, [x], { seed: randn([1, 3, 4], rng), rules: [freezeNorm()], trace: true });
    expect(trace.filter((t) => t.rule === "gim.freezeNorm").map((t) => t.op).sort()).toEqual(["rms", "std"]);
  });
});

describe("gradientScale", () => {
  const attentionCase = fc.record({
    kvHeads: fc.integer({ min: 1, max: 2 }),
    group: fc.integer({ min: 1, max: 2 }),
    tokens: fc.integer({ min: 1, max: 4 }),
    headDim: fc.integer({ min: 1, max: 4 }),
    place: fc.constantFrom<ScaledPlace>("q", "k", "v"),
    factor: fc.oneof(fc.constantFrom(0.25, 0.5), scaleFactor(3)),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });

  it("q, k and v scales multiply exactly the gradient through their place (GQA included) and nothing else", () => {
    fc.assert(
      fc.property(attentionCase, ({ kvHeads, group, tokens, headDim, place, factor, seed }) => {
        const rng = new T.Rng(seed);
        const heads = kvHeads * group;
        const inputs = { q: randn([1, heads, tokens, headDim], rng), k: randn([1, kvHeads, tokens, headDim], rng), v: randn([1, kvHeads, tokens, headDim], rng) };
        const dz = randn([1, heads, tokens, headDim], rng);
        const vars = [variable(inputs.q), variable(inputs.k), variable(inputs.v)] as const;
        const z = causalAttention(...vars);
        const plain = grad(z, [...vars], { seed: dz });
        const scaled = grad(z, [...vars], { seed: dz, rules: [gradientScale(place, factor)] });
        (["q", "k", "v"] as const).forEach((name, i) => {
          const expected = name === place ? values(plain[i]!).map((g) => g * factor) : values(plain[i]!);
          expectBitwise(values(scaled[i]!), expected);
        });
      }),
      { seed: 31, numRuns: RUNS },
    );
  });

  it("gate and up scales multiply exactly the gradient through the branch outputs; the activation derivative stays exact", () => {
    fc.assert(
      fc.property(
        fc.record({ tokens: fc.integer({ min: 1, max: 4 }), inner: fc.integer({ min: 1, max: 6 }), gate: scaleFactor(2), up: scaleFactor(2), seed: fc.nat() }),
        ({ tokens, inner, gate: gateFactor, up: upFactor, seed }) => {
          const rng = new T.Rng(seed);
          const d = 3;
          const x = variable(randn([1, tokens, d], rng));
          const wg = randn([inner, d], rng);
          const wu = randn([inner, d], rng);
          const wd = randn([d, inner], rng);
          const dy = randn([1, tokens, d], rng);
          // the gated MLP as the Llama model builds it: down(silu(gate(x)) * up(x))
          let gateOut: Var | undefined;
          let upOut: Var | undefined;
          const mlp = () => {
            gateOut = tag(linear(x, wg), Tags.gate);
            upOut = tag(linear(x, wu), Tags.up);
            return linear(mul(silu(gateOut), upOut), wd);
          };
          const y = mlp();
          const gatePre = gateOut!.node!.inputs[0]!;
          const upPre = upOut!.node!.inputs[0]!;
          const rules = [gradientScale("gate", gateFactor), gradientScale("up", upFactor)];
          const [dGatePre, dUpPre, dGateOut, dUpOut] = grad(y, [gatePre, upPre, gateOut!, upOut!], { seed: dy, rules });
          expectBitwise(values(dGatePre!), values(dGateOut!).map((g) => g * gateFactor));
          expectBitwise(values(dUpPre!), values(dUpOut!).map((g) => g * upFactor));
          // the gradient at the place itself is the plain one: dh = dy @ Wd, dgate = dh * up * silu'(gate), dup = dh * silu(gate)
          const G = values(gatePre.value);
          const U = values(upPre.value);
          const DY = values(dy);
          const WD = values(wd);
          const expectGate: number[] = [];
          const expectUp: number[] = [];
          for (let t = 0; t < tokens; t++) {
            for (let j = 0; j < inner; j++) {
              let dh = 0;
              for (let o = 0; o < d; o++) dh += DY[t * d + o]! * WD[o * inner + j]!;
              const g = G[t * inner + j]!;
              const sig = 1 / (1 + Math.exp(-g));
              expectGate.push(dh * U[t * inner + j]! * (sig + g * sig * (1 - sig)));
              expectUp.push(dh * g * sig);
            }
          }
          expectClose(values(dGateOut!), expectGate, 1e-12, 1e-9);
          expectClose(values(dUpOut!), expectUp, 1e-12, 1e-9);
        },
      ),
      { seed: 32, numRuns: RUNS },
    );
  });

  it("refuses a factor that is not finite", () => {
    expect(() => gradientScale("q", Number.NaN)).toThrow(/q gradient scale must be a finite number/);
  });
});
