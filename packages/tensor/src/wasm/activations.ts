/**
 * WebAssembly SIMD kernels for the float32 activations of transformer MLPs, written with the
 * emitter: the tanh GELU and SiLU, forward and backward, four elements at a time. Both are
 * built on one `f32x4` exponential (range reduction by ln 2, a degree-6 polynomial, the
 * power of two put into the exponent bits: within 2 ulp of float32 `exp`), since
 *   gelu_tanh(x) = x / (1 + exp(-2u)),  u = c (x + 0.044715 x^3),  c = sqrt(2 / pi)
 *   silu(x)      = x / (1 + exp(-x))
 * (`1/2 (1 + tanh u) = 1 / (1 + exp(-2u))`). Each kernel reads and writes `n` floats rounded up
 * to a multiple of 4 at byte offsets of the memory; the caller ignores the padding lanes.
 */
import { FunctionBuilder, Module, type Local, type MemoryImport } from "./emit.js";

const C = Math.sqrt(2 / Math.PI);
const K = 0.044715;
const LOG2E = Math.LOG2E;
// ln 2 split in two so that n * LN2_HI is exact for |n| <= 128 (Cephes).
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
// exp(r) - 1 - r on [-ln2/2, ln2/2], as r^2 (P0 + r (P1 + ...)) (Cephes expf).
const EXP_POLY = [5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2, 8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4];
// Arguments beyond these overflow or underflow float32 exp.
const EXP_MAX = 88.3762626647949;
const EXP_MIN = -88.3762626647949;

/** The exports of the activation module: byte offsets and a count of floats. */
export interface ActivationExports {
  gelu_tanh_f32(x: number, y: number, n: number): void;
  gelu_tanh_grad_f32(x: number, dy: number, dx: number, n: number): void;
  silu_f32(x: number, y: number, n: number): void;
  silu_grad_f32(x: number, dy: number, dx: number, n: number): void;
}

/**
 * A function of `pointers` byte offsets and a count `n`, looping a byte index `i` over
 * `ceil(n / 4)` vectors; `body(f, i, scratch)` computes one vector, reading and writing at
 * `pointer + i` (`scratch()` gives it a fresh v128 local).
 */
function vectorLoop(name: string, pointers: number, body: (f: FunctionBuilder, i: Local, scratch: () => Local) => void): FunctionBuilder {
  const f = new FunctionBuilder(name, [...Array<"i32">(pointers).fill("i32"), "i32"]);
  const n = f.params[pointers]!;
  const [i, end] = f.localList("i32", 2) as [Local, Local];
  // end = ceil(n / 4) * 16 bytes
  f.get(n).i32(3).op("i32.add").i32(-4).op("i32.and").i32(4).op("i32.mul").set(end);
  f.block((exit) => {
    f.get(end).op("i32.eqz").brIf(exit);
    f.loop((top) => {
      body(f, i, () => f.local("v128"));
      f.get(i).i32(16).op("i32.add").tee(i).get(end).op("i32.lt_u").brIf(top);
    });
  });
  return f;
}

/** Pushes `v` as a vector of four equal floats. */
function constant(f: FunctionBuilder, v: number): FunctionBuilder {
  return f.f32(v).op("f32x4.splat");
}

/** Replaces the vector on the stack by its exponential (see the file header). Uses two scratch locals. */
function exp4(f: FunctionBuilder, x: Local, n: Local): void {
  f.set(x);
  // x = clamp(x); n = nearest(x log2 e)
  f.get(x); constant(f, EXP_MAX).op("f32x4.min"); constant(f, EXP_MIN).op("f32x4.max").tee(x);
  constant(f, LOG2E).op("f32x4.mul").op("f32x4.nearest").set(n);
  // r = x - n ln2_hi - n ln2_lo
  f.get(x).get(n); constant(f, LN2_HI).op("f32x4.mul").op("f32x4.sub");
  f.get(n); constant(f, LN2_LO).op("f32x4.mul").op("f32x4.sub").set(x);
  // p(r) by Horner, then exp(r) = 1 + r + r^2 p(r)
  constant(f, EXP_POLY[EXP_POLY.length - 1]!);
  for (let c = EXP_POLY.length - 2; c >= 0; c--) {
    f.get(x).op("f32x4.mul");
    constant(f, EXP_POLY[c]!).op("f32x4.add");
  }
  f.get(x).get(x).op("f32x4.mul").op("f32x4.mul").get(x).op("f32x4.add");
  constant(f, 1).op("f32x4.add");
  // times 2^n: (n + 127) << 23 are the bits of 2^n
  f.get(n).op("i32x4.trunc_sat_f32x4_s").i32(127).op("i32x4.splat").op("i32x4.add").i32(23).op("i32x4.shl");
  f.op("f32x4.mul");
}

/** Pushes u' = -2 c (x + K x^3) for the tanh GELU (the argument of its exponential), from local x. */
function geluArgument(f: FunctionBuilder, x: Local): void {
  f.get(x).get(x).op("f32x4.mul").get(x).op("f32x4.mul");
  constant(f, K).op("f32x4.mul").get(x).op("f32x4.add");
  constant(f, -2 * C).op("f32x4.mul");
}

/** Builds the activation module's binary. */
export function activationModule(memory: MemoryImport): Uint8Array<ArrayBuffer> {
  const m = new Module(memory);
  const load = (f: FunctionBuilder, base: Local, i: Local): FunctionBuilder => f.get(base).get(i).op("i32.add").mem("v128.load");

  // y = x / (1 + e), e = exp(-2u)
  m.add(vectorLoop("gelu_tanh_f32", 2, (f, i, scratch) => {
    const [xv, e, t] = [scratch(), scratch(), scratch()];
    load(f, f.params[0]!, i).set(xv);
    f.get(f.params[1]!).get(i).op("i32.add");
    geluArgument(f, xv);
    exp4(f, e, t);
    f.set(e).get(xv).get(e);
    constant(f, 1).op("f32x4.add").op("f32x4.div").mem("v128.store");
  }));
  // s = 1 / (1 + e): dx = dy (s + 2 x s (e s) c (1 + 3 K x^2))   [1 - s = e s]
  m.add(vectorLoop("gelu_tanh_grad_f32", 3, (f, i, scratch) => {
    const [xv, e, t, s] = [scratch(), scratch(), scratch(), scratch()];
    load(f, f.params[0]!, i).set(xv);
    geluArgument(f, xv);
    exp4(f, e, t);
    f.set(e);
    constant(f, 1).get(e); constant(f, 1).op("f32x4.add").op("f32x4.div").set(s);
    f.get(f.params[2]!).get(i).op("i32.add"); // where dx goes
    load(f, f.params[1]!, i); // dy
    // (e s) s x 2c (1 + 3 K x^2) + s, with e s = 1 - s first: e alone may be near the float32 maximum
    f.get(e).get(s).op("f32x4.mul").get(s).op("f32x4.mul").get(xv).op("f32x4.mul"); constant(f, 2 * C).op("f32x4.mul");
    f.get(xv).get(xv).op("f32x4.mul"); constant(f, 3 * K).op("f32x4.mul"); constant(f, 1).op("f32x4.add");
    f.op("f32x4.mul").get(s).op("f32x4.add");
    f.op("f32x4.mul").mem("v128.store");
  }));
  // y = x / (1 + exp(-x))
  m.add(vectorLoop("silu_f32", 2, (f, i, scratch) => {
    const [xv, e, t] = [scratch(), scratch(), scratch()];
    load(f, f.params[0]!, i).set(xv);
    f.get(f.params[1]!).get(i).op("i32.add");
    f.get(xv).op("f32x4.neg");
    exp4(f, e, t);
    f.set(e).get(xv).get(e);
    constant(f, 1).op("f32x4.add").op("f32x4.div").mem("v128.store");
  }));
  // s = 1 / (1 + e), e = exp(-x): dx = dy s (1 + (e s) x)
  m.add(vectorLoop("silu_grad_f32", 3, (f, i, scratch) => {
    const [xv, e, t, s] = [scratch(), scratch(), scratch(), scratch()];
    load(f, f.params[0]!, i).set(xv);
    f.get(xv).op("f32x4.neg");
    exp4(f, e, t);
    f.set(e);
    constant(f, 1).get(e); constant(f, 1).op("f32x4.add").op("f32x4.div").set(s);
    f.get(f.params[2]!).get(i).op("i32.add");
    load(f, f.params[1]!, i).get(s).op("f32x4.mul");
    f.get(e).get(s).op("f32x4.mul").get(xv).op("f32x4.mul"); constant(f, 1).op("f32x4.add");
    f.op("f32x4.mul").mem("v128.store");
  }));
  return m.bytes();
}
