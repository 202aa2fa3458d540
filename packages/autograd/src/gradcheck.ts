/**
 * `gradcheck(fn, inputs)`: checks the backward of `fn` (the default backwards of its ops, or
 * the rules passed in `options.rules`) against central finite differences, in float64.
 *
 * With `u` a random upstream gradient of the output's shape (seeded, so a backward that is
 * only right for an all-ones seed fails), `f(x) = <u, fn(x)>` is a scalar and `grad` with
 * `seed: u` claims to compute its gradient. Two checks:
 *
 * 1. element by element: `(f(x + h e_k) - f(x - h e_k)) / 2h` against the analytic gradient,
 *    for every element of small inputs and a random subset of `maxElements` elements of larger
 *    ones;
 * 2. the dot-product test: `<J v, u> = <v, J^T u>` for random directions `v` over all inputs
 *    at once, with `J v` by central differences (this covers every element of large inputs).
 *
 * Float32 inputs are refused: with 24-bit mantissas the rounding error of a difference
 * quotient (about 1e-7 / h) swamps its truncation error (about h^2) for every step h, so
 * float32 finite differences cannot tell a right backward from a slightly wrong one.
 */
import * as T from "@gim/tensor";
import { formatShape, Rng, Tensor, InputError } from "@gim/tensor";
import { isRecording, noGrad } from "./context.js";
import { grad } from "./grad.js";
import type { Rule } from "./rules.js";
import { variable, Var } from "./var.js";

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /**
   * Finite-difference step (default 1e-6): `eps * max(1, |x_k|)` for one element; the dot-product
   * test steps `eps` along a direction of standard normal entries.
   */
  eps?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-5): a pair passes when `|a - n| <= atol + rtol * max(|a|, |n|)`. */
  rtol?: number;
  /** Seed of the upstream gradient `u`, the sampled elements and the directions (default 0). */
  seed?: number;
  /** Backward rules for the analytic gradient (check a custom rule that is meant to be exact). */
  rules?: readonly Rule[];
  /** Inputs with more elements than this are checked at a random subset of this many elements (default 256). */
  maxElements?: number;
  /** Number of random directions of the dot-product test (default 3). */
  directions?: number;
}

/** One element whose analytic and numeric derivatives differ. */
export interface GradcheckFailure {
  /** Position of the input in `inputs`. */
  readonly input: number;
  /** Multi-index of the element within that input. */
  readonly index: readonly number[];
  /** From `grad` (the backward under test). */
  readonly analytic: number;
  /** From central differences. */
  readonly numeric: number;
}

/** One direction of the dot-product test. */
export interface DotProductDirection {
  /** `<J v, u>`, with `J v` by central differences. */
  readonly jvDotU: number;
  /** `<v, J^T u>`, with `J^T u` from `grad`. */
  readonly vDotJtu: number;
  /** `|jvDotU - vDotJtu|`. */
  readonly absError: number;
  /** Whether this direction passed (tolerance relative to the sum of |v_k (J^T u)_k|). */
  readonly ok: boolean;
}

/** The dot-product test's part of the report. */
export interface DotProductReport {
  /** Whether every direction passed. */
  readonly ok: boolean;
  /** One entry per random direction. */
  readonly directions: readonly DotProductDirection[];
  /** Largest `absError` over the directions. */
  readonly maxAbsError: number;
  /** Largest `|lhs - rhs| / max(|lhs|, |rhs|)` (0 when both are 0). */
  readonly maxRelError: number;
}

/** What was checked of one input. */
export interface GradcheckInputSummary {
  /** The input's shape. */
  readonly shape: readonly number[];
  /** Elements compared one by one. */
  readonly checked: number;
  /** True when `checked` is a random subset (the input has more than `maxElements` elements). */
  readonly sampled: boolean;
}

/** Failures kept in a report (the count of all of them is `failureCount`). */
const MAX_FAILURES_KEPT = 50;

/** The result of {@link gradcheck}; `format()` (or `toString()`) renders it for people. */
export class GradcheckReport {
  /** True when every element and every direction passed. */
  readonly ok: boolean;
  /** Largest `|analytic - numeric|` over the checked elements. */
  readonly maxAbsError: number;
  /**
   * Largest `|analytic - numeric| / max(|analytic|, |numeric|)` over the checked elements
   * whose derivative exceeds `atol` in size (below that, relative error is noise).
   */
  readonly maxRelError: number;
  /** The first failing elements (at most 50; see `failureCount`). */
  readonly failures: readonly GradcheckFailure[];
  /** How many elements failed in all. */
  readonly failureCount: number;
  /** The dot-product test's results. */
  readonly dotProduct: DotProductReport;
  /** What was checked of each input. */
  readonly inputs: readonly GradcheckInputSummary[];
  /** Shape of `fn`'s output. */
  readonly outputShape: readonly number[];
  /** The tolerances and step used. */
  readonly settings: { readonly eps: number; readonly atol: number; readonly rtol: number; readonly rules: readonly string[] };

  /** Built by {@link gradcheck}. */
  constructor(fields: Omit<GradcheckReport, "ok" | "format" | "toString">) {
    this.maxAbsError = fields.maxAbsError;
    this.maxRelError = fields.maxRelError;
    this.failures = fields.failures;
    this.failureCount = fields.failureCount;
    this.dotProduct = fields.dotProduct;
    this.inputs = fields.inputs;
    this.outputShape = fields.outputShape;
    this.settings = fields.settings;
    this.ok = fields.failureCount === 0 && fields.dotProduct.ok;
  }

  /** A multi-line, human-readable account: verdict, errors, the first failing elements. */
  format(): string {
    const { eps, atol, rtol, rules } = this.settings;
    const checked = this.inputs.reduce((n, s) => n + s.checked, 0);
    const lines: string[] = [];
    const ruleNote = rules.length ? `, rules: ${rules.join(", ")}` : "";
    lines.push(
      `gradcheck ${this.ok ? "passed" : "FAILED"}: ${this.inputs.length} input(s) ${this.inputs.map((s) => formatShape(s.shape)).join(", ")} -> output ${formatShape(this.outputShape)}` +
        ` (eps ${eps.toExponential()}, atol ${atol.toExponential()}, rtol ${rtol.toExponential()}${ruleNote})`,
    );
    const sampled = this.inputs.some((s) => s.sampled) ? " (large inputs sampled)" : "";
    lines.push(
      `  finite differences: ${this.failureCount} of ${checked} elements differ${sampled}; max abs error ${fmt(this.maxAbsError)}, max rel error ${fmt(this.maxRelError)}`,
    );
    for (const f of this.failures.slice(0, 10)) {
      lines.push(`    input ${f.input} ${formatShape(this.inputs[f.input]!.shape)} at [${f.index.join(", ")}]: analytic ${fmt(f.analytic)}, numeric ${fmt(f.numeric)}`);
    }
    if (this.failureCount > 10) lines.push(`    ... and ${this.failureCount - 10} more`);
    const dp = this.dotProduct;
    lines.push(`  dot-product test <J v, u> = <v, J^T u>: ${dp.ok ? "passed" : "FAILED"} over ${dp.directions.length} direction(s); max abs error ${fmt(dp.maxAbsError)}, max rel error ${fmt(dp.maxRelError)}`);
    dp.directions.forEach((d, i) => {
      if (!d.ok) lines.push(`    direction ${i}: <J v, u> = ${fmt(d.jvDotU)} but <v, J^T u> = ${fmt(d.vDotJtu)}`);
    });
    return lines.join("\n");
  }

  /** Same as `format()`. */
  toString(): string {
    return this.format();
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) && v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(6)));
}

/**
 * Checks the gradient of `fn` at `inputs` (float64 tensors, any layout) against central finite
 * differences and with the dot-product test; see the module comment. `fn` must be a pure
 * function of its inputs (no randomness) built from autograd ops. Returns a report; use
 * {@link assertGradcheck} to throw on failure.
 *
 * ```ts
 * const report = gradcheck((x) => softmax(x), [T.randNormal([3, 4], { dtype: "float64" })]);
 * report.ok; report.format();
 * ```
 */
export function gradcheck(fn: (...xs: Var[]) => Var, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, seed = 0, rules = [], maxElements = 256, directions = 3 } = options;
  checkArguments(fn, inputs, { eps, atol, rtol, maxElements, directions });
  if (!isRecording()) throw new Error("gradcheck: called inside noGrad(), where no graph is recorded; call it outside");
  const rng = new Rng(seed);

  // The analytic gradient of <u, fn(x)>, at the inputs exactly as given (views included).
  const vars = inputs.map((t, i) => variable(t, `x${i}`));
  const y = callFn(fn, vars);
  checkFinite(y.value, "fn(inputs)");
  const u = T.randNormal(y.shape, { rng, dtype: "float64" });
  const analytic = grad(y, vars, { seed: u, rules });

  const f = (xs: readonly Tensor[]): number => dot(u, noGrad(() => callFn(fn, xs.map((t, i) => variable(t, `x${i}`)))).value);
  const passes = (a: number, n: number): boolean => Math.abs(a - n) <= atol + rtol * Math.max(Math.abs(a), Math.abs(n));

  // 1. Element by element.
  const failures: GradcheckFailure[] = [];
  let failureCount = 0;
  let maxAbsError = 0;
  let maxRelError = 0;
  const summaries: GradcheckInputSummary[] = [];
  inputs.forEach((x, i) => {
    const work = perturbable(x);
    const elements = chooseElements(x.size, maxElements, rng);
    const ga = T.contiguousData(analytic[i]!);
    const args = [...inputs];
    args[i] = work.tensor;
    for (const k of elements) {
      const at = work.storageIndex[k]!;
      const original = work.tensor.data[at]!;
      const h = eps * Math.max(1, Math.abs(original));
      work.tensor.data[at] = original + h;
      const plus = f(args);
      const stepUp = work.tensor.data[at]! - original;
      work.tensor.data[at] = original - h;
      const minus = f(args);
      const stepDown = original - work.tensor.data[at]!;
      work.tensor.data[at] = original;
      const numeric = (plus - minus) / (stepUp + stepDown);
      const a = ga[k]!;
      const absError = Math.abs(a - numeric);
      const size = Math.max(Math.abs(a), Math.abs(numeric));
      if (Number.isNaN(absError) || absError > maxAbsError) maxAbsError = absError;
      if (size > atol && absError / size > maxRelError) maxRelError = absError / size;
      if (!passes(a, numeric)) {
        failureCount++;
        if (failures.length < MAX_FAILURES_KEPT) failures.push({ input: i, index: unravel(k, x.shape), analytic: a, numeric });
      }
    }
    summaries.push({ shape: [...x.shape], checked: elements.length, sampled: elements.length < x.size });
  });

  // 2. The dot-product test over all inputs at once.
  const dirs: DotProductDirection[] = [];
  for (let d = 0; d < directions; d++) {
    const v = inputs.map((x) => T.randNormal(x.shape, { rng, dtype: "float64" }));
    const plus = f(inputs.map((x, i) => T.add(x, T.mul(v[i]!, eps))));
    const minus = f(inputs.map((x, i) => T.sub(x, T.mul(v[i]!, eps))));
    const jvDotU = (plus - minus) / (2 * eps);
    let vDotJtu = 0;
    let scale = 0; // sum of |v_k g_k|: the size the rounding of <v, J^T u> is relative to
    v.forEach((vi, i) => {
      const a = T.contiguousData(vi);
      const b = T.contiguousData(analytic[i]!);
      for (let k = 0; k < a.length; k++) {
        vDotJtu += a[k]! * b[k]!;
        scale += Math.abs(a[k]! * b[k]!);
      }
    });
    const absError = Math.abs(jvDotU - vDotJtu);
    const ok = absError <= atol + rtol * Math.max(Math.abs(jvDotU), Math.abs(vDotJtu), scale);
    dirs.push({ jvDotU, vDotJtu, absError, ok });
  }
  const dpAbs = dirs.reduce((m, d) => (Number.isNaN(d.absError) ? Number.NaN : Math.max(m, d.absError)), 0);
  const dpRel = dirs.reduce((m, d) => {
    const size = Math.max(Math.abs(d.jvDotU), Math.abs(d.vDotJtu));
    return size === 0 ? m : Math.max(m, d.absError / size);
  }, 0);

  return new GradcheckReport({
    maxAbsError,
    maxRelError,
    failures,
    failureCount,
    dotProduct: { ok: dirs.every((d) => d.ok), directions: dirs, maxAbsError: dpAbs, maxRelError: dpRel },
    inputs: summaries,
    outputShape: [...y.shape],
    settings: { eps, atol, rtol, rules: rules.map((r) => r.name) },
  });
}

/** Runs {@link gradcheck} and throws an Error carrying the formatted report when it fails; returns the report otherwise. */
export function assertGradcheck(fn: (...xs: Var[]) => Var, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const report = gradcheck(fn, inputs, options);
  if (!report.ok) throw new Error(report.format());
  return report;
}

function checkArguments(
  fn: unknown,
  inputs: readonly Tensor[],
  o: { eps: number; atol: number; rtol: number; maxElements: number; directions: number },
): void {
  if (typeof fn !== "function") throw new InputError("gradcheck: the first argument must be a function of Vars returning a Var");
  if (!Array.isArray(inputs) || inputs.length === 0) throw new InputError("gradcheck: pass a non-empty array of input tensors");
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) {
      throw new InputError(`gradcheck: input ${i} is ${x instanceof Var ? "a Var; pass its tensor (x.value)" : "not a Tensor"}`);
    }
    if (x.dtype !== "float64") {
      throw new InputError(
        `gradcheck: input ${i} (${formatShape(x.shape)}) is ${x.dtype}; gradient checks need float64, because float32 finite differences ` +
          `are dominated by rounding error (about 1e-7 / step) and cannot tell a right gradient from a wrong one. Convert with T.astype(x, "float64")`,
      );
    }
    checkFinite(x, `input ${i}`);
  });
  if (!(o.eps > 0 && o.eps < 1)) throw new InputError(`gradcheck: eps must be in (0, 1), got ${o.eps}`);
  if (!(o.atol >= 0) || !(o.rtol >= 0)) throw new InputError(`gradcheck: atol and rtol must be >= 0, got ${o.atol} and ${o.rtol}`);
  if (!Number.isInteger(o.maxElements) || o.maxElements < 1) throw new InputError(`gradcheck: maxElements must be a positive integer, got ${o.maxElements}`);
  if (!Number.isInteger(o.directions) || o.directions < 0) throw new InputError(`gradcheck: directions must be a non-negative integer, got ${o.directions}`);
}

function callFn(fn: (...xs: Var[]) => Var, xs: Var[]): Var {
  const y = fn(...xs);
  if (!(y instanceof Var)) throw new InputError(`gradcheck: fn must return a Var, got ${y === null ? "null" : typeof y}`);
  if (y.dtype !== "float64") {
    throw new InputError(`gradcheck: fn returned a ${y.dtype} output of shape ${formatShape(y.shape)}; keep the whole computation in float64 (constants included)`);
  }
  return y;
}

function checkFinite(t: Tensor, what: string): void {
  const data = T.contiguousData(t);
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new InputError(`gradcheck: ${what} has a non-finite value (${data[bad]}) at [${unravel(bad, t.shape).join(", ")}]; check inside the function's domain`);
  }
}

function dot(a: Tensor, b: Tensor): number {
  const x = T.contiguousData(a);
  const y = T.contiguousData(b);
  if (x.length !== y.length) throw new InputError(`gradcheck: fn returned outputs of different shapes (${x.length} vs ${y.length} elements) for nearby inputs`);
  let s = 0;
  for (let k = 0; k < x.length; k++) s += x[k]! * y[k]!;
  return s;
}

/**
 * A private copy of `x` to perturb one element at a time. When no two elements of `x` share
 * storage, the copy keeps x's layout (strides, offset), so `fn` sees the same kind of view the
 * analytic pass saw; a broadcast view (stride 0) cannot have one element changed alone, so it
 * is materialised.
 */
function perturbable(x: Tensor): { tensor: Tensor; storageIndex: number[] } {
  const storageIndex: number[] = [];
  T.forEachIndex(x, (s) => void storageIndex.push(s));
  if (new Set(storageIndex).size === storageIndex.length) {
    return { tensor: new Tensor(x.data.slice(), x.shape, x.strides, x.offset), storageIndex };
  }
  return { tensor: T.clone(x), storageIndex: Array.from({ length: x.size }, (_, k) => k) };
}

/** All flat indices below `size`, or `limit` distinct random ones (sorted) when there are more. */
function chooseElements(size: number, limit: number, rng: Rng): number[] {
  const all = Array.from({ length: size }, (_, k) => k);
  if (size <= limit) return all;
  return rng.shuffle(all).slice(0, limit).sort((a, b) => a - b);
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let i = shape.length - 1; i >= 0; i--) {
    index[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return index;
}
