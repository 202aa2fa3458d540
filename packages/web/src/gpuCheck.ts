/**
 * The gpu.js matmul on WebGL, checked against the CPU kernel on the same products, on the
 * page's main thread (where WebGL lives). gpu.js computes in float32, so the two agree to
 * float32 rounding, not bit for bit.
 */
import { cpuBackend, gpuBackend, matmul, randNormal, Rng, transpose, type Tensor } from "@gim/tensor";

/** What the check found. */
export interface GpuCheck {
  /** The gpu.js mode that ran (webgl2 or webgl), or undefined when the browser has no WebGL. */
  readonly mode: string | undefined;
  /** The CPU backend compared against. */
  readonly cpu: string;
  /** Per product: its shape, the largest |gpu - cpu| and the largest |cpu|. */
  readonly products: readonly { shape: string; maxDiff: number; maxAbs: number; gpuMs: number; cpuMs: number }[];
  /** Largest |gpu - cpu| / largest |cpu| over the products. */
  readonly relativeError: number;
}

function maxAbsDiff(a: Tensor, b: Tensor): { maxDiff: number; maxAbs: number } {
  const x = a.toFlat(), y = b.toFlat();
  let maxDiff = 0, maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(x[i]! - y[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(y[i]!));
  }
  return { maxDiff, maxAbs };
}

export async function checkGpuMatmul(): Promise<GpuCheck> {
  const { GPU } = await import("gpu.js");
  const mode = GPU.isWebGL2Supported ? "webgl2" : GPU.isWebGLSupported ? "webgl" : undefined;
  if (!mode) return { mode: undefined, cpu: cpuBackend.name, products: [], relativeError: NaN };
  const gpu = await gpuBackend({ mode });
  try {
    const rng = new Rng(7);
    const cases: [Tensor, Tensor][] = [
      [randNormal([64, 96], { rng }), randNormal([96, 80], { rng })],
      [randNormal([3, 33, 57], { rng }), randNormal([3, 57, 29], { rng })], // batched, odd sizes
      [randNormal([128, 256], { rng }), transpose(randNormal([192, 256], { rng }))], // a transposed view
    ];
    const products = cases.map(([a, b]) => {
      let t = performance.now();
      const onGpu = matmul(a, b, { backend: gpu });
      const gpuMs = performance.now() - t;
      t = performance.now();
      const onCpu = matmul(a, b, { backend: cpuBackend });
      const cpuMs = performance.now() - t;
      return { shape: `[${a.shape.join("×")}] @ [${b.shape.join("×")}]`, ...maxAbsDiff(onGpu, onCpu), gpuMs, cpuMs };
    });
    const relativeError = Math.max(...products.map((p) => p.maxDiff / p.maxAbs));
    return { mode, cpu: cpuBackend.name, products, relativeError };
  } finally {
    gpu.dispose();
  }
}
