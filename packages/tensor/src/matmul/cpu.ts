/**
 * The fast CPU matmul backend: operands are packed from any strides into 4-wide panels (so a
 * transposed view costs the same as a contiguous one), a 4x4 register-blocked micro-kernel
 * runs over cache-sized tiles, and large batches are split across a pool of worker threads.
 *
 * Three paths, by size:
 * - skinny or tiny products (m < 4, n < 4, or under 512 multiply-adds) run a direct loop over
 *   the strided operands: packing would cost as much as the product;
 * - everything else runs the packed kernel, one tile of at most 64 x 256 of C at a time;
 * - when a batch holds enough work (`parallelThreshold` flops) and `threads > 1`, the packed
 *   products are packed once into shared memory and their tiles shared out to the pool.
 */
import type { Storage } from "../dtype.js";
import type { Gemm, MatmulBackend } from "./gemm.js";
import { computeTile, MC, MR, NC, NR, packPanels, storeTile, TASK_FIELDS } from "./kernel.js";
import { defaultMatmulThreads, matmulPool, type MatmulPool } from "./pool.js";

/** Options of {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /**
   * Threads to use, counting the calling thread (default: {@link defaultMatmulThreads}, the
   * available cores capped at 8). `1` never starts a worker.
   */
  threads?: number;
  /**
   * Least number of flops (2 m n k summed over a batch) worth splitting across threads
   * (default 2^21, about half a millisecond of work for one thread: on 2 cores, two threads
   * measured faster than one from about 96^3 on).
   */
  parallelThreshold?: number;
}

/** A CPU backend, with the settings it runs with. */
export interface CpuBackend extends MatmulBackend {
  /** Threads it uses, counting the calling thread. */
  readonly threads: number;
  /** Least flops in a batch before it goes parallel. */
  readonly parallelThreshold: number;
}

/** Float64 elements one parallel job may pack into shared memory (128 MiB); larger products are split. */
const JOB_BUDGET = 1 << 24;
/** Packing buffers larger than this (in float64 elements, 32 MiB) are dropped after a call. */
const KEEP_SCRATCH = 1 << 22;

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
const roundUp = (a: number, b: number): number => Math.ceil(a / b) * b;

/**
 * Creates a CPU backend. `createCpuBackend({ threads: 1 })` is single-threaded; the default
 * uses every core (see {@link CpuBackendOptions}).
 */
export function createCpuBackend(options: CpuBackendOptions = {}): CpuBackend {
  const threads = options.threads ?? defaultMatmulThreads();
  const parallelThreshold = options.parallelThreshold ?? 1 << 21;
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new RangeError(`createCpuBackend: threads must be an integer in [1, 256], got ${threads}`);
  }
  if (!(parallelThreshold >= 0)) {
    throw new RangeError(`createCpuBackend: parallelThreshold must be a number >= 0, got ${parallelThreshold}`);
  }
  return {
    name: threads === 1 ? "cpu" : `cpu-${threads}t`,
    threads,
    parallelThreshold,
    run(batch) {
      const packed: Gemm[] = [];
      let flops = 0;
      for (const g of batch) {
        if (g.m === 0 || g.n === 0) continue;
        if (usesDirectPath(g)) gemmDirect(g);
        // So deep (k over ~50000) that one tile's panels overflow a job: stay on this thread.
        else if (pieceSize(Math.min(g.m, MC), Math.min(g.n, NC), g.k) > JOB_BUDGET) gemmPacked(g);
        else {
          packed.push(g);
          flops += 2 * g.m * g.n * g.k;
        }
      }
      const pool = threads > 1 && flops >= parallelThreshold ? matmulPool() : undefined;
      if (pool) runParallel(packed, threads, pool, JOB_BUDGET, true);
      else for (const g of packed) gemmPacked(g);
    },
  };
}

/**
 * The default CPU backend: the packed kernel on every available core (capped at 8), going
 * parallel from about half a millisecond of work. `matmul` uses it unless told otherwise.
 */
export const cpuBackend: CpuBackend = createCpuBackend();

/** True when packing would not pay: fewer rows or columns than a micro-tile, or a tiny product. */
function usesDirectPath(g: Gemm): boolean {
  return g.m < MR || g.n < NR || g.k === 0 || g.m * g.n * g.k <= 512;
}

// Scratch buffers of the calling thread, grown on demand and reused across calls.
let scratchA: Float64Array = new Float64Array(0);
let scratchB: Float64Array = new Float64Array(0);
let scratchRow: Float64Array = new Float64Array(0);
const scratchAcc = new Float64Array(MC * NC);

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
 * One product on the calling thread: for each block of up to 256 columns of B (packed once),
 * each block of up to 64 rows of A is packed and multiplied into a float64 tile, then stored.
 */
function gemmPacked(g: Gemm): void {
  const { m, n, k } = g;
  scratchA = atLeast(scratchA, roundUp(Math.min(m, MC), MR) * k);
  scratchB = atLeast(scratchB, roundUp(Math.min(n, NC), NR) * k);
  const Ap = scratchA, Bp = scratchB;
  for (let jc = 0; jc < n; jc += NC) {
    const cols = Math.min(NC, n - jc);
    packPanels(g.b, g.bOffset + jc * g.bColStride, g.bColStride, g.bRowStride, cols, k, Bp, 0); // [cols/4, k, 4]
    for (let ic = 0; ic < m; ic += MC) {
      const rows = Math.min(MC, m - ic);
      packPanels(g.a, g.aOffset + ic * g.aRowStride, g.aRowStride, g.aColStride, rows, k, Ap, 0); // [rows/4, k, 4]
      computeTile(Ap, 0, Bp, 0, k, ceilDiv(rows, MR), ceilDiv(cols, NR), scratchAcc);
      storeTile(scratchAcc, ceilDiv(cols, NR) * NR, rows, cols, g.c, g.cOffset + ic * n + jc, n);
    }
  }
  // Panels of a very deep product are not worth keeping between calls.
  if (scratchB.length > KEEP_SCRATCH) scratchB = new Float64Array(0);
  if (scratchA.length > KEEP_SCRATCH) scratchA = new Float64Array(0);
}

/** A block of one product (rows r0.., columns c0..) that one parallel job computes. */
interface Piece {
  g: Gemm;
  r0: number;
  rows: number;
  c0: number;
  cols: number;
}

/** Float64 elements a piece needs in the arena: packed A rows, packed B columns, C. */
function pieceSize(rows: number, cols: number, k: number): number {
  return roundUp(rows, MR) * k + roundUp(cols, NR) * k + rows * cols;
}

/** Splits products whose packed operands exceed the job budget into blocks of columns, then rows. */
function piecesOf(g: Gemm, budget: number): Piece[] {
  let rows = g.m;
  let cols = g.n;
  while (pieceSize(rows, cols, g.k) > budget) {
    if (cols > NC) cols = roundUp(ceilDiv(cols, 2), NC);
    else if (rows > MC) rows = roundUp(ceilDiv(rows, 2), MC);
    else break;
  }
  const pieces: Piece[] = [];
  for (let r0 = 0; r0 < g.m; r0 += rows) {
    for (let c0 = 0; c0 < g.n; c0 += cols) {
      pieces.push({ g, r0, rows: Math.min(rows, g.m - r0), c0, cols: Math.min(cols, g.n - c0) });
    }
  }
  return pieces;
}

/**
 * The packed products of a batch on `threads` threads. Pieces are grouped into jobs that fit
 * the budget; per job the calling thread packs every operand once into the shared arena (an
 * operand shared by several products, as a broadcast weight is, is packed once), the pool
 * computes the tiles, and the calling thread copies C back.
 */
function runParallel(batch: readonly Gemm[], threads: number, pool: MatmulPool, budget: number, callerWorks: boolean): void {
  const pieces = batch.flatMap((g) => piecesOf(g, budget));
  if (pieces.length === 0) return;
  const jobs: { pieces: Piece[]; size: number }[] = [];
  for (let start = 0; start < pieces.length; ) {
    let end = start;
    let size = 0;
    while (end < pieces.length) {
      const p = pieces[end]!;
      const s = pieceSize(p.rows, p.cols, p.g.k);
      if (end > start && size + s > budget) break;
      size += s;
      end++;
    }
    jobs.push({ pieces: pieces.slice(start, end), size });
    start = end;
  }
  // Double buffering: while the workers run job i, this thread packs job i + 1 into the other
  // arena, then joins job i. Packing is serial, so this hides it for products split in jobs.
  let next = prepareJob(jobs[0]!.pieces, pool.arena(0, jobs[0]!.size), threads);
  for (let i = 0; i < jobs.length; i++) {
    const current = next;
    const running = pool.start({ arena: current.arena, tasks: current.tasks, count: current.count, threads, callerWorks });
    if (i + 1 < jobs.length) next = prepareJob(jobs[i + 1]!.pieces, pool.arena(((i + 1) % 2) as 0 | 1, jobs[i + 1]!.size), threads);
    pool.finish(running);
    current.pieces.forEach(({ g, r0, rows, c0, cols }, p) => {
      for (let r = 0; r < rows; r++) {
        const from = current.cAt[p]! + r * cols;
        g.c.set(current.arena.subarray(from, from + cols), g.cOffset + (r0 + r) * g.n + c0);
      }
    });
  }
  pool.trimArenas();
}

/** A job packed into its arena, with its task table and where each piece's C lives. */
interface PreparedJob {
  pieces: readonly Piece[];
  arena: Float64Array;
  tasks: Int32Array;
  count: number;
  cAt: number[];
}

/** Packs the operands of `pieces` into `arena` and cuts their C into tasks. */
function prepareJob(pieces: readonly Piece[], arena: Float64Array, threads: number): PreparedJob {
  // Tile sizes: the largest that still give every thread a few tasks to balance the load.
  let tileRows = MC;
  let tileCols = NC;
  const taskCount = (): number => pieces.reduce((s, p) => s + ceilDiv(p.rows, tileRows) * ceilDiv(p.cols, tileCols), 0);
  while (taskCount() < 4 * threads && (tileCols > 32 || tileRows > 16)) {
    if (tileCols >= 2 * tileRows && tileCols > 32) tileCols /= 2;
    else tileRows /= 2;
  }
  const tasks = new Int32Array(taskCount() * TASK_FIELDS);
  // Where each distinct packed operand lives in the arena, keyed by storage, then view.
  const packedAt = new Map<Storage, Map<string, number>>();
  let top = 0;
  const pack = (src: Storage, off: number, vecStride: number, kStride: number, count: number, k: number): number => {
    const key = `${off},${vecStride},${kStride},${count},${k}`;
    let views = packedAt.get(src);
    if (!views) packedAt.set(src, (views = new Map()));
    const found = views.get(key);
    if (found !== undefined) return found;
    const at = top;
    packPanels(src, off, vecStride, kStride, count, k, arena, at);
    top += roundUp(count, 4) * k;
    views.set(key, at);
    return at;
  };
  const cAt: number[] = [];
  let t = 0;
  for (const { g, r0, rows, c0, cols } of pieces) {
    const k = g.k;
    const aAt = pack(g.a, g.aOffset + r0 * g.aRowStride, g.aRowStride, g.aColStride, rows, k); // [rows/4, k, 4]
    const bAt = pack(g.b, g.bOffset + c0 * g.bColStride, g.bColStride, g.bRowStride, cols, k); // [cols/4, k, 4]
    const cBase = top;
    top += rows * cols; // [rows, cols]
    cAt.push(cBase);
    for (let i = 0; i < rows; i += tileRows) {
      for (let j = 0; j < cols; j += tileCols) {
        const tr = Math.min(tileRows, rows - i);
        const tc = Math.min(tileCols, cols - j);
        tasks.set([aAt + i * k, bAt + j * k, k, ceilDiv(tr, MR), ceilDiv(tc, NR), cBase + i * cols + j, cols, tr, tc], t * TASK_FIELDS);
        t++;
      }
    }
  }
  return { pieces, arena, tasks, count: t, cAt };
}

/**
 * The parallel path on its own, for tests: every product of `batch` (each at least 4 x 4) on
 * `threads` threads, with a packing budget of `budget` float64 elements per job (smaller
 * values force products to be split) and, with `callerWorks: false`, every task left to the
 * workers. Throws where worker threads are not available.
 */
export function runPackedParallel(
  batch: readonly Gemm[],
  options: { threads: number; budget?: number; callerWorks?: boolean },
): void {
  const pool = matmulPool();
  if (!pool) throw new Error("runPackedParallel: worker threads are not available here");
  const live = batch.filter((g) => g.m > 0 && g.n > 0);
  if (live.some(usesDirectPath)) throw new RangeError("runPackedParallel: every product must be at least 4 x 4 (smaller ones take the direct path)");
  runParallel(live, options.threads, pool, options.budget ?? JOB_BUDGET, options.callerWorks ?? true);
}
