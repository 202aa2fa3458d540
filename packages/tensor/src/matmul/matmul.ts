/**
 * `matmul(a, b)`: matrix products with NumPy semantics. The last two dims multiply
 * (`[..., m, k] @ [..., k, n] -> [..., m, n]`), leading dims broadcast, and a 1-d operand is
 * a vector (a row on the left, a column on the right; its dim is dropped from the result).
 * Transposed and sliced views are passed to the backend by their strides, never copied.
 */
import { allocate, promote } from "../dtype.js";
import { broadcastShapes, broadcastStrides, formatShape, sizeOf } from "../shape.js";
import { InputError } from "../errors.js";
import { astype, Tensor } from "../tensor.js";
import { unsqueeze } from "../views.js";
import { cpuBackend } from "./cpu.js";
import type { Gemm, MatmulBackend } from "./gemm.js";

export { cpuBackend, createCpuBackend, type CpuBackend, type CpuBackendOptions, type CpuKernel } from "./cpu.js";
export { autoBackend, disposeBackend, GPU_MAX_TILE_ELEMENTS, gpuBackend, gpuIsAvailable, type GpuBackend, type GpuBackendOptions, type GpuMode } from "./gpu.js";
export { defaultMatmulThreads, matmulPoolStats, matmulPoolUnavailable, shutdownMatmulPool, startMatmulPool, type MatmulPoolStats } from "./pool.js";

// The packed CPU kernel on every core: the fastest backend on a machine without a GPU.
let defaultBackend: MatmulBackend = cpuBackend;

/** The backend `matmul` uses when none is passed. */
export function getDefaultMatmulBackend(): MatmulBackend {
  return defaultBackend;
}

/** Sets the backend `matmul` uses when none is passed; returns the previous one. */
export function setDefaultMatmulBackend(backend: MatmulBackend): MatmulBackend {
  const previous = defaultBackend;
  defaultBackend = backend;
  return previous;
}

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Which backend computes the products (default: `getDefaultMatmulBackend()`). */
  backend?: MatmulBackend;
}

/**
 * Matrix product with NumPy semantics: `[..., m, k] @ [..., k, n] -> [..., m, n]`, leading
 * dims broadcast, a 1-d operand is a vector (its dim is dropped from the result), and mixed
 * dtypes compute in float64. Operands may be any view (transposed, sliced, expanded); the
 * backend reads them by their strides. Runs on `options.backend`, by default the
 * multi-threaded {@link cpuBackend}.
 *
 * @example
 * ```ts
 * const scores = matmul(q, transpose(k)); // [T, d] @ [d, T] -> [T, T], no copy of k
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new InputError(`matmul needs tensors with at least 1 dim, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const dtype = promote(a.dtype, b.dtype);
  // Mixed dtypes compute in the wider one.
  const A2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const B2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const A = A2.dtype === dtype ? A2 : astype(A2, dtype);
  const B = B2.dtype === dtype ? B2 : astype(B2, dtype);
  const [m, k] = A.shape.slice(-2) as [number, number];
  const [k2, n] = B.shape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new InputError(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not align (${k} != ${k2})`);
  }
  const batchShape = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const batchA = broadcastStrides(A.shape.slice(0, -2), A.strides.slice(0, -2), batchShape);
  const batchB = broadcastStrides(B.shape.slice(0, -2), B.strides.slice(0, -2), batchShape);
  const batches = sizeOf(batchShape);
  const c = allocate(dtype, batches * m * n);
  const products: Gemm[] = [];
  const counter = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < batches; bi++) {
    let aOffset = A.offset;
    let bOffset = B.offset;
    for (let d = 0; d < batchShape.length; d++) {
      aOffset += counter[d]! * batchA[d]!;
      bOffset += counter[d]! * batchB[d]!;
    }
    products.push({
      m, n, k,
      a: A.data, aOffset, aRowStride: A.strides[A.ndim - 2]!, aColStride: A.strides[A.ndim - 1]!,
      b: B.data, bOffset, bRowStride: B.strides[B.ndim - 2]!, bColStride: B.strides[B.ndim - 1]!,
      c, cOffset: bi * m * n,
    });
    for (let d = batchShape.length - 1; d >= 0; d--) {
      if (++counter[d]! < batchShape[d]!) break;
      counter[d] = 0;
    }
  }
  if (m > 0 && n > 0) {
    if (k === 0) c.fill(0);
    else (options.backend ?? defaultBackend).run(products);
  }
  const shape = [...batchShape, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
  return new Tensor(c, shape);
}
