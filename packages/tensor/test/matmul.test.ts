/**
 * Every matmul backend against a float64 reference written here from the definition of a
 * strided tensor: random shapes (odd sizes, 1, 0), transposed / sliced / reversed /
 * broadcast operands, NumPy batch broadcasting and 1-d operands, float32 and float64.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  createCpuBackend, cpuBackend, expand, getDefaultMatmulBackend, gpuBackend, matmul, randUniform, referenceBackend, setDefaultMatmulBackend,
  shutdownMatmulPool, slice, Tensor, transpose, narrow, type DType, type Gemm, type MatmulBackend,
} from "../src/index.js";
import { runPackedParallel } from "../src/matmul/cpu.js";
import { MatmulPool, matmulPool, matmulPoolUnavailable, startMatmulPool } from "../src/matmul/pool.js";
import { poolTransport, type PoolTransport } from "../src/matmul/pool-transport.js";
import { CONTROL, kernelRuntime, WORKSPACE_BYTES } from "../src/wasm/runtime.js";

// ---------------------------------------------------------------------------------------------
// The reference: NumPy matmul semantics over raw strided storage, summed in float64.

/** Storage position of element `[...batchIndex, 0, 0]` of `t` (of `[0]` for a 1-d `t`). */
function basePosition(t: Tensor, batchIndex: readonly number[]): number {
  let pos = t.offset;
  for (let d = 0; d < batchIndex.length; d++) pos += batchIndex[d]! * t.strides[d]!;
  return pos;
}

interface Expected {
  shape: number[];
  values: Float64Array;
  /** Per element, sum_p |a_ip b_pj|: the scale that rounding errors are relative to. */
  scale: Float64Array;
  k: number;
}

function referenceMatmul(a: Tensor, b: Tensor): Expected {
  const aBatch = a.ndim >= 2 ? a.shape.slice(0, -2) : [];
  const bBatch = b.ndim >= 2 ? b.shape.slice(0, -2) : [];
  const nb = Math.max(aBatch.length, bBatch.length);
  const batch: number[] = [];
  for (let d = 0; d < nb; d++) {
    const x = aBatch[d - (nb - aBatch.length)] ?? 1;
    const y = bBatch[d - (nb - bBatch.length)] ?? 1;
    batch.push(x === 1 ? y : x);
  }
  const m = a.ndim === 1 ? 1 : a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const n = b.ndim === 1 ? 1 : b.shape[b.ndim - 1]!;
  // Element (i, p) of A's matrix is at base + i * aRow + p * aCol (a 1-d A is one row).
  const aRow = a.ndim === 1 ? 0 : a.strides[a.ndim - 2]!;
  const aCol = a.strides[a.ndim - 1]!;
  const bRow = b.strides[b.ndim === 1 ? 0 : b.ndim - 2]!;
  const bCol = b.ndim === 1 ? 0 : b.strides[b.ndim - 1]!;
  const batches = batch.reduce((s, d) => s * d, 1);
  const values = new Float64Array(batches * m * n);
  const scale = new Float64Array(batches * m * n);
  const idx = new Array<number>(nb).fill(0);
  for (let bi = 0; bi < batches; bi++) {
    // Broadcast: a size-1 (or missing) batch dim of an operand always reads index 0.
    const aBase = basePosition(a, aBatch.map((d, i) => (d === 1 ? 0 : idx[i + nb - aBatch.length]!)));
    const bBase = basePosition(b, bBatch.map((d, i) => (d === 1 ? 0 : idx[i + nb - bBatch.length]!)));
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const prod = a.data[aBase + i * aRow + p * aCol]! * b.data[bBase + p * bRow + j * bCol]!;
          sum += prod;
          abs += Math.abs(prod);
        }
        values[(bi * m + i) * n + j] = sum;
        scale[(bi * m + i) * n + j] = abs;
      }
    }
    for (let d = nb - 1; d >= 0; d--) {
      if (++idx[d]! < batch[d]!) break;
      idx[d] = 0;
    }
  }
  const shape = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
  return { shape, values, scale, k };
}

/** How a backend sums: in float64 whatever the dtype, in the operands' dtype, or always in float32. */
type Sums = "float64" | "dtype" | "float32";

/** Relative accuracy a backend promises: float64 sums (rounded to the dtype), or float32 sums over k terms. */
function tolerance(dtype: DType, sums: Sums, k: number): number {
  if (sums === "float32" || (sums === "dtype" && dtype === "float32")) return (k + 2) * 2 ** -24;
  return dtype === "float32" ? 2 ** -23 : 1e-13;
}

function expectClose(actual: Tensor, expected: Expected, relTol: number, label: string): void {
  expect(actual.shape, label).toEqual(expected.shape);
  const got = actual.toFlat();
  expect(got.length, label).toBe(expected.values.length);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - expected.values[i]!);
    if (!(err <= relTol * expected.scale[i]! + 1e-300)) {
      throw new Error(`${label}: element ${i} is ${got[i]}, expected ${expected.values[i]} (error ${err}, allowed ${relTol * expected.scale[i]!})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Operands in every layout a view can produce.

const layouts = ["contiguous", "transposed", "strided", "reversed", "repeatedRows", "broadcastBatch"] as const;
type Layout = (typeof layouts)[number];

/** A tensor of logical shape `[...batch, rows, cols]` (or `[cols]` when `rows` is null) laid out as asked. */
function operand(batch: number[], rows: number | null, cols: number, layout: Layout, dtype: DType, seed: number): Tensor {
  const opts = { dtype, seed, low: -1, high: 1 };
  if (rows === null) {
    // Vectors: contiguous, or every other element of a longer one.
    if (layout === "contiguous" || cols === 0) return randUniform([cols], opts);
    return slice(randUniform([2 * cols], opts), 0, 0, undefined, 2);
  }
  switch (layout) {
    case "contiguous":
      return randUniform([...batch, rows, cols], opts);
    case "transposed":
      return transpose(randUniform([...batch, cols, rows], opts), -2, -1);
    case "strided": // every other row, and columns 2.. of wider rows
      return narrow(slice(randUniform([...batch, 2 * rows, cols + 3], opts), -2, 0, undefined, 2), -1, 2, cols);
    case "reversed": // negative row stride
      return slice(randUniform([...batch, rows, cols], opts), -2, undefined, undefined, -1);
    case "repeatedRows": // row stride 0
      return expand(randUniform([...batch, 1, cols], opts), [...batch, rows, cols]);
    case "broadcastBatch": // batch strides 0
      return expand(randUniform([...batch.map(() => 1), rows, cols], opts), [...batch, rows, cols]);
  }
}

const dim = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 65), fc.integer({ min: 1, max: 40 }));
const dtype = fc.constantFrom<DType>("float32", "float64");

/** A random matmul problem: shapes with broadcast batch dims or 1-d operands, layouts, dtypes. */
const problem = fc
  .record({
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    // Per batch dim and operand: keep it, or make it 1 (broadcast); and drop leading dims.
    aBroadcast: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    bBroadcast: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    aDrop: fc.integer({ min: 0, max: 2 }),
    bDrop: fc.integer({ min: 0, max: 2 }),
    m: dim,
    k: dim,
    n: dim,
    aVector: fc.boolean(),
    bVector: fc.boolean(),
    aLayout: fc.constantFrom(...layouts),
    bLayout: fc.constantFrom(...layouts),
    aDtype: dtype,
    bDtype: dtype,
    seed: fc.integer({ min: 0, max: 1 << 30 }),
  })
  .map((p) => {
    const shrink = (which: boolean[], drop: number) => p.batch.map((d, i) => (which[i] ? 1 : d)).slice(Math.min(drop, p.batch.length));
    // 1-d operands only rarely, and then without batch dims on that side.
    const aVector = p.aVector && p.seed % 4 === 0;
    const bVector = p.bVector && p.seed % 4 === 1;
    const a = operand(shrink(p.aBroadcast, p.aDrop), aVector ? null : p.m, p.k, p.aLayout, p.aDtype, p.seed);
    const bT = operand(shrink(p.bBroadcast, p.bDrop), bVector ? null : p.n, p.k, p.bLayout, p.bDtype, p.seed + 1);
    // B is made as [.., n, k] so that its layouts apply to columns; transposing gives [.., k, n].
    const b = bT.ndim === 1 ? bT : transpose(bT, -2, -1);
    return { a, b, label: `a ${p.aLayout} ${p.aDtype} [${a.shape}] @ b ${p.bLayout} ${p.bDtype} [${b.shape}]` };
  });

interface BackendCase {
  backend: MatmulBackend;
  sums: Sums;
  runs: number;
}

const gpuWebasm = await gpuBackend({ mode: "webasm" });
const gpuCpu = await gpuBackend({ mode: "cpu" });
const cases: BackendCase[] = [
  { backend: referenceBackend, sums: "float64", runs: 40 },
  { backend: createCpuBackend({ kernel: "ts" }), sums: "float64", runs: 100 },
  { backend: createCpuBackend({ kernel: "wasm", threads: 1 }), sums: "dtype", runs: 150 },
  { backend: createCpuBackend({ kernel: "wasm", threads: 2, parallelThreshold: 0 }), sums: "dtype", runs: 100 },
  { backend: cpuBackend, sums: "dtype", runs: 40 },
  // float64 products go to the CPU backend: float64 sums.
  { backend: gpuWebasm, sums: "dtype", runs: 30 },
  { backend: gpuCpu, sums: "dtype", runs: 20 },
];

afterAll(async () => {
  gpuWebasm.dispose();
  gpuCpu.dispose();
  await shutdownMatmulPool();
});

describe.each(cases)("matmul with the $backend.name backend", ({ backend, sums, runs }) => {
  it("agrees with the float64 reference on random shapes, layouts and dtypes", () => {
    fc.assert(
      fc.property(problem, ({ a, b, label }) => {
        const expected = referenceMatmul(a, b);
        const got = matmul(a, b, { backend });
        expect(got.dtype).toBe(a.dtype === "float64" || b.dtype === "float64" ? "float64" : "float32");
        expectClose(got, expected, tolerance(got.dtype, sums, expected.k), label);
      }),
      { numRuns: runs },
    );
  });

  // Sizes that cross the packed kernel's tiles (64 rows, 256 columns, k blocks of 256) and
  // its micro-tile edges; each in several layouts of both operands.
  it.each([
    [130, 300, 260],
    [67, 257, 9],
    [4, 4, 4],
    [5, 3, 9],
    [1, 300, 70],
    [70, 300, 1],
    [17, 1030, 1100],
    [1001, 5, 1003],
    [3, 1000, 1000],
    [2, 129, 300],
    [1, 3000, 9],
  ])("is right at m=%i k=%i n=%i in several layouts", (m, k, n) => {
    const pairs = [["contiguous", "contiguous"], ["transposed", "transposed"], ["strided", "reversed"], ["repeatedRows", "contiguous"]] as const;
    for (const [i, [aLayout, bLayout]] of pairs.entries()) {
      const dt = i % 2 === 0 ? "float32" : "float64";
      const a = operand([2], m, k, aLayout, dt, m + k);
      const b = transpose(operand([], n, k, bLayout, dt, n + k + 1), -2, -1);
      expectClose(matmul(a, b, { backend }), referenceMatmul(a, b), tolerance(dt, sums, k), `${aLayout} @ ${bLayout} ${dt}`);
    }
  });

  it("adds only the rows of B whose coefficient is not zero in a vector-times-matrix product (a one-hot gradient)", () => {
    const oneHot = new Float32Array(5000);
    oneHot[1234] = 2;
    const w = randUniform([5000, 40], { seed: 5 });
    const row = matmul(new Tensor(oneHot, [1, 5000]), w, { backend }); // [1, 40]
    const want = Array.from(w.toFlat().subarray(1234 * 40, 1235 * 40), (v) => 2 * v);
    expect(Array.from(row.toFlat())).toEqual(want.map(Math.fround));
  });

  it("writes zeros for k = 0 and returns empty results for m = 0 or n = 0", () => {
    expect(matmul(randUniform([3, 0]), randUniform([0, 5]), { backend }).toArray()).toEqual([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
    expect(matmul(randUniform([2, 0, 4]), randUniform([4, 6]), { backend }).shape).toEqual([2, 0, 6]);
    expect(matmul(randUniform([3, 4]), randUniform([4, 0]), { backend }).shape).toEqual([3, 0]);
  });

  it("computes products handed to it directly, into offsets of a shared output", () => {
    // Two products into two halves of one output buffer, the second reading a transposed A.
    const a = randUniform([6, 5], { dtype: "float64", seed: 3 });
    const b = randUniform([5, 7], { dtype: "float64", seed: 4 });
    const c = new Float64Array(2 * 6 * 7).fill(NaN);
    const base = { m: 6, n: 7, k: 5, a: a.data, aOffset: 0, b: b.data, bOffset: 0, bRowStride: 7, bColStride: 1, c };
    const batch: Gemm[] = [
      { ...base, aRowStride: 5, aColStride: 1, cOffset: 0 },
      { ...base, m: 5, k: 6, aRowStride: 1, aColStride: 5, b: randUniform([6, 7], { dtype: "float64", seed: 5 }).data, cOffset: 42 },
    ];
    backend.run(batch);
    const want = new Float64Array(84);
    referenceBackend.run(batch.map((g) => ({ ...g, c: want })));
    // The second product has 5 rows: its last row of 7 stays untouched (NaN).
    for (let i = 0; i < 77; i++) expect(Math.abs(c[i]! - want[i]!)).toBeLessThan(sums === "float32" ? 1e-5 : 1e-12);
    for (let i = 77; i < 84; i++) expect(c[i]).toBeNaN();
  });
});

describe("the CPU backend's threads", () => {
  it("is the default backend of matmul, on every core", () => {
    expect(getDefaultMatmulBackend()).toBe(cpuBackend);
    expect(cpuBackend.threads).toBeGreaterThanOrEqual(1);
  });

  it("computes every tile right when the workers do all the work, in pieces split along m, n and k", () => {
    const rows = [4, 7, 33, 65, 130];
    const products: { g: Gemm; want: Float64Array; scale: Float64Array }[] = [];
    const shared = randUniform([600, 70], { dtype: "float32", seed: 99 }); // B of several products (packed once)
    for (const [i, m] of rows.entries()) {
      for (const dt of ["float32", "float64"] as const) {
        const k = i % 2 === 0 ? 600 : 90; // 600 > 256: split along k by the small budget below
        const n = i % 2 === 0 ? 70 : 41;
        const a = transpose(randUniform([k, m], { dtype: dt, seed: i }), 0, 1); // [m, k], column-major
        const b = n === 70 && dt === "float32" ? shared : randUniform([k, n], { dtype: dt, seed: 50 + i });
        const c = dt === "float32" ? new Float32Array(m * n) : new Float64Array(m * n);
        const g: Gemm = {
          m, n, k, a: a.data, aOffset: a.offset, aRowStride: a.strides[0]!, aColStride: a.strides[1]!,
          b: b.data, bOffset: b.offset, bRowStride: b.strides[0]!, bColStride: b.strides[1]!, c, cOffset: 0,
        };
        const want = new Float64Array(m * n);
        referenceBackend.run([{ ...g, c: want }]);
        const scale = new Float64Array(m * n);
        referenceBackend.run([{ ...g, a: a.data.map(Math.abs), b: b.data.map(Math.abs), c: scale }]);
        products.push({ g, want, scale });
      }
    }
    // A small budget splits the products into pieces and several jobs.
    const before = { ...matmulPool()!.stats };
    runPackedParallel(products.map((p) => p.g), { threads: 2, budget: 30_000, callerWorks: false });
    const pool = matmulPool()!;
    expect(pool.size).toBeGreaterThanOrEqual(1);
    // The workers computed tiles (the calling thread may have rescued some while one started).
    expect(pool.stats.workerTasks - before.workerTasks, `worker errors: ${pool.stats.lastWorkerError}`).toBeGreaterThan(0);
    for (const { g, want, scale } of products) {
      const tol = g.c instanceof Float32Array ? (g.k + 2) * 2 ** -24 : 1e-13;
      for (let i = 0; i < want.length; i++) {
        if (!(Math.abs(g.c[i]! - want[i]!) <= tol * scale[i]!)) {
          throw new Error(`m=${g.m} n=${g.n} k=${g.k} ${g.c.constructor.name}: element ${i} is ${g.c[i]}, expected ${want[i]}`);
        }
      }
    }
  });

  it("finishes a job whose worker died unnoticed: the calling thread claims the tasks nobody claimed", () => {
    const a = randUniform([300, 200], { dtype: "float32", seed: 7 });
    const b = randUniform([200, 150], { dtype: "float32", seed: 8 });
    const c = new Float32Array(300 * 150);
    const g: Gemm = {
      m: 300, n: 150, k: 200, a: a.data, aOffset: 0, aRowStride: 200, aColStride: 1,
      b: b.data, bOffset: 0, bRowStride: 150, bColStride: 1, c, cOffset: 0,
    };
    runPackedParallel([g], { threads: 2 }); // the pool and its worker exist
    const pool = matmulPool()!;
    const worker = (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers[0]!.worker;
    // The worker's exit event cannot reach this thread before the product: the pool still counts it.
    void worker.terminate();
    // terminate() stops the thread asynchronously: on a loaded machine the worker could still
    // claim a task of the next job and die in the middle of it, which the pool reports only
    // after STALL_MS (a task that is claimed but never finishes). Give it time to stop, blocking
    // this thread so that the exit event still cannot arrive.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const rescuedBefore = pool.stats.rescuedJobs;
    const started = Date.now();
    c.fill(0);
    runPackedParallel([g], { threads: 2, budget: 100_000, callerWorks: false });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(pool.stats.rescuedJobs).toBeGreaterThan(rescuedBefore);
    const want = new Float64Array(300 * 150);
    referenceBackend.run([{ ...g, c: want }]);
    for (let i = 0; i < want.length; i++) expect(Math.abs(c[i]! - want[i]!)).toBeLessThan(1e-3);
  });

  it("closes each job when it finishes: a worker that looks late finds nothing to claim, whatever the slot holds by then", () => {
    // A worker descheduled after its last task of job J looks at the claim word once more. By
    // then the calling thread may have laid out other work in J's slot (a product too small for
    // the pool runs from slot 0 on this thread). Were J's claim word left open, the late worker
    // would read that slot's new task count, claim a task of the new work and count it done.
    const product = (m: number, n: number, k: number): Gemm => {
      const a = randUniform([m, k], { dtype: "float32", seed: m });
      const b = randUniform([k, n], { dtype: "float32", seed: n });
      return { m, n, k, a: a.data, aOffset: 0, aRowStride: k, aColStride: 1, b: b.data, bOffset: 0, bRowStride: n, bColStride: 1, c: new Float32Array(m * n), cOffset: 0 };
    };
    runPackedParallel([product(8, 8, 16)], { threads: 2 }); // a job of one task
    const pool = matmulPool()!;
    if (pool.nextSlot === 0) runPackedParallel([product(8, 8, 16)], { threads: 2 }); // so that the last job ran in slot 0
    expect(pool.nextSlot).toBe(1);
    createCpuBackend({ threads: 1 }).run([product(256, 512, 16)]); // 8 tasks in slot 0, on this thread
    // This thread now plays the late worker.
    expect(kernelRuntime()!.kernels.run_tasks!()).toBe(0);
  });

  it("starts its workers on request: startMatmulPool resolves to the default thread count, all ready", async () => {
    expect(matmulPoolUnavailable()).toBeUndefined();
    const threads = await startMatmulPool();
    expect(threads).toBe(Math.min(8, availableParallelism()));
    expect(matmulPool()!.readySize).toBe(threads - 1);
    expect(await startMatmulPool(1)).toBe(1);
  });

  it("gives jobs only to ready workers where workers start once the caller returns to its event loop (Web Workers)", async () => {
    // Node's transport made to behave as the browser's: workers not yet ready get no job.
    const node = poolTransport(true) as PoolTransport;
    let spawned = 0;
    const transport: PoolTransport = { ...node, startsWhileBlocked: false, spawn: (init, events) => (spawned++, node.spawn(init, events)) };
    const pool = new MatmulPool(transport, kernelRuntime()!);
    try {
      const a = randUniform([120, 200], { dtype: "float32", seed: 5 });
      const b = randUniform([200, 90], { dtype: "float32", seed: 6 });
      const want = matmul(a, b, { backend: createCpuBackend({ threads: 1 }) });
      const run = () => {
        const c = new Float32Array(120 * 90);
        const g: Gemm = { m: 120, n: 90, k: 200, a: a.data, aOffset: 0, aRowStride: 200, aColStride: 1, b: b.data, bOffset: 0, bRowStride: 90, bColStride: 1, c, cOffset: 0 };
        runPackedParallel([g], { threads: 2, callerWorks: false, pool });
        return Array.from(c);
      };
      // The worker is started but has not said it is ready: the calling thread does every task at once, with no rescue.
      expect(run()).toEqual(Array.from(want.toFlat()));
      expect(spawned).toBe(1);
      expect(pool.stats).toMatchObject({ workerTasks: 0, rescuedJobs: 0 });
      expect(pool.stats.callerTasks).toBeGreaterThan(0);
      // Once ready, it takes the tasks.
      expect(await pool.whenReady(1)).toBe(1);
      expect(run()).toEqual(Array.from(want.toFlat()));
      expect(pool.stats.workerTasks, `worker errors: ${pool.stats.lastWorkerError}`).toBeGreaterThan(0);
      expect(pool.stats.rescuedJobs).toBe(0);
    } finally {
      await pool.shutdown();
    }
  });

  it("waits for a worker that never says it is ready once, then counts it without waiting, and once it is ready", async () => {
    const node = poolTransport(true) as PoolTransport;
    let sayReady: (() => void) | undefined;
    const transport: PoolTransport = {
      ...node,
      startsWhileBlocked: false,
      spawn: (_init, events) => {
        sayReady = events.ready;
        return { wake() {}, terminate() {} };
      },
    };
    const pool = new MatmulPool(transport, kernelRuntime()!);
    let t0 = Date.now();
    expect(await pool.whenReady(1, 200)).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    t0 = Date.now();
    expect(await pool.whenReady(1, 60_000)).toBe(0); // not waited for again
    expect(Date.now() - t0).toBeLessThan(1000);
    sayReady!();
    expect(await pool.whenReady(1, 60_000)).toBe(1);
    expect(pool.size).toBe(1); // the same worker, not a new one
  });

  it("retires its workers after a job they leave unfinished (a task that stalls or fails), then works alone and right", async () => {
    const rt = kernelRuntime()!;
    const a = randUniform([120, 200], { dtype: "float32", seed: 11 });
    const b = randUniform([200, 90], { dtype: "float32", seed: 12 });
    const want = Array.from(matmul(a, b, { backend: createCpuBackend({ threads: 1 }) }).toFlat());
    const run = (pool: MatmulPool): number[] => {
      const c = new Float32Array(120 * 90);
      const g: Gemm = { m: 120, n: 90, k: 200, a: a.data, aOffset: 0, aRowStride: 200, aColStride: 1, b: b.data, bOffset: 0, bRowStride: 90, bColStride: 1, c, cOffset: 0 };
      runPackedParallel([g], { threads: 2, pool });
      return Array.from(c);
    };
    // What goes wrong in the next job, right after it is published: a task claimed by a thread that never finishes it, or a worker's failure report.
    const failures = {
      stall: () => Atomics.add(rt.i32, CONTROL.claim / 4, 1),
      error: () => Atomics.store(rt.i32, CONTROL.error / 4, 1),
    };
    for (const [kind, fail] of Object.entries(failures)) {
      const pool = new MatmulPool(poolTransport(true) as PoolTransport, rt, 300);
      try {
        expect(await pool.whenReady(1)).toBe(1);
        expect(run(pool)).toEqual(want);
        const start = pool.start.bind(pool);
        pool.start = (count, threads) => {
          const job = start(count, threads);
          fail();
          pool.start = start;
          return job;
        };
        expect(() => run(pool)).toThrow(
          kind === "stall"
            ? /^matmul: 1 of \d+ tasks of a job stayed unfinished for 0.3 s \(a worker died or hung in the middle of one\); the worker threads are stopped and matmuls run on the calling thread from now on$/
            : /^matmul: a task failed in a worker thread; the worker threads are stopped/,
        );
        expect(pool.size).toBe(0);
        expect(pool.stats.retired).toMatch(kind === "stall" ? /stayed unfinished/ : /a task failed/);
        // No worker again, and the calling thread alone gets the right numbers.
        const workerTasks = pool.stats.workerTasks;
        expect(await pool.whenReady(1, 50)).toBe(0);
        expect(run(pool)).toEqual(want);
        expect(pool.size).toBe(0);
        expect(pool.stats.workerTasks).toBe(workerTasks);
      } finally {
        await pool.shutdown();
      }
    }
  });

  it("stops starting workers that keep failing, and then works alone", async () => {
    const node = poolTransport(true) as PoolTransport;
    let spawned = 0;
    const transport: PoolTransport = {
      ...node,
      spawn: (_init, events) => {
        spawned++;
        setTimeout(() => events.error("cannot load the worker script"), 0);
        return { wake() {}, terminate() {} };
      },
    };
    const pool = new MatmulPool(transport, kernelRuntime()!);
    for (let i = 0; i < 5; i++) await pool.whenReady(1);
    expect(spawned).toBe(3);
    expect(pool.stats).toMatchObject({ workerErrors: 3, lastWorkerError: "cannot load the worker script" });
    expect(pool.size).toBe(0);
    const a = randUniform([64, 64], { seed: 1 });
    const c = new Float32Array(64 * 64);
    runPackedParallel([{ m: 64, n: 64, k: 64, a: a.data, aOffset: 0, aRowStride: 64, aColStride: 1, b: a.data, bOffset: 0, bRowStride: 64, bColStride: 1, c, cOffset: 0 }], { threads: 2, callerWorks: false, pool });
    expect(Array.from(c)).toEqual(Array.from(matmul(a, a, { backend: createCpuBackend({ threads: 1 }) }).toFlat()));
    expect(pool.stats).toMatchObject({ workerTasks: 0, rescuedJobs: 0 });
  });

  it("never grows the shared workspace: it is made whole, so workers never compute on pages they have not seen", () => {
    const rt = kernelRuntime()!;
    expect(rt.shared).toBe(true);
    const before = rt.memory.buffer.byteLength;
    expect(before).toBeGreaterThanOrEqual(WORKSPACE_BYTES);
    // Products large enough to fill both arenas, split into several pipelined jobs.
    const a = randUniform([700, 1500], { seed: 3 });
    const b = randUniform([1500, 900], { seed: 4 });
    const got = matmul(a, b, { backend: createCpuBackend({ threads: 2, parallelThreshold: 0 }) });
    expect(rt.memory.buffer.byteLength).toBe(before);
    for (const [i, j] of [[0, 0], [350, 450], [699, 899]] as const) {
      let dot = 0;
      for (let p = 0; p < 1500; p++) dot += a.get(i, p) * b.get(p, j);
      expect(Math.abs(got.get(i, j) - dot)).toBeLessThan(1e-3);
    }
  });

  it("starts a new pool after shutdownMatmulPool", async () => {
    const backend = createCpuBackend({ threads: 2, parallelThreshold: 0 });
    const a = randUniform([40, 50], { seed: 1 });
    const b = randUniform([50, 60], { seed: 2 });
    const before = matmul(a, b, { backend }).toFlat();
    await shutdownMatmulPool();
    expect(Array.from(matmul(a, b, { backend }).toFlat())).toEqual(Array.from(before));
  });

  it("handles a parallel-eligible batch whose products all take the direct path", () => {
    const backend = createCpuBackend({ threads: 2, parallelThreshold: 0 });
    const a = randUniform([5, 2, 3], { dtype: "float64", seed: 21 });
    const b = randUniform([3, 9], { dtype: "float64", seed: 22 });
    expectClose(matmul(a, b, { backend }), referenceMatmul(a, b), 1e-13, "2 x 3 @ 3 x 9, batch 5");
  });

  it("rejects a bad thread count with a clear error", () => {
    expect(() => createCpuBackend({ threads: 0 })).toThrow(/threads must be an integer/);
    expect(() => createCpuBackend({ threads: 1.5 })).toThrow(/threads must be an integer/);
  });

  it("gives the same result from 1 and 2 threads through setDefaultMatmulBackend", () => {
    const a = randUniform([3, 70, 80], { seed: 7 });
    const b = randUniform([80, 90], { seed: 8 });
    const previous = setDefaultMatmulBackend(createCpuBackend({ threads: 1 }));
    try {
      const one = matmul(a, b).toFlat();
      setDefaultMatmulBackend(createCpuBackend({ threads: 2, parallelThreshold: 0 }));
      // Same tiles, same summation order: bit-identical.
      expect(Array.from(matmul(a, b).toFlat())).toEqual(Array.from(one));
    } finally {
      setDefaultMatmulBackend(previous);
    }
  });

  it("never keeps a process alive, under tsx from the TypeScript source", () => {
    const run = runScript([
      "const backend = createCpuBackend({ threads: 2, parallelThreshold: 0 });",
      "const c = matmul(randUniform([200, 300], { seed: 1 }), randUniform([300, 100], { seed: 2 }), { backend });",
      "console.log(c.shape.join('x'), Number.isFinite(c.toFlat().reduce((s, v) => s + v, 0)));",
      // The worker code runs from its source text as tsx transpiled it (with keepNames' __name): it must start and say it is ready.
      "console.log(await startMatmulPool(2));",
    ]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe("200x100 true\n2");
  });
});

describe("the wasm kernel where the engine differs", () => {
  // The script checks every element of a float32 product against float64 sums, with the
  // float32-sum tolerance, and prints what the runtime found.
  const check = [
    "const { kernelRuntime } = await import(RUNTIME);",
    "const a = randUniform([37, 300], { seed: 1, low: -1, high: 1 }), b = randUniform([300, 45], { seed: 2, low: -1, high: 1 });",
    "const c = matmul(a, b, { backend: createCpuBackend({ threads: 2, parallelThreshold: 0 }) });",
    "let worst = 0;",
    "for (let i = 0; i < 37; i++) for (let j = 0; j < 45; j++) {",
    "  let sum = 0, scale = 0;",
    "  for (let p = 0; p < 300; p++) { const x = a.data[i * 300 + p] * b.data[p * 45 + j]; sum += x; scale += Math.abs(x); }",
    "  worst = Math.max(worst, Math.abs(c.data[i * 45 + j] - sum) / scale);",
    "}",
    "const rt = kernelRuntime();",
    "console.log(`relaxed ${rt.relaxed} shared ${rt.shared} threads ${defaultMatmulThreads()} ok ${worst <= 302 * 2 ** -24}`);",
  ];

  it("uses relaxed SIMD's multiply-add where the engine has it (here behind a flag) and stays within float32 rounding", () => {
    const run = runScript(check, ["--experimental-wasm-relaxed-simd"]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toMatch(/^relaxed true shared true threads \d+ ok true$/);
  });

  it("runs on the calling thread over unshared memory where SharedArrayBuffer is missing (a page without cross-origin isolation)", () => {
    const run = runScript(["delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;", ...check, "console.log(matmulPoolUnavailable(), await startMatmulPool());"]);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("relaxed false shared false threads 1 ok true\nthis engine has no SharedArrayBuffer 1");
  });
});

/**
 * Runs `lines` as a TypeScript module in a fresh Node process (tsx's loader, extra Node
 * `flags`), with `createCpuBackend`, `defaultMatmulThreads`, `matmul`, `matmulPoolUnavailable`,
 * `randUniform` and `startMatmulPool` of the
 * package imported after the lines run, and `RUNTIME` naming the kernel runtime's module.
 */
function runScript(lines: string[], flags: string[] = []): SpawnSyncReturns<string> {
  const dir = mkdtempSync(join(tmpdir(), "gim-matmul-"));
  try {
    const script = join(dir, "script.mts");
    const index = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const runtime = fileURLToPath(new URL("../src/wasm/runtime.ts", import.meta.url));
    writeFileSync(
      script,
      [
        `const RUNTIME = ${JSON.stringify(runtime)};`,
        // Imported dynamically, so that lines deleting globals run first.
        ...lines.filter((l) => l.startsWith("delete ")),
        `const { createCpuBackend, defaultMatmulThreads, matmul, matmulPoolUnavailable, randUniform, startMatmulPool } = await import(${JSON.stringify(index)});`,
        ...lines.filter((l) => !l.startsWith("delete ")),
      ].join("\n"),
    );
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href;
    return spawnSync(process.execPath, [...flags, "--import", tsx, script], { encoding: "utf8", timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
