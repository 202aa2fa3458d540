/**
 * The gpu.js matmul backend: one gpu.js kernel computes a tile of C from contiguous float32
 * copies of a block of rows of A and a block of columns of B. On WebGL (a browser, or Node
 * with headless-gl) that is a GPU; in Node without GL gpu.js runs it as WebAssembly.
 *
 * gpu.js computes flat indices in float32, which is exact only up to 2^24: in `webasm` mode a
 * product whose flat input index passes 2^24 (e.g. 768 x 50257 weights) comes back WRONG, with
 * no error. So every kernel call here sees inputs of at most 2^24 elements (and a tile of C at
 * most 4096 x 4096, a texture size every WebGL implementation supports). gpu.js also stops a
 * loop silently after `loopMaxIterations`, so k is tiled by 4096 as well, with the partial
 * products summed in float64.
 *
 * The kernel computes in float32, so float64 products are never sent to it: they run on
 * {@link cpuBackend} (float64 sums), never rounded.
 *
 * gpu.js is an optional peer dependency, loaded by dynamic import when a gpu backend is asked
 * for (so `gpuBackend` and `autoBackend` are async): importing `@gim/tensor` never loads it,
 * and a CPU-only install does not need it (nor the 84 MB WebGPU package it depends on).
 */
import type { GPU, IKernelFunctionThis, IKernelRunShortcut, KernelFunction } from "gpu.js";
import { InputError } from "../errors.js";
import { cpuBackend } from "./cpu.js";
import type { Gemm, MatmulBackend } from "./gemm.js";

/** Largest flat input a kernel call may receive: indices below 2^24 are exact in float32. */
export const GPU_MAX_TILE_ELEMENTS = 1 << 24;
/** Largest depth of one kernel call; also its `loopMaxIterations`. */
const MAX_TILE_K = 4096;
/** Largest side of a tile of C (the output texture on WebGL). */
const MAX_TILE_SIDE = 4096;

/** gpu.js kernel: C[y][x] = sum_p a[y, p] * b[p, x] for a row-major `a` (rows x k) and `b` (k x n). */
function matmulTileKernel(this: IKernelFunctionThis, a: number[], b: number[], k: number, n: number): number {
  let sum = 0;
  for (let p = 0; p < k; p++) {
    sum += a[this.thread.y * k + p]! * b[p * n + this.thread.x]!;
  }
  return sum;
}

/** A gpu.js mode: `"gpu"` lets gpu.js pick (WebGL2, WebGL, headless-gl, else WebAssembly); the others force one. */
export type GpuMode = "gpu" | "cpu" | "dev" | "webgl" | "webgl2" | "headlessgl" | "webasm";

/** Options of {@link gpuBackend}. */
export interface GpuBackendOptions {
  /** gpu.js mode (default `"gpu"`). */
  mode?: GpuMode;
}

type GpuJs = typeof import("gpu.js");
let gpuJs: Promise<GpuJs> | undefined;

/** gpu.js, imported on first use; a clear error where it is not installed. */
function loadGpuJs(): Promise<GpuJs> {
  gpuJs ??= import("gpu.js").catch((e: unknown) => {
    gpuJs = undefined;
    throw new InputError(`the gpu matmul backend needs the gpu.js package, an optional peer dependency of @gim/tensor (npm install gpu.js@2.24.1): ${(e as Error).message}`);
  });
  return gpuJs;
}

/** A gpu.js backend. Call `dispose()` when done to free its gpu.js context. */
export interface GpuBackend extends MatmulBackend {
  /** The gpu.js mode that was asked for. */
  readonly mode: string;
  /** Frees the gpu.js kernel and context; the backend cannot run afterwards. */
  dispose(): void;
}

/**
 * Creates a gpu.js matmul backend, e.g. `await gpuBackend({ mode: "webasm" })`, loading gpu.js
 * on first use. Float32 products run on gpu.js (float32 accurate); float64 ones on
 * {@link cpuBackend}. See {@link autoBackend} to use it only where there is a GPU.
 */
export async function gpuBackend(options: GpuBackendOptions = {}): Promise<GpuBackend> {
  const mode = options.mode ?? "gpu";
  const { GPU } = await loadGpuJs();
  let gpu: GPU | undefined = new GPU({ mode });
  // gpu.js types kernel arguments as its own variable union; the kernel reads flat arrays.
  let kernel: IKernelRunShortcut | undefined = gpu
    .createKernel(matmulTileKernel as unknown as KernelFunction, {
      output: [1, 1],
      dynamicOutput: true,
      dynamicArguments: true,
      precision: "single",
      tactic: "precision",
    })
    .setLoopMaxIterations(MAX_TILE_K);
  const name = `gpu.js-${mode}`;
  return {
    name,
    mode,
    run(batch) {
      if (!kernel) throw new InputError(`matmul: the ${name} backend was disposed`);
      // float64 products go to the CPU (float64 sums): gpu.js would round them to float32.
      const exact = batch.filter((g) => g.c instanceof Float64Array);
      if (exact.length > 0) cpuBackend.run(exact);
      for (const g of batch) if (g.m > 0 && g.n > 0 && !(g.c instanceof Float64Array)) runTiled(kernel, g);
    },
    dispose() {
      kernel?.destroy();
      gpu?.destroy();
      kernel = undefined;
      gpu = undefined;
    },
  };
}

/** Splits `size` into the fewest near-equal parts of at most `max`; returns the part size. */
function partSize(size: number, max: number): number {
  return Math.ceil(size / Math.ceil(size / max));
}

/** One product as kernel calls on tiles small enough for exact float32 index math. */
function runTiled(kernel: IKernelRunShortcut, g: Gemm): void {
  const { m, n, k } = g;
  if (k === 0) {
    for (let i = 0; i < m; i++) g.c.fill(0, g.cOffset + i * n, g.cOffset + (i + 1) * n);
    return;
  }
  const kt = partSize(k, MAX_TILE_K);
  const side = Math.max(1, Math.min(MAX_TILE_SIDE, Math.floor(GPU_MAX_TILE_ELEMENTS / kt)));
  const mt = partSize(m, side);
  const nt = partSize(n, side);
  const acc = new Float64Array(mt * nt);
  for (let i0 = 0; i0 < m; i0 += mt) {
    const rows = Math.min(mt, m - i0);
    for (let j0 = 0; j0 < n; j0 += nt) {
      const cols = Math.min(nt, n - j0);
      acc.fill(0, 0, rows * cols);
      for (let p0 = 0; p0 < k; p0 += kt) {
        const depth = Math.min(kt, k - p0);
        const aTile = new Float32Array(rows * depth); // [rows, depth]
        for (let i = 0; i < rows; i++) {
          const src = g.aOffset + (i0 + i) * g.aRowStride + p0 * g.aColStride;
          for (let p = 0; p < depth; p++) aTile[i * depth + p] = g.a[src + p * g.aColStride]!;
        }
        const bTile = new Float32Array(depth * cols); // [depth, cols]
        for (let p = 0; p < depth; p++) {
          const src = g.bOffset + (p0 + p) * g.bRowStride + j0 * g.bColStride;
          for (let j = 0; j < cols; j++) bTile[p * cols + j] = g.b[src + j * g.bColStride]!;
        }
        kernel.setOutput([cols, rows]);
        const out = kernel(aTile as unknown as number[], bTile as unknown as number[], depth, cols) as Float32Array[]; // rows x [cols]
        for (let i = 0; i < rows; i++) {
          const row = out[i]!;
          for (let j = 0; j < cols; j++) acc[i * cols + j] += row[j]!;
        }
      }
      for (let i = 0; i < rows; i++) {
        const dst = g.cOffset + (i0 + i) * n + j0;
        for (let j = 0; j < cols; j++) g.c[dst + j] = acc[i * cols + j]!;
      }
    }
  }
}

/** True when gpu.js is installed and can reach a real GPU here: WebGL2 or WebGL in a browser, headless-gl in Node. */
export async function gpuIsAvailable(): Promise<boolean> {
  try {
    const { GPU } = await loadGpuJs();
    return GPU.isWebGL2Supported || GPU.isWebGLSupported || GPU.isHeadlessGLSupported;
  } catch {
    return false;
  }
}

/**
 * The backend to use here: a gpu.js backend where gpu.js reports a real GPU (see
 * {@link gpuIsAvailable}), else the multi-threaded {@link cpuBackend}. gpu.js's own CPU
 * fallbacks (WebAssembly, JavaScript) are slower than the CPU backend, so they are never
 * chosen automatically. Dispose the result with {@link disposeBackend} when done.
 */
export async function autoBackend(): Promise<MatmulBackend> {
  return (await gpuIsAvailable()) ? gpuBackend({ mode: "gpu" }) : cpuBackend;
}

/** Frees a backend's resources if it holds any (a gpu.js context); a no-op for the CPU backends. */
export function disposeBackend(backend: MatmulBackend): void {
  (backend as Partial<GpuBackend>).dispose?.();
}
