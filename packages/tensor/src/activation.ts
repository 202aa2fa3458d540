/**
 * The MLP activations and their derivatives as tensor kernels, for the autograd ops `gelu` and
 * `silu` (which hold the math) and for anyone who needs them without a graph:
 *   gelu, tanh form: y = x/2 (1 + tanh u), u = c (x + 0.044715 x^3), c = sqrt(2/pi)
 *   gelu, exact:     y = x Phi(x)
 *   silu:            y = x sigmoid(x)
 * float32 tensors in the tanh form and SiLU run on WebAssembly SIMD (`wasm/activations.ts`, a
 * float32 exponential within 2 ulp), a block at a time through the kernels' scratch memory;
 * float64 tensors and the exact GELU run in JavaScript numbers, rounded once.
 */
import { allocate, type Storage } from "./dtype.js";
import { erfScalar } from "./elementwise.js";
import { InputError } from "./errors.js";
import { formatShape, sameShape } from "./shape.js";
import { contiguousData, Tensor } from "./tensor.js";
import { kernelRuntime, RAW_AT, RAW_BYTES } from "./wasm/runtime.js";
import type { ActivationExports } from "./wasm/activations.js";

/** How `gelu` is computed: `"tanh"` (GPT-2's gelu_new) or `"none"` (exact, with erf). */
export type GeluApproximation = "tanh" | "none";

const C = Math.sqrt(2 / Math.PI);
const K = 0.044715;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Runs a float32 activation kernel over `inputs` (same shape, contiguous copies taken as
 * needed) into a new tensor, through the scratch in blocks; undefined where the kernels are
 * missing (no WebAssembly SIMD), for the JavaScript path.
 */
function onWasm(kernel: keyof ActivationExports, inputs: readonly Tensor[]): Tensor | undefined {
  const rt = kernelRuntime();
  if (!rt) return undefined;
  const sources = inputs.map((t) => (t.isContiguous() ? t.data.subarray(t.offset, t.offset + t.size) : contiguousData(t)));
  const size = inputs[0]!.size;
  const out = new Float32Array(size);
  // Inputs and the output each get an equal share of the scratch, in whole vectors.
  const block = Math.floor(RAW_BYTES / 4 / (inputs.length + 1) / 4) * 4;
  const at = (i: number): number => RAW_AT + i * block * 4;
  const run = rt.kernels[kernel] as (...offsets: number[]) => void;
  for (let start = 0; start < size; start += block) {
    const n = Math.min(block, size - start);
    sources.forEach((src, i) => rt.f32.set(src.subarray(start, start + n), at(i) / 4));
    run(...inputs.map((_, i) => at(i)), at(inputs.length), n);
    out.set(rt.f32.subarray(at(inputs.length) / 4, at(inputs.length) / 4 + n), start);
  }
  return new Tensor(out, inputs[0]!.shape);
}

/** `f(x)` elementwise in JavaScript numbers, into the dtype of `x`. */
function mapValues(x: Tensor, f: (v: number) => number): Tensor {
  const src = contiguousData(x);
  const out = allocate(x.dtype, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]!);
  return new Tensor(out, x.shape);
}

/** `f(x, dy)` elementwise in JavaScript numbers, for a derivative. */
function mapPairs(x: Tensor, dy: Tensor, what: string, f: (v: number, g: number) => number): Tensor {
  if (!sameShape(x.shape, dy.shape) || x.dtype !== dy.dtype) {
    throw new InputError(`${what}: the input is ${x.dtype} ${formatShape(x.shape)} and the gradient ${dy.dtype} ${formatShape(dy.shape)}; they must match`);
  }
  const xs: Storage = contiguousData(x);
  const gs: Storage = contiguousData(dy);
  const out = allocate(x.dtype, xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = f(xs[i]!, gs[i]!);
  return new Tensor(out, x.shape);
}

/** GELU elementwise: the tanh form (default, GPT-2's gelu_new) or the exact one (`"none"`). */
export function gelu(x: Tensor, approximate: GeluApproximation = "tanh"): Tensor {
  if (approximate === "tanh") {
    return (x.dtype === "float32" ? onWasm("gelu_tanh_f32", [x]) : undefined) ?? mapValues(x, (v) => 0.5 * v * (1 + Math.tanh(C * (v + K * v * v * v))));
  }
  return mapValues(x, (v) => 0.5 * v * (1 + erfScalar(v * INV_SQRT2)));
}

/**
 * The vector-Jacobian product of {@link gelu} at `x`: `dy * gelu'(x)`, where
 * tanh form: gelu'(x) = 1/2 (1 + tanh u) + x/2 (1 - tanh^2 u) c (1 + 3 * 0.044715 x^2);
 * exact: gelu'(x) = Phi(x) + x phi(x).
 */
export function geluBackward(x: Tensor, dy: Tensor, approximate: GeluApproximation = "tanh"): Tensor {
  if (approximate === "tanh") {
    const fast = x.dtype === "float32" && dy.dtype === "float32" && sameShape(x.shape, dy.shape) ? onWasm("gelu_tanh_grad_f32", [x, dy]) : undefined;
    return fast ?? mapPairs(x, dy, "geluBackward", (v, g) => {
      const t = Math.tanh(C * (v + K * v * v * v));
      return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * K * v * v));
    });
  }
  return mapPairs(x, dy, "geluBackward", (v, g) => g * (0.5 * (1 + erfScalar(v * INV_SQRT2)) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v)));
}

/** SiLU (swish) elementwise: `x * sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return (x.dtype === "float32" ? onWasm("silu_f32", [x]) : undefined) ?? mapValues(x, (v) => v * (1 / (1 + Math.exp(-v))));
}

/** The vector-Jacobian product of {@link silu} at `x`: `dy * s (1 + x (1 - s))`, `s = sigmoid(x)`. */
export function siluBackward(x: Tensor, dy: Tensor): Tensor {
  const fast = x.dtype === "float32" && dy.dtype === "float32" && sameShape(x.shape, dy.shape) ? onWasm("silu_grad_f32", [x, dy]) : undefined;
  return fast ?? mapPairs(x, dy, "siluBackward", (v, g) => {
    const s = 1 / (1 + Math.exp(-v));
    return g * s * (1 + v * (1 - s));
  });
}
