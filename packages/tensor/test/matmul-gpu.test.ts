/**
 * The gpu.js backend past gpu.js's float32 index limit: an input of more than 2^24 elements
 * (B = [768, 22000], 16.9 M elements) makes a single gpu.js kernel call return wrong values in
 * webasm mode; the backend's tiling must keep every element right. Also: k beyond gpu.js's
 * loop limit, and the automatic backend choice on a machine without a GPU.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GPU, type IKernelFunctionThis, type KernelFunction } from "gpu.js";
import { afterAll, describe, expect, it } from "vitest";
import { autoBackend, cpuBackend, GPU_MAX_TILE_ELEMENTS, gpuBackend, gpuIsAvailable, matmul, randUniform, Tensor } from "../src/index.js";

const webasm = await gpuBackend({ mode: "webasm" });
afterAll(() => webasm.dispose());

/** Max over elements of |got - exact| / sum_p |a_ip b_pj|, the exact product summed in float64. */
function worstRelativeError(a: Tensor, b: Tensor, got: ArrayLike<number>): number {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  const exact = new Float64Array(n);
  const scale = new Float64Array(n);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    exact.fill(0);
    scale.fill(0);
    for (let p = 0; p < k; p++) {
      const x = a.data[i * k + p]!;
      for (let j = 0; j < n; j++) {
        const prod = x * b.data[p * n + j]!;
        exact[j] += prod;
        scale[j] += Math.abs(prod);
      }
    }
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(got[i * n + j]! - exact[j]!) / scale[j]!);
  }
  return worst;
}

describe("gpu.js backend beyond 2^24 input elements", () => {
  const m = 3;
  const k = 768;
  const n = 22_000;
  const a = randUniform([m, k], { seed: 11, low: -1, high: 1 });
  const b = randUniform([k, n], { seed: 12, low: -1, high: 1 });

  it("uses a size where one unsplit gpu.js kernel call is wrong", () => {
    expect(k * n).toBeGreaterThan(GPU_MAX_TILE_ELEMENTS);
    // The plain one-call kernel, to prove the test size crosses the limit that matters.
    const gpu = new GPU({ mode: "webasm" });
    try {
      const kernel = gpu
        .createKernel(
          function (this: IKernelFunctionThis, x: number[], y: number[], depth: number, width: number): number {
            let sum = 0;
            for (let p = 0; p < depth; p++) sum += x[this.thread.y * depth + p]! * y[p * width + this.thread.x]!;
            return sum;
          } as unknown as KernelFunction,
          { output: [n, m] },
        )
        .setLoopMaxIterations(k);
      const rows = kernel(a.data as unknown as number[], b.data as unknown as number[], k, n) as Float32Array[];
      const flat = new Float32Array(m * n);
      rows.forEach((row, i) => flat.set(row, i * n));
      expect(worstRelativeError(a, b, flat)).toBeGreaterThan(1e-2);
    } finally {
      gpu.destroy();
    }
  });

  it("gets every element right at [3, 768] @ [768, 22000]", () => {
    const c = matmul(a, b, { backend: webasm });
    expect(c.shape).toEqual([m, n]);
    expect(worstRelativeError(a, b, c.toFlat())).toBeLessThan((k + 2) * 2 ** -24);
  });

  it("sums over k beyond gpu.js's loop limit (k = 5000 in tiles of at most 4096)", () => {
    const x = randUniform([5, 5000], { seed: 13, low: -1, high: 1 });
    const y = randUniform([5000, 6], { seed: 14, low: -1, high: 1 });
    expect(worstRelativeError(x, y, matmul(x, y, { backend: webasm }).toFlat())).toBeLessThan(5002 * 2 ** -24);
  });
});

describe("autoBackend and the gpu.js backend's edges", () => {
  it("picks the CPU backend where gpu.js reports no real GPU (Node without GL)", async () => {
    expect(await gpuIsAvailable()).toBe(false);
    expect(await autoBackend()).toBe(cpuBackend);
  });

  it("refuses to run a disposed gpu.js backend", async () => {
    const gpu = await gpuBackend({ mode: "cpu" });
    gpu.dispose();
    expect(() => matmul(randUniform([2, 2]), randUniform([2, 2]), { backend: gpu })).toThrow(/disposed/);
  });

  it("computes float64 products in float64 (on the CPU), never rounded to float32", () => {
    // 1 + 2^-40 is not a float32; its square's 2^-39 term survives only in float64 sums.
    const x = 1 + 2 ** -40;
    const a = new Tensor(new Float64Array(24).fill(x), [4, 6]);
    const b = new Tensor(new Float64Array(30).fill(x), [6, 5]);
    const c = matmul(a, b, { backend: webasm });
    expect(c.dtype).toBe("float64");
    for (const v of c.toFlat()) expect(v).toBe(6 * x * x);
  });

  it("is loaded only when asked for: importing @gim/tensor does not load gpu.js", () => {
    const index = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const script = [
      `const T = await import(${JSON.stringify(pathToFileURL(index).href)});`,
      "const { createRequire } = await import('node:module');",
      "const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('gpu.js'));",
      "const before = loaded();",
      "const gpu = await T.gpuBackend({ mode: 'cpu' });",
      "console.log(before, loaded());",
      "gpu.dispose();",
    ].join("\n");
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href;
    const run = spawnSync(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("false true");
  });
});
