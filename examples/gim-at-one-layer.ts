/**
 * GIM at one layer, with numbers small enough to follow by hand. It prints the numbers quoted
 * in docs/how-gim-changes-backprop.md (a test checks that the two agree):
 *
 *   npx tsx examples/gim-at-one-layer.ts
 *
 * 1. TSG: one query attending to 3 keys, two of which carry similar values. The plain softmax
 *    backward nearly cancels for those two keys; evaluated at softmax(s / 2) it does not.
 * 2. Norm freeze: a LayerNorm and an RMSNorm of a 3-vector, plain and with the scale frozen.
 * 3. Gradient scaling: a product of two tagged places (the gate * up product of a gated MLP),
 *    whose gradient x input credits the whole product to each factor unless each is halved.
 *
 * Every number comes from the real rules of @gim/rules applied to autograd graphs tagged the
 * way the models tag them.
 */
import { grad, layerNorm, matmul, mul, rms, rmsNorm, softmax, std, tag, tagged, variable, type Rule, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import { Tags } from "@gim/transformer";
import { freezeNorm, gradientScale, softmaxTemperature } from "@gim/rules";
import { pathToFileURL } from "node:url";

const f64 = (values: number[] | number[][]) => T.tensor(values, { dtype: "float64" });
const list = (t: T.Tensor) => Array.from(T.contiguousData(t));

/** Part 1: one attention query over 3 keys. */
export interface TsgAtOneHead {
  /** Scaled scores of the query against keys 0, 1, 2. */
  readonly scores: number[];
  /** The value vector of each key (keys 1 and 2 carry similar values). */
  readonly values: number[][];
  /** dL/dz: the gradient arriving at the head's output z = sum_k p_k v_k. */
  readonly upstream: number[];
  readonly temperature: number;
  /** p = softmax(s). */
  readonly p: number[];
  /** pT = softmax(s / T). */
  readonly pT: number[];
  /** dL/dp_k = upstream . v_k. */
  readonly dp: number[];
  /** sum_k p_k dp_k and sum_k pT_k dp_k. */
  readonly mean: { readonly plain: number; readonly tsg: number };
  /** dL/ds, plain: p * (dp - sum p dp). */
  readonly plain: number[];
  /** dL/ds with TSG: pT * (dp - sum pT dp). */
  readonly tsg: number[];
  /** The head's output z, and z with key 2 masked out (key 1 takes over: self-repair). */
  readonly output: number[];
  readonly outputWithoutKey2: number[];
}

/** Part 1, computed with autograd and the `softmaxTemperature` rule. */
export function tsgAtOneHead(): TsgAtOneHead {
  const scores = [0, 3, 3.2];
  const values = [
    [0, 1],
    [1, 0],
    [0.95, 0.05],
  ];
  const upstream = [1, 0];
  const temperature = 2;
  const s = variable(f64([scores])); // [1 query, 3 keys]
  const pattern = tagged(Tags.pattern, () => softmax(s, { causal: true })); // the attention softmax, as causalAttention records it
  const z = matmul(pattern, f64(values)); // [1, 2]
  const seed = f64([upstream]);
  const dsPlain = grad(z, [s], { seed })[0]!;
  const dsTsg = grad(z, [s], { seed, rules: [softmaxTemperature(temperature)] })[0]!;
  const [dp] = grad(z, [pattern], { seed });
  const p = list(pattern.value);
  const pT = list(T.div(T.exp(T.div(s.value, temperature)), T.sum(T.exp(T.div(s.value, temperature)))));
  const dpList = list(dp!);
  const dot = (w: number[]) => w.reduce((acc, wk, k) => acc + wk * dpList[k]!, 0);
  const without = T.div(T.exp(f64([scores[0]!, scores[1]!])), T.sum(T.exp(f64([scores[0]!, scores[1]!])))); // softmax over keys 0, 1
  return {
    scores,
    values,
    upstream,
    temperature,
    p,
    pT,
    dp: dpList,
    mean: { plain: dot(p), tsg: dot(pT) },
    plain: list(dsPlain),
    tsg: list(dsTsg),
    output: list(z.value),
    outputWithoutKey2: list(T.matmul(T.reshape(without, [1, 2]), f64(values.slice(0, 2)))),
  };
}

/** Part 2: one norm, plain and frozen. */
export interface NormExample {
  readonly x: number[];
  /** dL/dy: only output 2 matters downstream. */
  readonly upstream: number[];
  /** The norm's scale statistic: std (LayerNorm) or rms (RMSNorm). */
  readonly scale: number;
  readonly y: number[];
  readonly plain: number[];
  readonly frozen: number[];
}

/** Part 2, with the norms built as `layerNormLayer` / `rmsNormLayer` build them (scale as its own op, tagged). */
export function normFreezeExample(): { layerNorm: NormExample; rmsNorm: NormExample } {
  const x = [1, 2, 6];
  const upstream = [0, 0, 1];
  const ones = f64([1, 1, 1]);
  const run = (build: (input: Var) => { scale: Var; y: Var }): NormExample => {
    const input = variable(f64([x]));
    const { scale, y } = build(input);
    const seed = f64([upstream]);
    return {
      x,
      upstream,
      scale: scale.value.item(),
      y: list(y.value),
      plain: list(grad(y, [input], { seed })[0]!),
      frozen: list(grad(y, [input], { seed, rules: [freezeNorm()] })[0]!),
    };
  };
  return {
    layerNorm: run((input) => {
      const scale = tagged(Tags.normScale, () => std(input, { eps: 0 }));
      return { scale, y: layerNorm(input, scale, ones, f64([0, 0, 0])) };
    }),
    rmsNorm: run((input) => {
      const scale = tagged(Tags.normScale, () => rms(input, { eps: 0 }));
      return { scale, y: rmsNorm(input, scale, ones) };
    }),
  };
}

/** Part 3: y = gate * up, gradient x input of each factor, plain and with GIM's 1/2 scales. */
export interface ProductExample {
  readonly gate: number;
  readonly up: number;
  readonly y: number;
  /** [gate * dy/dgate, up * dy/dup] */
  readonly plain: number[];
  readonly scaled: number[];
}

/** Part 3, with `gradientScale("gate", 0.5)` and `gradientScale("up", 0.5)` on the tagged places. */
export function productScaleExample(): ProductExample {
  const [gate, up] = [2, 3];
  const g = variable(T.scalar(gate, { dtype: "float64" }));
  const u = variable(T.scalar(up, { dtype: "float64" }));
  const y = mul(tag(g, Tags.gate), tag(u, Tags.up)); // the product inside down(act(gate(x)) * up(x)), activation left out
  const times = (rules: Rule[]) => grad(y, [g, u], { rules }).map((d, i) => d.item() * [gate, up][i]!);
  return { gate, up, y: y.value.item(), plain: times([]), scaled: times([gradientScale("gate", 0.5), gradientScale("up", 0.5)]) };
}

const n = (v: number) => (Object.is(Math.round(v * 1e4), -0) ? 0 : v).toFixed(4);
const vec = (xs: readonly number[]) => `[${xs.map(n).join(", ")}]`;

/** The text the example prints (quoted in docs/how-gim-changes-backprop.md). */
export function report(): string {
  const a = tsgAtOneHead();
  const { layerNorm: ln, rmsNorm: rn } = normFreezeExample();
  const m = productScaleExample();
  return [
    "1. TSG at one attention head (one query, keys 0, 1, 2)",
    `   scores s            ${vec(a.scores)}`,
    `   values v_k          ${a.values.map(vec).join(" ")}`,
    `   dL/dz               ${vec(a.upstream)}`,
    `   p = softmax(s)      ${vec(a.p)}`,
    `   z = sum p_k v_k     ${vec(a.output)}   without key 2: ${vec(a.outputWithoutKey2)}`,
    `   dp_k = dL/dz . v_k  ${vec(a.dp)}`,
    `   plain:  sum p dp  = ${n(a.mean.plain)}   ds = p * (dp - sum p dp)    = ${vec(a.plain)}`,
    `   pT = softmax(s / ${a.temperature}) ${vec(a.pT)}`,
    `   TSG:    sum pT dp = ${n(a.mean.tsg)}   ds = pT * (dp - sum pT dp)  = ${vec(a.tsg)}`,
    "",
    "2. Norm freeze, x = [1, 2, 6], weight 1, bias 0, eps 0, dL/dy = [0, 0, 1]",
    `   LayerNorm: s = ${n(ln.scale)}, y = ${vec(ln.y)}`,
    `     plain  dx = ${vec(ln.plain)}`,
    `     frozen dx = ${vec(ln.frozen)}   = (g - mean g) / s`,
    `   RMSNorm:   r = ${n(rn.scale)}, y = ${vec(rn.y)}`,
    `     plain  dx = ${vec(rn.plain)}`,
    `     frozen dx = ${vec(rn.frozen)}   = dy * w / r`,
    "",
    `3. Gradient scaling, y = gate * up with gate = ${m.gate}, up = ${m.up}: y = ${m.y}`,
    `   gradient x input, plain:      gate ${n(m.plain[0]!)}, up ${n(m.plain[1]!)}, sum ${n(m.plain[0]! + m.plain[1]!)}`,
    `   with gate and up scaled 1/2:  gate ${n(m.scaled[0]!)}, up ${n(m.scaled[1]!)}, sum ${n(m.scaled[0]! + m.scaled[1]!)}`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) console.log(report());
