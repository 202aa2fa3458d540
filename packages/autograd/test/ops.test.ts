/**
 * Every registered op, table-driven: for random shapes (1-4 dims, sizes 1-5), broadcast
 * operands and non-contiguous input layouts (transposed, reversed with a step, expanded), the
 * forward is compared with a naive float64 reference written here, and the default backward
 * with finite differences and the dot-product test (`gradcheck`, float64).
 *
 * The table is typed `Record<OpName, OpCase>`: an op added to the registry without a case
 * here does not compile (`npx tsc -p tsconfig.test.json`).
 */
import fc from "fast-check";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { describe, expect, it } from "vitest";
import {
  abs, add, concat, crossEntropy, div, embedding, exp, expand, gelu, grad, gradcheck, identity, indexSelect, layerNorm, linear, log,
  logSoftmax, logsumexp, matmul, max, maximum, mean, minimum, mul, narrow, neg, opNames, ops, permute, pow, relu, reshape, rms, rmsNorm,
  rsqrt, sigmoid, silu, softmax, sqrt, std, sub, sum, tag, tanh, variable, where,
  type OpName, type ReduceAttrs, type Var,
} from "../src/index.js";
import {
  allIndices, at, atBroadcast, broadcastAll, build, count, expectClose, makeGen, mapN, matmulN, naive, reduceN, rowsN, valuesIn, zipN,
  type Domain, type Gen, type Layout, type Naive,
} from "./helpers.js";

/** One random instance of an op's test: differentiated inputs, the function, and a reference. */
interface Setup {
  /** The inputs gradcheck differentiates with respect to (float64). */
  readonly inputs: Tensor[];
  /** Applies the op (constants such as ids or a where-condition are closed over). */
  readonly fn: (...xs: Var[]) => Var;
  /** The forward computed naively from the logical input values. */
  readonly reference?: (xs: Naive[]) => Naive;
  /** Tolerance of the forward comparison (default 1e-10 abs, 1e-9 rel). */
  readonly refTol?: { atol: number; rtol: number };
  /** Further properties of the output (e.g. softmax rows sum to 1). */
  readonly check?: (out: Tensor, xs: Naive[]) => void;
}

/** An op's test cases: named variants, each building a random `Setup`. */
interface OpCase {
  readonly variants: Record<string, (g: Gen) => Setup>;
  /** fast-check runs per variant (default RUNS). */
  readonly numRuns?: number;
}

const RUNS = 100;

// ----- case builders shared by several ops

function unary(op: (x: Var) => Var, domain: Domain, f: (v: number) => number): OpCase {
  return { variants: { elementwise: (g) => ({ inputs: [g.draw(g.shape, domain)], fn: (x) => op(x), reference: ([x]) => mapN(x!, f) }) } };
}

/** Shapes of two operands: equal, or one broadcast against the other. */
function binaryShapes(g: Gen): [number[], number[]] {
  const s = [...g.shape];
  const mode = g.pick(["same", "aSmall", "bSmall"] as const);
  return mode === "same" ? [s, s] : mode === "aSmall" ? [g.partner(s), s] : [s, g.partner(s)];
}

function binary(op: (a: Var, b: Var) => Var, domainA: Domain, domainB: Domain, f: (a: number, b: number) => number): OpCase {
  return {
    variants: {
      broadcasting: (g) => {
        const [sa, sb] = binaryShapes(g);
        return { inputs: [g.draw(sa, domainA), g.draw(sb, domainB)], fn: (a, b) => op(a, b), reference: ([a, b]) => zipN([a!, b!], f) };
      },
    },
  };
}

/** maximum/minimum: operands whose every pair of compared values differs by at least 0.2. */
function minMax(op: (a: Var, b: Var) => Var, f: (a: number, b: number) => number): OpCase {
  return {
    variants: {
      broadcasting: (g) => {
        const [sa, sb] = binaryShapes(g);
        const pool = valuesIn([count(sa) + count(sb)], "distinct", g.rng).toFlat();
        const a = g.place(T.tensor(pool.subarray(0, count(sa)), { shape: sa, dtype: "float64" }));
        const b = g.place(T.tensor(pool.subarray(count(sa)), { shape: sb, dtype: "float64" }));
        return { inputs: [a, b], fn: (x, y) => op(x, y), reference: ([x, y]) => zipN([x!, y!], f) };
      },
    },
  };
}

/** Random reduction attributes: all axes, one (maybe negative) axis, or a shuffled subset; keepdims either way. */
function reduceAttrs(g: Gen, ndim: number): ReduceAttrs {
  const keepdims = g.pick([true, false]);
  const mode = g.int(0, 2);
  if (mode === 0) return { keepdims };
  if (mode === 1) return { axes: g.int(0, ndim - 1) - g.pick([0, ndim]), keepdims };
  const axes = g.rng.shuffle(Array.from({ length: ndim }, (_, i) => i)).slice(0, g.int(1, ndim));
  return { axes: axes.map((a) => a - g.pick([0, ndim])), keepdims };
}

function reduction(op: (x: Var, attrs: ReduceAttrs) => Var, domain: Domain, f: (vs: number[]) => number): OpCase {
  return {
    variants: {
      axes: (g) => {
        const attrs = reduceAttrs(g, g.shape.length);
        return {
          inputs: [g.draw(g.shape, domain)],
          fn: (x) => op(x, attrs),
          reference: ([x]) => reduceN(x!, attrs.axes, attrs.keepdims ?? false, f),
        };
      },
    },
  };
}

const sumOf = (vs: readonly number[]): number => vs.reduce((s, v) => s + v, 0);
const meanOf = (vs: readonly number[]): number => sumOf(vs) / vs.length;
const lse = (vs: readonly number[]): number => Math.log(sumOf(vs.map(Math.exp)));
const sigmoidOf = (v: number): number => 1 / (1 + Math.exp(-v));

/** The standard normal CDF by composite Simpson integration of the density (independent of erf). */
function normalCdf(x: number): number {
  const n = 400;
  const h = x / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const w = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2;
    s += w * Math.exp((-(i * h) * (i * h)) / 2);
  }
  return 0.5 + (s * h) / 3 / Math.sqrt(2 * Math.PI);
}
const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const geluExact = (v: number): number => v * normalCdf(v);

/** Per-row mean and population std (with eps) of the last axis, by hand. */
function rowStats(row: readonly number[], eps: number): { mu: number; sigma: number } {
  const mu = meanOf(row);
  return { mu, sigma: Math.sqrt(meanOf(row.map((v) => (v - mu) ** 2)) + eps) };
}

/** A random shape of the same size as `shape` (regrouped prime factors, ones inserted, maybe one -1). */
function reshapeTarget(g: Gen, shape: readonly number[]): { target: number[]; resolved: number[] } {
  const factors: number[] = [];
  for (let d of shape) {
    for (let p = 2; d > 1; p++) {
      while (d % p === 0) {
        factors.push(p);
        d /= p;
      }
    }
  }
  g.rng.shuffle(factors);
  const dims = g.int(1, 4);
  const resolved = new Array<number>(dims).fill(1);
  for (const f of factors) resolved[g.int(0, dims - 1)]! *= f;
  const target = [...resolved];
  if (g.pick([true, false])) target[g.int(0, dims - 1)] = -1;
  return { target, resolved };
}

// ----- the table

const cases: Record<OpName, OpCase> = {
  abs: unary((x) => abs(x), "awayFromZero", Math.abs),
  add: binary((a, b) => add(a, b), "normal", "normal", (a, b) => a + b),
  concat: {
    variants: {
      "2 or 3 inputs": (g) => {
        const s = [...g.shape];
        const k = g.int(2, 3);
        const ax = g.int(0, s.length - 1);
        const axis = ax - g.pick([0, s.length]);
        const shapes = Array.from({ length: k }, () => s.map((d, i) => (i === ax ? g.int(1, 4) : d)));
        return {
          inputs: shapes.map((sh) => g.draw(sh)),
          fn: (...xs) => concat(xs, { axis }),
          reference: (xs) => {
            const outShape = s.map((d, i) => (i === ax ? sumOf(shapes.map((sh) => sh[ax]!)) : d));
            return build(outShape, (idx) => {
              let j = idx[ax]!;
              let part = 0;
              while (j >= shapes[part]![ax]!) j -= shapes[part++]![ax]!;
              return at(xs[part]!, idx.map((v, i) => (i === ax ? j : v)));
            });
          },
        };
      },
    },
  },
  crossEntropy: {
    variants: {
      "random targets": (g) => {
        const n = g.shape[0]!;
        const v = Math.max(2, g.shape[g.shape.length - 1]!);
        const targets = g.ids(n, v);
        return {
          inputs: [g.draw([n, v])],
          fn: (logits) => crossEntropy(logits, { targets }),
          reference: ([x]) => {
            let total = 0;
            for (let i = 0; i < n; i++) {
              const row = Array.from({ length: v }, (_, j) => at(x!, [i, j]));
              total += lse(row) - row[targets[i]!]!;
            }
            return { shape: [], values: [total / n] };
          },
        };
      },
    },
  },
  div: binary((a, b) => div(a, b), "normal", "denominator", (a, b) => a / b),
  embedding: {
    variants: {
      "random ids": (g) => {
        const vocab = g.int(1, 5);
        const d = g.shape[g.shape.length - 1]!;
        const ids = g.ids(g.int(1, 6), vocab);
        return {
          inputs: [g.draw([vocab, d])],
          fn: (w) => embedding(w, { ids }),
          reference: ([w]) => build([ids.length, d], ([t, j]) => at(w!, [ids[t!]!, j!])),
        };
      },
    },
  },
  exp: unary((x) => exp(x), "normal", Math.exp),
  expand: {
    variants: {
      "to a broadcast shape": (g) => {
        const small = g.partner(g.shape);
        return {
          inputs: [g.draw(small)],
          fn: (x) => expand(x, { shape: g.shape }),
          reference: ([x]) => build(g.shape, (idx) => atBroadcast(x!, idx)),
        };
      },
    },
  },
  gelu: {
    variants: {
      "tanh (default)": (g) => ({ inputs: [g.draw(g.shape)], fn: (x) => gelu(x), reference: ([x]) => mapN(x!, geluTanh) }),
      exact: (g) => ({
        inputs: [g.draw(g.shape)],
        fn: (x) => gelu(x, { approximate: "none" }),
        reference: ([x]) => mapN(x!, geluExact),
        refTol: { atol: 1e-9, rtol: 1e-8 },
        check: (out, [x]) => expectClose(out, mapN(x!, geluTanh), 1e-3, 0, "exact gelu vs its tanh approximation"),
      }),
    },
  },
  identity: {
    variants: {
      identity: (g) => ({ inputs: [g.draw(g.shape)], fn: (x) => identity(x), reference: ([x]) => x! }),
      "tag()": (g) => ({ inputs: [g.draw(g.shape)], fn: (x) => mul(tag(x, "here"), 3), reference: ([x]) => mapN(x!, (v) => 3 * v) }),
    },
  },
  indexSelect: {
    variants: {
      "random ids": (g) => {
        const ax = g.int(0, g.shape.length - 1);
        const ids = g.ids(g.int(1, 5), g.shape[ax]!);
        const outShape = g.shape.map((d, i) => (i === ax ? ids.length : d));
        return {
          inputs: [g.draw(g.shape)],
          fn: (x) => indexSelect(x, { axis: ax - g.pick([0, g.shape.length]), ids }),
          reference: ([x]) => build(outShape, (idx) => at(x!, idx.map((v, i) => (i === ax ? ids[v]! : v)))),
        };
      },
    },
  },
  layerNorm: {
    variants: {
      "with its std inside (full gradient)": (g) => {
        const d = g.shape[g.shape.length - 1]!;
        const eps = d === 1 ? 1e-3 : g.pick([0, 1e-5]);
        return {
          inputs: [g.draw(g.shape, "rowSpread"), g.draw([d]), g.draw([d])],
          fn: (x, w, b) => layerNorm(x, std(x, { eps }), w, b),
          reference: ([x, w, b]) =>
            rowsN(x!, (row) => {
              const { mu, sigma } = rowStats(row, eps);
              return row.map((v, j) => ((v - mu) / sigma) * at(w!, [j]) + at(b!, [j]));
            }),
        };
      },
      "with an independent scale input": (g) => {
        const d = g.shape[g.shape.length - 1]!;
        const sShape = g.pick([true, false]) ? [...g.shape.slice(0, -1), 1] : [1];
        return {
          inputs: [g.draw(g.shape), g.draw(sShape, "positive"), g.draw([d]), g.draw([d])],
          fn: (x, s, w, b) => layerNorm(x, s, w, b),
          reference: ([x, s, w, b]) =>
            rowsN(x!, (row, r) => {
              const mu = meanOf(row);
              const sigma = s!.shape.length === 1 ? at(s!, [0]) : at(s!, [...r, 0]);
              return row.map((v, j) => ((v - mu) / sigma) * at(w!, [j]) + at(b!, [j]));
            }),
        };
      },
    },
  },
  linear: {
    variants: {
      "x [..., in] @ W^T": (g) => {
        const din = g.shape[g.shape.length - 1]!;
        const dout = g.int(1, 5);
        return {
          inputs: [g.draw(g.shape), g.draw([dout, din])],
          fn: (x, w) => linear(x, w),
          reference: ([x, w]) =>
            build([...g.shape.slice(0, -1), dout], (idx) => {
              let s = 0;
              for (let k = 0; k < din; k++) s += at(x!, [...idx.slice(0, -1), k]) * at(w!, [idx[idx.length - 1]!, k]);
              return s;
            }),
        };
      },
    },
  },
  log: unary((x) => log(x), "positive", Math.log),
  logSoftmax: {
    variants: {
      rows: (g) => ({
        inputs: [g.draw(g.shape)],
        fn: (x) => logSoftmax(x),
        reference: ([x]) => rowsN(x!, (row) => row.map((v) => v - lse(row))),
      }),
    },
  },
  logsumexp: reduction((x, attrs) => logsumexp(x, attrs), "normal", lse),
  matmul: {
    variants: {
      "batched, broadcast batch dims, 1-d operands": (g) => {
        const [m, k, n] = [g.int(1, 4), g.int(1, 4), g.int(1, 4)];
        const batch = g.shape.slice(0, g.int(0, Math.min(2, g.shape.length)));
        const mode = g.pick(["matrix", "batched", "vector left", "vector right", "two vectors"] as const);
        let sa: number[];
        let sb: number[];
        if (mode === "matrix") [sa, sb] = [[m, k], [k, n]];
        else if (mode === "batched") {
          const [ba, bb] = g.pick([true, false]) ? [batch, g.partner(batch.length ? batch : [1])] : [g.partner(batch.length ? batch : [1]), batch];
          [sa, sb] = [[...ba, m, k], [...bb, k, n]];
        } else if (mode === "vector left") [sa, sb] = [[k], [...batch, k, n]];
        else if (mode === "vector right") [sa, sb] = [[...batch, m, k], [k]];
        else [sa, sb] = [[k], [k]];
        return { inputs: [g.draw(sa), g.draw(sb)], fn: (a, b) => matmul(a, b), reference: ([a, b]) => matmulN(a!, b!) };
      },
    },
  },
  max: reduction((x, attrs) => max(x, attrs), "distinct", (vs) => Math.max(...vs)),
  maximum: minMax((a, b) => maximum(a, b), Math.max),
  mean: reduction((x, attrs) => mean(x, attrs), "normal", meanOf),
  minimum: minMax((a, b) => minimum(a, b), Math.min),
  mul: binary((a, b) => mul(a, b), "normal", "normal", (a, b) => a * b),
  narrow: {
    variants: {
      "random window": (g) => {
        const ax = g.int(0, g.shape.length - 1);
        const d = g.shape[ax]!;
        const start = g.int(0, d - 1);
        const length = g.int(1, d - start);
        const attrs = { axis: ax, start: start - g.pick([0, d]), length };
        return {
          inputs: [g.draw(g.shape)],
          fn: (x) => narrow(x, attrs),
          reference: ([x]) => build(g.shape.map((s, i) => (i === ax ? length : s)), (idx) => at(x!, idx.map((v, i) => (i === ax ? v + start : v)))),
        };
      },
    },
  },
  neg: unary((x) => neg(x), "normal", (v) => -v),
  permute: {
    variants: {
      "random axes": (g) => {
        const nd = g.shape.length;
        const axes = g.rng.shuffle(Array.from({ length: nd }, (_, i) => i));
        return {
          inputs: [g.draw(g.shape)],
          fn: (x) => permute(x, { axes: axes.map((a) => a - g.pick([0, nd])) }),
          reference: ([x]) =>
            build(axes.map((a) => g.shape[a]!), (idx) => {
              const src = new Array<number>(nd);
              axes.forEach((a, i) => (src[a] = idx[i]!));
              return at(x!, src);
            }),
        };
      },
    },
  },
  pow: binary((a, b) => pow(a, b), "positive", "normal", Math.pow),
  relu: unary((x) => relu(x), "awayFromZero", (v) => Math.max(v, 0)),
  reshape: {
    variants: {
      "regrouped shape": (g) => {
        const { target, resolved } = reshapeTarget(g, g.shape);
        return { inputs: [g.draw(g.shape)], fn: (x) => reshape(x, { shape: target }), reference: ([x]) => ({ shape: resolved, values: x!.values }) };
      },
    },
  },
  rms: {
    variants: {
      "last axis": (g) => {
        const eps = g.pick([0, 1e-5]);
        return {
          inputs: [g.draw(g.shape, "awayFromZero")],
          fn: (x) => rms(x, { eps }),
          reference: ([x]) => reduceN(x!, -1, true, (row) => Math.sqrt(meanOf(row.map((v) => v * v)) + eps)),
        };
      },
    },
  },
  rmsNorm: {
    variants: {
      "with its rms inside (full gradient)": (g) => {
        const d = g.shape[g.shape.length - 1]!;
        const eps = g.pick([0, 1e-5]);
        return {
          inputs: [g.draw(g.shape, "awayFromZero"), g.draw([d])],
          fn: (x, w) => rmsNorm(x, rms(x, { eps }), w),
          reference: ([x, w]) =>
            rowsN(x!, (row) => {
              const r = Math.sqrt(meanOf(row.map((v) => v * v)) + eps);
              return row.map((v, j) => (v / r) * at(w!, [j]));
            }),
        };
      },
      "with an independent scale input": (g) => {
        const d = g.shape[g.shape.length - 1]!;
        const sShape = g.pick([true, false]) ? [...g.shape.slice(0, -1), 1] : [1];
        return {
          inputs: [g.draw(g.shape), g.draw(sShape, "positive"), g.draw([d])],
          fn: (x, s, w) => rmsNorm(x, s, w),
          reference: ([x, s, w]) =>
            rowsN(x!, (row, r) => {
              const scale = s!.shape.length === 1 ? at(s!, [0]) : at(s!, [...r, 0]);
              return row.map((v, j) => (v / scale) * at(w!, [j]));
            }),
        };
      },
    },
  },
  rsqrt: unary((x) => rsqrt(x), "positive", (v) => 1 / Math.sqrt(v)),
  sigmoid: unary((x) => sigmoid(x), "normal", sigmoidOf),
  silu: unary((x) => silu(x), "normal", (v) => v * sigmoidOf(v)),
  softmax: {
    variants: {
      rows: (g) => ({
        inputs: [g.draw(g.shape)],
        fn: (x) => softmax(x),
        reference: ([x]) => rowsN(x!, (row) => row.map((v) => Math.exp(v) / sumOf(row.map(Math.exp)))),
        check: (out) => {
          const rowSums = reduceN(naive(out), -1, false, sumOf);
          rowSums.values.forEach((s) => expect(s).toBeCloseTo(1, 12));
        },
      }),
      causal: (g) => {
        // At least as many keys (last dim) as queries, so every query sees a key.
        const s = [...g.shape];
        if (s.length >= 2 && s[s.length - 2]! > s[s.length - 1]!) [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1]!, s[s.length - 2]!];
        const rows = s.length >= 2 ? s[s.length - 2]! : 1;
        const cols = s[s.length - 1]!;
        return {
          inputs: [g.draw(s)],
          fn: (x) => softmax(x, { causal: true }),
          reference: ([x]) =>
            rowsN(x!, (row, r) => {
              const i = s.length >= 2 ? r[r.length - 1]! : 0;
              const visible = row.map((_, j) => j <= i + (cols - rows));
              const z = sumOf(row.map((v, j) => (visible[j] ? Math.exp(v) : 0)));
              return row.map((v, j) => (visible[j] ? Math.exp(v) / z : 0));
            }),
          check: (out) => reduceN(naive(out), -1, false, sumOf).values.forEach((v) => expect(v).toBeCloseTo(1, 12)),
        };
      },
      "causal, sliding window": (g) => {
        const s = [...g.shape];
        if (s.length < 2) s.unshift(1);
        if (s[s.length - 2]! > s[s.length - 1]!) [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1]!, s[s.length - 2]!];
        const rows = s[s.length - 2]!;
        const cols = s[s.length - 1]!;
        const window = g.pick([1, 2, 3]);
        return {
          inputs: [g.draw(s)],
          fn: (x) => softmax(x, { causal: true, window }),
          reference: ([x]) =>
            rowsN(x!, (row, r) => {
              const last = r[r.length - 1]! + (cols - rows); // the last key this query sees
              const visible = row.map((_, j) => j <= last && j > last - window);
              const z = sumOf(row.map((v, j) => (visible[j] ? Math.exp(v) : 0)));
              return row.map((v, j) => (visible[j] ? Math.exp(v) / z : 0));
            }),
          check: (out) => reduceN(naive(out), -1, false, sumOf).values.forEach((v) => expect(v).toBeCloseTo(1, 12)),
        };
      },
    },
  },
  sqrt: unary((x) => sqrt(x), "positive", Math.sqrt),
  std: {
    variants: {
      "last axis": (g) => {
        const d = g.shape[g.shape.length - 1]!;
        const eps = d === 1 ? 1e-3 : g.pick([0, 1e-5]);
        return {
          inputs: [g.draw(g.shape, "rowSpread")],
          fn: (x) => std(x, { eps }),
          reference: ([x]) => reduceN(x!, -1, true, (row) => rowStats(row, eps).sigma),
        };
      },
    },
  },
  sub: binary((a, b) => sub(a, b), "normal", "normal", (a, b) => a - b),
  sum: reduction((x, attrs) => sum(x, attrs), "normal", sumOf),
  tanh: unary((x) => tanh(x), "normal", Math.tanh),
  where: {
    variants: {
      "random constant condition, broadcasting": (g) => {
        const pickShape = () => (g.pick([true, false]) ? [...g.shape] : g.partner(g.shape));
        const [sc, sa, sb] = [pickShape(), pickShape(), pickShape()];
        const cond = T.tensor(g.ids(count(sc), 2), { shape: sc, dtype: "float64" });
        return {
          inputs: [g.draw(sa), g.draw(sb)],
          fn: (a, b) => where(cond, a, b),
          reference: ([a, b]) => zipN([naive(cond), a!, b!], (c, x, y) => (c !== 0 ? x : y)),
        };
      },
    },
  },
};

// ----- the harness

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });
const layoutArb = fc.constantFrom<Layout | "mixed">("contiguous", "transposed", "reversed", "expanded", "mixed");
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function runCase(variant: (g: Gen) => Setup, shape: number[], seed: number, layout: Layout | "mixed"): void {
  const where_ = `shape ${JSON.stringify(shape)}, seed ${seed}, layout ${layout}`;
  const setup = variant(makeGen(shape, seed, layout));
  const before = setup.inputs.map(naive);
  const out = setup.fn(...setup.inputs.map((t) => variable(t))).value;
  if (setup.reference) {
    const tol = setup.refTol ?? { atol: 1e-10, rtol: 1e-9 };
    expectClose(out, setup.reference(before), tol.atol, tol.rtol, `forward (${where_})`);
  }
  setup.check?.(out, before);
  const report = gradcheck(setup.fn, setup.inputs, { seed, maxElements: 24, directions: 2 });
  if (!report.ok) throw new Error(`${report.format()}\n(${where_}, input layouts ${setup.inputs.map((t) => `strides [${t.strides}]`).join(", ")})`);
  // Nothing mutated its inputs.
  setup.inputs.forEach((t, i) => expect(naive(t).values, `input ${i} unchanged`).toEqual(before[i]!.values));
}

describe("every registered op", () => {
  it("has a case in the table (and nothing else is in it)", () => {
    expect(Object.keys(cases).sort()).toEqual([...opNames].sort());
  });

  it("is registered under its own name, and helpers of the op files (split, transpose, tag, ...) are not ops", () => {
    for (const name of opNames) expect(ops[name].def.name).toBe(name);
    for (const helper of ["split", "transpose", "tag", "squeeze", "unsqueeze", "flatten"]) expect(opNames).not.toContain(helper);
  });

  for (const name of opNames) {
    const opCase = cases[name];
    describe(name, () => {
      for (const [variantName, variant] of Object.entries(opCase.variants)) {
        it(`${variantName}: forward vs naive reference, gradcheck over shapes, broadcasting and layouts`, () => {
          fc.assert(
            fc.property(shapeArb, seedArb, layoutArb, (shape, seed, layout) => runCase(variant, shape, seed, layout)),
            { numRuns: opCase.numRuns ?? RUNS },
          );
        });
      }
    });
  }
});

describe("op specifics", () => {
  it("gelu: exact and tanh forms differ (so the exact form is not silently the approximation) but by under 1e-3", () => {
    const xs = T.tensor(Array.from({ length: 121 }, (_, i) => -6 + i * 0.1), { dtype: "float64" });
    const exact = naive(gelu(variable(xs), { approximate: "none" }).value).values;
    const approx = naive(gelu(variable(xs)).value).values;
    const diffs = exact.map((v, i) => Math.abs(v - approx[i]!));
    expect(Math.max(...diffs)).toBeLessThan(1e-3);
    expect(Math.max(...diffs)).toBeGreaterThan(1e-5);
  });

  it("softmax: a sliding window needs causal: true and a whole number of keys >= 1", () => {
    const x = variable(T.zeros([2, 3], { dtype: "float64" }));
    expect(() => softmax(x, { window: 2 })).toThrow(/sliding window needs causal: true/);
    expect(() => softmax(x, { causal: true, window: 0 })).toThrow(/window must be an integer >= 1, got 0/);
    expect(() => softmax(x, { causal: true, window: 1.5 })).toThrow(/window must be an integer >= 1, got 1.5/);
  });

  it("softmax: a causal softmax with more queries than keys is refused (a query would see no key)", () => {
    expect(() => softmax(variable(T.zeros([3, 2], { dtype: "float64" })), { causal: true })).toThrow(/softmax.*\[3, 2\].*queries <= keys/);
  });

  it("layerNorm: the full gradient differs from the frozen-std one by the std's own backward", () => {
    const x = valuesIn([2, 5], "rowSpread", new T.Rng(4));
    const w = T.randNormal([5], { seed: 5, dtype: "float64" });
    const b = T.randNormal([5], { seed: 6, dtype: "float64" });
    const xv = variable(x);
    const s = std(xv, { eps: 0 });
    const y = layerNorm(xv, s, w, b);
    const u = T.randNormal([2, 5], { seed: 7, dtype: "float64" });
    const [full] = gradFor(y, xv, u);
    // Freezing s: the gradient through x only, (g - mean g) / s with g = u * w.
    const frozen = rowsOfTensor(T.mul(u, w)).map((g, r) => {
      const sr = s.value.get(r, 0);
      return g.map((v) => (v - meanOf(g)) / sr);
    });
    // The full one adds ds * (x - mean) / (n s) with ds = -sum(g * (x - mean)) / s^2; check it by hand.
    const xr = rowsOfTensor(x);
    const gr = rowsOfTensor(T.mul(u, w));
    const expected = xr.map((row, r) => {
      const mu = meanOf(row);
      const sr = s.value.get(r, 0);
      const ds = -sumOf(row.map((v, j) => gr[r]![j]! * (v - mu))) / (sr * sr);
      return row.map((v, j) => frozen[r]![j]! + (ds * (v - mu)) / (row.length * sr));
    });
    expectClose(full!, { shape: [2, 5], values: expected.flat() }, 1e-12, 1e-10, "full layerNorm gradient");
  });

  it("ties and kinks follow the documented subgradient conventions", () => {
    const x = variable(T.tensor([1, 3, 3, -2], { dtype: "float64" }));
    const dy = T.scalar(2, { dtype: "float64" });
    // max: tied maxima share the upstream gradient evenly.
    expect([...grad(max(x), [x], { seed: dy })[0]!.toFlat()]).toEqual([0, 1, 1, 0]);
    // maximum / minimum: a tie splits the gradient in half between the operands.
    const a = variable(T.tensor([1, 2], { dtype: "float64" }));
    const b = variable(T.tensor([1, 5], { dtype: "float64" }));
    const seed = T.tensor([4, 4], { dtype: "float64" });
    expect(grad(maximum(a, b), [a, b], { seed }).map((g) => [...g.toFlat()])).toEqual([[2, 0], [2, 4]]);
    expect(grad(minimum(a, b), [a, b], { seed }).map((g) => [...g.toFlat()])).toEqual([[2, 4], [2, 0]]);
    // abs and relu at 0: gradient 0.
    const z = variable(T.tensor([0, -1, 2], { dtype: "float64" }));
    const s3 = T.tensor([1, 1, 1], { dtype: "float64" });
    expect([...grad(abs(z), [z], { seed: s3 })[0]!.toFlat()]).toEqual([0, -1, 1]);
    expect([...grad(relu(z), [z], { seed: s3 })[0]!.toFlat()]).toEqual([0, 0, 1]);
  });

  it("broadcast helper shapes used by the table agree with NumPy rules", () => {
    expect(broadcastAll([2, 1, 3], [4, 1], [3])).toEqual([2, 4, 3]);
    expect(allIndices([2, 2])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
  });
});

function gradFor(y: Var, x: Var, seed: Tensor): Tensor[] {
  return grad(y, [x], { seed });
}

function rowsOfTensor(t: Tensor): number[][] {
  const n = naive(t);
  const d = n.shape[n.shape.length - 1]!;
  const out: number[][] = [];
  for (let k = 0; k < n.values.length; k += d) out.push(n.values.slice(k, k + d));
  return out;
}
