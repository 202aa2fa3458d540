/**
 * The CPU matmul backend. Operands are packed from any strides into panels (so a transposed
 * view costs the same as a contiguous one), a register-blocked micro-kernel runs over
 * cache-sized tiles, and large batches are shared out to a pool of worker threads.
 *
 * Two kernels:
 * - `"wasm"` (the default): WebAssembly SIMD written at load time (`wasm-kernel.ts`), float32
 *   in `f32x4` with float32 sums, float64 in `f64x2` with float64 sums. Operands are packed
 *   into the kernels' memory, shared with the worker threads, so a parallel job copies nothing
 *   more;
 * - `"ts"`: the TypeScript kernel (`kernel.ts`), float64 sums whatever the dtype, on the
 *   calling thread: the fallback where WebAssembly SIMD is missing.
 *
 * Skinny or tiny products (m < 4, n < 4, or under 512 multiply-adds) take neither: direct
 * loops over the strided operands, with float64 sums, cost less than packing would.
 */
import { dtypeOf, type Storage } from "../dtype.js";
import { InputError } from "../errors.js";
import { JOBS, kernelRuntime, RAW_AT, RAW_BYTES, SLOT_BYTES, type KernelRuntime } from "../wasm/runtime.js";
import type { Gemm, MatmulBackend } from "./gemm.js";
import { computeTile, MC as TS_MC, MR as TS_MR, NC as TS_NC, NR as TS_NR, storeTile } from "./kernel.js";
import { packPanels } from "./pack.js";
import { defaultMatmulThreads, matmulPool, type MatmulPool } from "./pool.js";
import { F32_GEOMETRY, F64_GEOMETRY, SLOT_HEADER, TASK_FIELDS, type KernelGeometry } from "./wasm-kernel.js";

/** Which kernel a CPU backend runs. */
export type CpuKernel = "wasm" | "ts";

/** Options of {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /**
   * Threads to use, counting the calling thread (default: {@link defaultMatmulThreads}, the
   * available cores capped at 8, for the wasm kernel; 1 for the TypeScript kernel, which
   * runs on the calling thread only). `1` never starts a worker.
   */
  threads?: number;
  /**
   * Least number of flops (2 m n k summed over a batch) worth splitting across threads
   * (default 2^21, about 0.1 ms of work for one thread).
   */
  parallelThreshold?: number;
  /** `"wasm"` (default where WebAssembly SIMD exists) or `"ts"` (the TypeScript kernel). */
  kernel?: CpuKernel;
}

/** A CPU backend, with the settings it runs with. */
export interface CpuBackend extends MatmulBackend {
  /** Threads it uses, counting the calling thread. */
  readonly threads: number;
  /** Least flops in a batch before it goes parallel. */
  readonly parallelThreshold: number;
  readonly kernel: CpuKernel;
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const roundUp = (a: number, b: number): number => Math.ceil(a / b) * b;

/**
 * Creates a CPU backend. `createCpuBackend({ threads: 1 })` is single-threaded; the default
 * uses every core (see {@link CpuBackendOptions}).
 */
export function createCpuBackend(options: CpuBackendOptions = {}): CpuBackend {
  const runtime = kernelRuntime();
  const kernel = options.kernel ?? (runtime ? "wasm" : "ts");
  if (kernel !== "wasm" && kernel !== "ts") throw new InputError(`createCpuBackend: kernel must be "wasm" or "ts", got ${String(kernel)}`);
  if (kernel === "wasm" && !runtime) throw new InputError("createCpuBackend: the wasm kernel needs WebAssembly SIMD, which this engine lacks; use kernel: \"ts\"");
  const threads = options.threads ?? (kernel === "wasm" ? defaultMatmulThreads() : 1);
  const parallelThreshold = options.parallelThreshold ?? 1 << 21;
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new InputError(`createCpuBackend: threads must be an integer in [1, 256], got ${threads}`);
  }
  if (kernel === "ts" && threads !== 1) throw new InputError(`createCpuBackend: the ts kernel runs on the calling thread only (threads: 1), got threads: ${threads}`);
  if (!(parallelThreshold >= 0)) {
    throw new InputError(`createCpuBackend: parallelThreshold must be a number >= 0, got ${parallelThreshold}`);
  }
  return {
    name: kernel === "ts" ? "ts" : threads === 1 ? "wasm" : `wasm-${threads}t`,
    threads,
    parallelThreshold,
    kernel,
    run(batch) {
      const packed: Gemm[] = [];
      let flops = 0;
      for (const g of batch) {
        if (g.m === 0 || g.n === 0) continue;
        if (usesDirectPath(g)) {
          if (kernel === "ts" || !gemvWasm(runtime!, g)) gemmDirect(g);
        } else if (kernel === "ts") gemmPackedTs(g);
        else {
          packed.push(g);
          flops += 2 * g.m * g.n * g.k;
        }
      }
      if (packed.length === 0) return;
      const pool = threads > 1 && flops >= parallelThreshold ? matmulPool() : undefined;
      runWasm(packed, runtime!, pool ? threads : 1, pool);
    },
  };
}

/**
 * The default CPU backend: the WebAssembly SIMD kernel on every available core (capped at 8),
 * going parallel from about 0.1 ms of work; the TypeScript kernel where SIMD is missing.
 * `matmul` uses it unless told otherwise.
 */
export const cpuBackend: CpuBackend = createCpuBackend();

/** True when packing would not pay: fewer rows or columns than a micro-tile, or a tiny product. */
function usesDirectPath(g: Gemm): boolean {
  return g.m < 4 || g.n < 4 || g.k === 0 || g.m * g.n * g.k <= 512;
}

// Scratch buffers of the TypeScript kernel, grown on demand and reused across calls.
let scratchA: Float64Array = new Float64Array(0);
let scratchB: Float64Array = new Float64Array(0);
let scratchRow: Float64Array = new Float64Array(0);
const scratchAcc = new Float64Array(TS_MC * TS_NC);
/** Packing buffers larger than this (in float64 elements, 32 MiB) are dropped after a call. */
const KEEP_SCRATCH = 1 << 22;

/** `buffer` if it holds `length` elements, else a larger one. */
function atLeast(buffer: Float64Array, length: number): Float64Array {
  return buffer.length >= length ? buffer : new Float64Array(Math.max(length, buffer.length * 2));
}

/**
 * Direct loops for skinny and tiny products, with float64 sums. When B's rows are contiguous
 * (and C has at least 4 columns) each row of C is built as a sum of scaled rows of B, read in
 * sequence; otherwise each element is a dot product along a column of B.
 */
function gemmDirect(g: Gemm): void {
  const { m, n, k, a, b, c } = g;
  const ars = g.aRowStride, acs = g.aColStride, brs = g.bRowStride, bcs = g.bColStride;
  if (k === 0) {
    for (let i = 0; i < m; i++) c.fill(0, g.cOffset + i * n, g.cOffset + (i + 1) * n);
    return;
  }
  if (n >= 4 && Math.abs(bcs) <= Math.abs(brs)) {
    scratchRow = atLeast(scratchRow, n);
    const row = scratchRow;
    for (let i = 0; i < m; i++) {
      row.fill(0, 0, n);
      const pa = g.aOffset + i * ars;
      let p = 0;
      // Four rows of B per sweep over the accumulator row: a quarter of the loads and stores of `row`.
      for (; p + 4 <= k; p += 4) {
        const a0 = a[pa + p * acs]!, a1 = a[pa + (p + 1) * acs]!, a2 = a[pa + (p + 2) * acs]!, a3 = a[pa + (p + 3) * acs]!;
        let pb = g.bOffset + p * brs;
        for (let j = 0; j < n; j++, pb += bcs) {
          row[j] += a0 * b[pb]! + a1 * b[pb + brs]! + a2 * b[pb + 2 * brs]! + a3 * b[pb + 3 * brs]!;
        }
      }
      for (; p < k; p++) {
        const av = a[pa + p * acs]!;
        let pb = g.bOffset + p * brs;
        for (let j = 0; j < n; j++, pb += bcs) row[j] += av * b[pb]!;
      }
      const out = g.cOffset + i * n;
      for (let j = 0; j < n; j++) c[out + j] = row[j]!;
    }
  } else {
    for (let i = 0; i < m; i++) {
      const rowA = g.aOffset + i * ars;
      for (let j = 0; j < n; j++) {
        const colB = g.bOffset + j * bcs;
        // Four independent sums, so each add need not wait for the previous one.
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let p = 0;
        for (; p + 4 <= k; p += 4) {
          s0 += a[rowA + p * acs]! * b[colB + p * brs]!;
          s1 += a[rowA + (p + 1) * acs]! * b[colB + (p + 1) * brs]!;
          s2 += a[rowA + (p + 2) * acs]! * b[colB + (p + 2) * brs]!;
          s3 += a[rowA + (p + 3) * acs]! * b[colB + (p + 3) * brs]!;
        }
        for (; p < k; p++) s0 += a[rowA + p * acs]! * b[colB + p * brs]!;
        c[g.cOffset + i * n + j] = s0 + s1 + (s2 + s3);
      }
    }
  }
}

/**
 * One product with the TypeScript kernel: for each block of up to 256 columns of B (packed
 * once), each block of up to 64 rows of A is packed and multiplied into a float64 tile, then stored.
 */
function gemmPackedTs(g: Gemm): void {
  const { m, n, k } = g;
  scratchA = atLeast(scratchA, roundUp(Math.min(m, TS_MC), TS_MR) * k);
  scratchB = atLeast(scratchB, roundUp(Math.min(n, TS_NC), TS_NR) * k);
  const Ap = scratchA, Bp = scratchB;
  for (let jc = 0; jc < n; jc += TS_NC) {
    const cols = Math.min(TS_NC, n - jc);
    packPanels(g.b, g.bOffset + jc * g.bColStride, g.bColStride, g.bRowStride, cols, k, TS_NR, Bp, 0); // [cols/4, k, 4]
    for (let ic = 0; ic < m; ic += TS_MC) {
      const rows = Math.min(TS_MC, m - ic);
      packPanels(g.a, g.aOffset + ic * g.aRowStride, g.aRowStride, g.aColStride, rows, k, TS_MR, Ap, 0); // [rows/4, k, 4]
      computeTile(Ap, 0, Bp, 0, k, ceilDiv(rows, TS_MR), ceilDiv(cols, TS_NR), scratchAcc);
      storeTile(scratchAcc, ceilDiv(cols, TS_NR) * TS_NR, rows, cols, g.c, g.cOffset + ic * n + jc, n);
    }
  }
  // Panels of a very deep product are not worth keeping between calls.
  if (scratchB.length > KEEP_SCRATCH) scratchB = new Float64Array(0);
  if (scratchA.length > KEEP_SCRATCH) scratchA = new Float64Array(0);
}

// ---------------------------------------------------------------------------------------------
// The wasm kernel: products cut into pieces that fit an arena slot, pieces grouped into jobs,
// each job packed into its slot, its tiles computed by the task loop, its C copied out.

/** Rows and columns of the largest tile one task computes (before splitting for load balance). */
const TILE_ROWS = 64;
const TILE_COLS = 256;
/** Bytes of a slot's task table: up to 8192 tasks, as many as 16 x 32 tiles of a full slot of float32 C. */
const TASK_TABLE_BYTES = 8192 * TASK_FIELDS * 4;
/** Bytes of a slot left for packed operands and C. */
const DATA_BYTES = SLOT_BYTES - SLOT_HEADER - TASK_TABLE_BYTES;

/** Element size and micro-kernel geometry of a product, by the dtype of its output. */
function geometryOf(g: Gemm): { size: 4 | 8; geo: KernelGeometry } {
  return dtypeOf(g.c) === "float32" ? { size: 4, geo: F32_GEOMETRY } : { size: 8, geo: F64_GEOMETRY };
}

/** A block of one product (rows r0.., columns c0.., depth p0..) that one job computes. */
interface Piece {
  g: Gemm;
  r0: number;
  rows: number;
  c0: number;
  cols: number;
  p0: number;
  depth: number;
}

/** Bytes a piece needs in a slot: packed A rows, packed B columns and its padded C, each 16-byte aligned. */
function pieceBytes(rows: number, cols: number, depth: number, size: number, geo: KernelGeometry): number {
  const r = roundUp(rows, geo.mr);
  const c = roundUp(cols, geo.nr);
  return roundUp(r * depth * size, 16) + roundUp(c * depth * size, 16) + roundUp(r * c * size, 16);
}

/**
 * Cuts a product into pieces that fit a slot: deep products into blocks of k (their partial
 * products are summed when copied out), then wide ones into blocks of columns, then rows.
 */
function piecesOf(g: Gemm, budget: number): Piece[] {
  const { size, geo } = geometryOf(g);
  // The deepest block a 64 x 256 piece may have, in whole k blocks.
  const deepest = Math.max(geo.kc, Math.floor((budget / size - TILE_ROWS * TILE_COLS) / (TILE_ROWS + TILE_COLS) / geo.kc) * geo.kc);
  const depth = g.k <= deepest ? g.k : roundUp(ceilDiv(g.k, ceilDiv(g.k, deepest)), geo.kc);
  let rows = g.m;
  let cols = g.n;
  while (pieceBytes(rows, cols, depth, size, geo) > budget) {
    if (cols > TILE_COLS) cols = roundUp(ceilDiv(cols, 2), TILE_COLS);
    else if (rows > TILE_ROWS) rows = roundUp(ceilDiv(rows, 2), TILE_ROWS);
    else break;
  }
  const pieces: Piece[] = [];
  for (let r0 = 0; r0 < g.m; r0 += rows) {
    for (let c0 = 0; c0 < g.n; c0 += cols) {
      for (let p0 = 0; p0 < g.k; p0 += depth) {
        pieces.push({ g, r0, rows: Math.min(rows, g.m - r0), c0, cols: Math.min(cols, g.n - c0), p0, depth: Math.min(depth, g.k - p0) });
      }
    }
  }
  return pieces;
}

/** A job packed into its slot: where each piece's C lives, and how many tasks it has. */
interface PreparedJob {
  pieces: readonly Piece[];
  /** Byte offset of each piece's C and its row stride in bytes. */
  cAt: number[];
  ldc: number[];
  count: number;
}

/**
 * The packed products of a batch on `threads` threads (1: the calling thread alone). Pieces
 * are grouped into jobs that fit a slot; with a pool, the calling thread packs job i + 1 into
 * the other slot while the workers start on job i, then joins them.
 */
function runWasm(batch: readonly Gemm[], rt: KernelRuntime, threads: number, pool: MatmulPool | undefined, budget = DATA_BYTES, callerWorks = true): void {
  const pieces = batch.flatMap((g) => piecesOf(g, budget));
  const jobs: Piece[][] = [];
  for (let start = 0; start < pieces.length; ) {
    let end = start;
    let bytes = 0;
    while (end < pieces.length) {
      const p = pieces[end]!;
      const { size, geo } = geometryOf(p.g);
      const b = pieceBytes(p.rows, p.cols, p.depth, size, geo);
      if (end > start && bytes + b > budget) break;
      bytes += b;
      end++;
    }
    jobs.push(pieces.slice(start, end));
    start = end;
  }
  if (!pool) {
    for (const job of jobs) {
      const prepared = prepareJob(rt, job, 0, 1);
      runTasksHere(rt, 0, prepared.count);
      copyOut(rt, prepared);
    }
    return;
  }
  let next = prepareJob(rt, jobs[0]!, pool.nextSlot, threads);
  for (let i = 0; i < jobs.length; i++) {
    const current = next;
    const running = pool.start(current.count, threads);
    if (i + 1 < jobs.length) next = prepareJob(rt, jobs[i + 1]!, pool.nextSlot, threads);
    pool.finish(running, callerWorks);
    copyOut(rt, current);
  }
}

/** Byte offset of a slot. */
const slotAt = (slot: 0 | 1): number => JOBS.slots + slot * SLOT_BYTES;

/** Copies `runs` contiguous runs of `length` elements, `stride` apart from `first`, to `dst[at..]` back to back. */
function copyRuns(src: Storage, first: number, stride: number, length: number, runs: number, dst: Storage, at: number): void {
  if (stride === length) {
    dst.set(src.subarray(first, first + runs * length), at);
    return;
  }
  for (let r = 0; r < runs; r++) dst.set(src.subarray(first + r * stride, first + r * stride + length), at + r * length);
}

/**
 * Packs `count` strided vectors of `depth` elements into panels of `width` at byte `dst` of
 * the kernel memory (the layout of {@link packPanels}). Where one of the strides is 1 the
 * vectors are copied in runs (`TypedArray.set`, a memcpy) into the raw scratch, a block at a
 * time, and the kernel module packs them from there; other views are packed here in JS.
 */
function packWasm(
  rt: KernelRuntime, src: Storage, off: number, vecStride: number, kStride: number,
  count: number, depth: number, width: number, size: 4 | 8, dst: number,
): void {
  const dtype = size === 4 ? "f32" : "f64";
  const view = size === 4 ? rt.f32 : rt.f64;
  const raw = RAW_AT / size;
  const rawElems = RAW_BYTES / size;
  if (kStride === 1 && depth * width <= rawElems) {
    // Each vector is contiguous: copy whole panels of vectors, then transpose them into panels.
    const packer = rt.kernels[`pack_rows_${dtype}_${width}`]!;
    const chunk = Math.floor(rawElems / depth / width) * width;
    for (let v0 = 0; v0 < count; v0 += chunk) {
      const n = Math.min(chunk, count - v0);
      copyRuns(src, off + v0 * vecStride, vecStride, depth, n, view, raw);
      packer(RAW_AT, depth, n, depth, dst + v0 * depth * size);
    }
  } else if (vecStride === 1 && count <= rawElems) {
    // The vectors lie side by side: copy blocks of k, each step a run of `count`.
    const packer = rt.kernels[`pack_cols_${dtype}_${width}`]!;
    const chunk = Math.floor(rawElems / count);
    for (let p0 = 0; p0 < depth; p0 += chunk) {
      const n = Math.min(chunk, depth - p0);
      copyRuns(src, off + p0 * kStride, kStride, count, n, view, raw);
      packer(RAW_AT, count, count, n, dst + p0 * width * size, width * depth * size);
    }
  } else {
    packPanels(src, off, vecStride, kStride, count, depth, width, view, dst / size);
  }
}

/** Packs the operands of `pieces` into slot `slot`, lays out their C and writes the task table. */
function prepareJob(rt: KernelRuntime, pieces: readonly Piece[], slot: 0 | 1, threads: number): PreparedJob {
  // Tile sizes: the largest that still give every thread a few tasks to balance the load.
  let tileRows = TILE_ROWS;
  let tileCols = TILE_COLS;
  const taskCount = (): number => pieces.reduce((s, p) => s + ceilDiv(p.rows, tileRows) * ceilDiv(p.cols, tileCols), 0);
  while (threads > 1 && taskCount() < 4 * threads && (tileCols > 32 || tileRows > 16)) {
    if (tileCols >= 2 * tileRows && tileCols > 32) tileCols /= 2;
    else tileRows /= 2;
  }
  const base = slotAt(slot);
  const tableAt = base + SLOT_HEADER;
  let top = tableAt + TASK_TABLE_BYTES;
  const need = top + pieces.reduce((s, p) => {
    const { size, geo } = geometryOf(p.g);
    return s + pieceBytes(p.rows, p.cols, p.depth, size, geo);
  }, 0);
  if (need > base + SLOT_BYTES) throw new Error(`matmul: a job of ${need - base} bytes overflows its ${SLOT_BYTES}-byte slot (a bug in piecesOf)`);
  rt.reserve(need);
  // Where each distinct packed operand lives, keyed by storage, then view: a weight shared by
  // several products of the batch is packed once.
  const packedAt = new Map<Storage, Map<string, number>>();
  const pack = (src: Storage, off: number, vecStride: number, kStride: number, count: number, depth: number, width: number, size: 4 | 8): number => {
    const key = `${off},${vecStride},${kStride},${count},${depth},${width},${size}`;
    let views = packedAt.get(src);
    if (!views) packedAt.set(src, (views = new Map()));
    const found = views.get(key);
    if (found !== undefined) return found;
    const at = top;
    packWasm(rt, src, off, vecStride, kStride, count, depth, width, size, at);
    top += roundUp(roundUp(count, width) * depth * size, 16);
    views.set(key, at);
    return at;
  };
  const tasks = rt.i32;
  const cAt: number[] = [];
  const ldc: number[] = [];
  let t = 0;
  for (const { g, r0, rows, c0, cols, p0, depth } of pieces) {
    const { size, geo } = geometryOf(g);
    const aAt = pack(g.a, g.aOffset + r0 * g.aRowStride + p0 * g.aColStride, g.aRowStride, g.aColStride, rows, depth, geo.mr, size); // [rows/mr, depth, mr]
    const bAt = pack(g.b, g.bOffset + c0 * g.bColStride + p0 * g.bRowStride, g.bColStride, g.bRowStride, cols, depth, geo.nr, size); // [cols/nr, depth, nr]
    const ld = roundUp(cols, geo.nr) * size;
    const cBase = top;
    top += roundUp(roundUp(rows, geo.mr) * ld, 16); // [rows, cols] padded to whole micro-tiles
    cAt.push(cBase);
    ldc.push(ld);
    for (let i = 0; i < rows; i += tileRows) {
      for (let j = 0; j < cols; j += tileCols) {
        const r = (tableAt + t * TASK_FIELDS * 4) / 4;
        tasks[r] = size === 4 ? 0 : 1;
        tasks[r + 1] = aAt + i * depth * size;
        tasks[r + 2] = bAt + j * depth * size;
        tasks[r + 3] = depth;
        tasks[r + 4] = ceilDiv(Math.min(tileRows, rows - i), geo.mr);
        tasks[r + 5] = ceilDiv(Math.min(tileCols, cols - j), geo.nr);
        tasks[r + 6] = cBase + i * ld + j * size;
        tasks[r + 7] = ld;
        t++;
      }
    }
  }
  tasks[base / 4] = t; // the slot header: the task count
  return { pieces, cAt, ldc, count: t };
}

/** Runs every task of the job in `slot` on the calling thread. */
function runTasksHere(rt: KernelRuntime, slot: 0 | 1, count: number): void {
  const tasks = rt.i32;
  const { tile_f32, tile_f64 } = rt.kernels;
  for (let t = 0; t < count; t++) {
    const r = (slotAt(slot) + SLOT_HEADER + t * TASK_FIELDS * 4) / 4;
    (tasks[r] === 0 ? tile_f32 : tile_f64)(tasks[r + 1]!, tasks[r + 2]!, tasks[r + 3]!, tasks[r + 4]!, tasks[r + 5]!, tasks[r + 6]!, tasks[r + 7]!);
  }
}

/** Copies each piece's C to its product's output; a piece deeper in k than the first adds to it. */
function copyOut(rt: KernelRuntime, job: PreparedJob): void {
  job.pieces.forEach(({ g, r0, rows, c0, cols, p0 }, i) => {
    const size = dtypeOf(g.c) === "float32" ? 4 : 8;
    const view = size === 4 ? rt.f32 : rt.f64;
    const at = job.cAt[i]! / size;
    const ld = job.ldc[i]! / size;
    if (p0 === 0 && ld === cols && cols === g.n) {
      // Whole rows with no padding: one copy.
      g.c.set(view.subarray(at, at + rows * cols), g.cOffset + r0 * g.n);
      return;
    }
    for (let r = 0; r < rows; r++) {
      const from = at + r * ld;
      const to = g.cOffset + (r0 + r) * g.n + c0;
      if (p0 === 0) g.c.set(view.subarray(from, from + cols), to);
      else for (let j = 0; j < cols; j++) g.c[to + j] += view[from + j]!;
    }
  });
}

/** Least multiply-adds for which a product with fewer than 4 rows goes to the wasm vector kernels. */
const GEMV_WORK = 1 << 14;

/**
 * Products of 1 to 3 rows (a vector times a matrix, as the unembedding of one position and
 * its gradient) on the wasm vector kernels, on the calling thread, using slot 0 as scratch
 * (no job is running). Where B's columns are contiguous (`x @ W^T`), blocks of them are copied
 * and each row of C is a dot product; where B's rows are contiguous (`dy @ W`), each row of C
 * is a combination of the rows of B, and a row whose coefficients are all zero is neither
 * copied nor added (as reference BLAS skips zeros, it then contributes 0 even against an
 * infinity or NaN in B: the one-hot gradient of a single logit costs one row, not the matrix).
 * Returns false when neither applies, for the direct loops.
 */
function gemvWasm(rt: KernelRuntime, g: Gemm): boolean {
  const { m, n, k } = g;
  if (m >= 4 || m * n * k < GEMV_WORK || (g.bColStride !== 1 && g.bRowStride !== 1)) return false;
  const size = dtypeOf(g.c) === "float32" ? 4 : 8;
  const base = slotAt(0);
  const xAt = base; // [m, k] rows of A, or the coefficients of a block of rows of B
  const yAt = xAt + roundUp(m * k * size, 16); // [m, n]
  const rawAt = yAt + roundUp(m * n * size, 16);
  const rawElems = Math.floor((base + SLOT_BYTES - rawAt) / size);
  const runLength = g.bColStride === 1 ? n : k;
  if (runLength > rawElems) return false;
  rt.reserve(base + SLOT_BYTES);
  const view = size === 4 ? rt.f32 : rt.f64;
  const [x, y, raw] = [xAt / size, yAt / size, rawAt / size];
  if (g.bColStride === 1) {
    const axpy = size === 4 ? rt.kernels.axpy_f32 : rt.kernels.axpy_f64;
    view.fill(0, y, y + m * n);
    // Blocks of up to `chunk` rows of B with a non-zero coefficient; xs[i] holds row i's coefficients.
    const chunk = Math.min(Math.floor(rawElems / n), Math.floor((yAt - xAt) / size / m));
    let rows = 0;
    const flush = (): void => {
      for (let i = 0; i < m; i++) axpy(xAt + i * chunk * size, rawAt, n, n, rows, yAt + i * n * size);
      rows = 0;
    };
    for (let p = 0; p < k; p++) {
      let any = false;
      for (let i = 0; i < m; i++) any ||= g.a[g.aOffset + i * g.aRowStride + p * g.aColStride] !== 0;
      if (!any) continue;
      for (let i = 0; i < m; i++) view[x + i * chunk + rows] = g.a[g.aOffset + i * g.aRowStride + p * g.aColStride]!;
      const from = g.bOffset + p * g.bRowStride;
      view.set(g.b.subarray(from, from + n), raw + rows * n);
      if (++rows === chunk) flush();
    }
    if (rows > 0) flush();
  } else {
    const dot = size === 4 ? rt.kernels.dot_f32 : rt.kernels.dot_f64;
    for (let i = 0; i < m; i++) {
      const from = g.aOffset + i * g.aRowStride;
      if (g.aColStride === 1) view.set(g.a.subarray(from, from + k), x + i * k);
      else for (let p = 0; p < k; p++) view[x + i * k + p] = g.a[from + p * g.aColStride]!;
    }
    const chunk = Math.floor(rawElems / k);
    for (let j0 = 0; j0 < n; j0 += chunk) {
      const cols = Math.min(chunk, n - j0);
      copyRuns(g.b, g.bOffset + j0 * g.bColStride, g.bColStride, k, cols, view, raw);
      for (let i = 0; i < m; i++) dot(xAt + i * k * size, rawAt, k, cols, k, yAt + (i * n + j0) * size);
    }
  }
  for (let i = 0; i < m; i++) g.c.set(view.subarray(y + i * n, y + (i + 1) * n), g.cOffset + i * n);
  return true;
}

/**
 * The parallel path on its own, for tests: every product of `batch` (each at least 4 x 4, on
 * the wasm kernel) on `threads` threads, with `budget` bytes of packed data per job (smaller
 * values force products to be split into pieces and jobs) and, with `callerWorks: false`,
 * every task left to the workers, on `pool` (default: the shared pool). Throws where worker
 * threads are not available.
 */
export function runPackedParallel(
  batch: readonly Gemm[],
  options: { threads: number; budget?: number; callerWorks?: boolean; pool?: MatmulPool },
): void {
  const rt = kernelRuntime();
  const pool = options.pool ?? matmulPool();
  if (!rt || !pool) throw new Error("runPackedParallel: worker threads are not available here");
  const live = batch.filter((g) => g.m > 0 && g.n > 0);
  if (live.some(usesDirectPath)) throw new RangeError("runPackedParallel: every product must be at least 4 x 4 (smaller ones take the direct path)");
  const budget = Math.min(options.budget ?? DATA_BYTES, DATA_BYTES);
  runWasm(live, rt, options.threads, pool, budget, options.callerWorks ?? true);
}
