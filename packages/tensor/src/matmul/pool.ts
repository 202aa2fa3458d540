/**
 * A persistent pool of worker threads for the CPU matmul, kept synchronous: the calling thread
 * posts a job, takes its own share of the tasks, then blocks in `Atomics.wait` until the last
 * task is done. Operands travel in a SharedArrayBuffer arena, so posting a job copies nothing.
 *
 * The worker is built from the kernel functions' own source text (`fn.toString()`), so one
 * definition serves the calling thread and the workers, and it loads the same way from
 * TypeScript source (vitest, tsx) and from compiled JavaScript (`tsc -b` output in dist):
 * there is no worker file whose path would differ between the three.
 *
 * Where `worker_threads`, SharedArrayBuffer or a blocking `Atomics.wait` are missing (browsers,
 * Node before 20.16, which lacks `process.getBuiltinModule`), `matmulPool()` returns undefined
 * and the CPU backend runs on one thread.
 */
import type { Worker } from "node:worker_threads";
import { CONTROL, computeTile, MC, microKernel4x4, NC, runTasks, storeTile } from "./kernel.js";

type WorkerThreads = typeof import("node:worker_threads");
type Os = typeof import("node:os");

/** Largest pool the default thread count picks, however many cores the machine has. */
const MAX_DEFAULT_THREADS = 8;
/** An arena larger than this many bytes is given back when its batch is done. */
const KEEP_ARENA_BYTES = 32 * 1024 * 1024;
/** With no task finishing for this long, the pool is assumed broken (a worker died mid-task). */
const STALL_MS = 300_000;

/** A Node built-in module by name, without a static import (which would break browser bundles). */
function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}

/** Source of the worker script: the worker-safe kernel functions plus a message loop. */
function workerSource(): string {
  return [
    '"use strict";',
    // tsx compiles with esbuild's keepNames, which wraps nested functions in __name(...).
    "var __name = function (f) { return f; };",
    'const { parentPort } = require("node:worker_threads");',
    microKernel4x4.toString(),
    computeTile.toString(),
    storeTile.toString(),
    runTasks.toString(),
    `const acc = new Float64Array(${MC * NC});`,
    "parentPort.on('message', function (job) {",
    "  runTasks(new Int32Array(job.control), job.tasks, new Float64Array(job.arena), acc);",
    "});",
  ].join("\n");
}

/** One job for the pool: a task table over an arena, as {@link runTasks} reads them. */
export interface PoolJob {
  /** The arena every task offset points into (A and B panels, C tiles). */
  arena: Float64Array;
  /** Task records, `TASK_FIELDS` integers each. */
  tasks: Int32Array;
  /** Number of tasks in `tasks`. */
  count: number;
  /** Threads to use, counting the calling thread (extra workers are started if needed). */
  threads: number;
  /** False leaves every task to the workers (tests use it to prove the workers compute); default true. */
  callerWorks?: boolean;
}

/** A job posted to the workers and not yet finished (see {@link MatmulPool.start}). */
export interface RunningJob {
  readonly job: PoolJob;
  readonly control: Int32Array;
}

/** The worker pool. Get it with {@link matmulPool}; stop it with {@link shutdownMatmulPool}. */
export class MatmulPool {
  private readonly workers: Worker[] = [];
  // Two arenas, so the calling thread can pack the next job while the workers run this one.
  private readonly arenaBuffers: (SharedArrayBuffer | undefined)[] = [undefined, undefined];
  private readonly acc = new Float64Array(MC * NC);

  constructor(private readonly threadsModule: WorkerThreads) {}

  /** Number of worker threads started so far (the calling thread is not counted). */
  get size(): number {
    return this.workers.length;
  }

  /** Arena `slot` (0 or 1), a shared float64 array of at least `length` elements, reused between jobs. */
  arena(slot: 0 | 1, length: number): Float64Array {
    const buffer = this.arenaBuffers[slot];
    if (buffer && buffer.byteLength >= length * 8) return new Float64Array(buffer, 0, length);
    const fresh = new SharedArrayBuffer(Math.max(length, 1 << 16) * 8);
    this.arenaBuffers[slot] = fresh;
    return new Float64Array(fresh, 0, length);
  }

  /** Gives back arenas over 32 MiB (call when a batch is done; smaller ones are kept for the next). */
  trimArenas(): void {
    for (let slot = 0; slot < 2; slot++) {
      if ((this.arenaBuffers[slot]?.byteLength ?? 0) > KEEP_ARENA_BYTES) this.arenaBuffers[slot] = undefined;
    }
  }

  private grow(workers: number): void {
    while (this.workers.length < workers) {
      const worker = new this.threadsModule.Worker(workerSource(), { eval: true });
      // Idle workers must never keep the process alive.
      worker.unref();
      const forget = (): void => {
        const i = this.workers.indexOf(worker);
        if (i >= 0) this.workers.splice(i, 1);
      };
      worker.on("error", forget);
      worker.on("exit", forget);
      this.workers.push(worker);
    }
  }

  /** Posts a job to `threads - 1` workers, who start on it at once; {@link MatmulPool.finish} completes it. */
  start(job: PoolJob): RunningJob {
    const control = new Int32Array(new SharedArrayBuffer(CONTROL.length * 4));
    control[CONTROL.total] = job.count;
    this.grow(job.threads - 1);
    const message = { control: control.buffer, tasks: job.tasks, arena: job.arena.buffer };
    for (let w = 0; w < job.threads - 1 && w < this.workers.length; w++) this.workers[w]!.postMessage(message);
    return { job, control };
  }

  /**
   * Takes the calling thread's share of a started job, then waits until every task is done.
   * Throws if a task failed, or if tasks stop finishing (a worker died mid-task).
   */
  finish({ job, control }: RunningJob): void {
    if (job.callerWorks !== false) runTasks(control, job.tasks, job.arena, this.acc);
    // Tasks claimed by workers may still be running: wait for the count of finished ones.
    let last = Atomics.load(control, CONTROL.done);
    let lastChange = Date.now();
    while (last < job.count) {
      Atomics.wait(control, CONTROL.done, last, 1000);
      const now = Atomics.load(control, CONTROL.done);
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > STALL_MS) {
        throw new Error(`matmul worker pool stalled: ${job.count - now} of ${job.count} tasks unfinished for ${STALL_MS / 1000} s`);
      }
    }
    if (Atomics.load(control, CONTROL.error) !== 0) throw new Error("matmul: a task failed in the CPU kernel");
  }

  /** Runs a job on the calling thread and `threads - 1` workers; returns when it is done. */
  run(job: PoolJob): void {
    this.finish(this.start(job));
  }

  /** Terminates every worker and drops the arenas. */
  async shutdown(): Promise<void> {
    const workers = this.workers.splice(0);
    this.arenaBuffers.fill(undefined);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

let pool: MatmulPool | undefined;
let poolChecked = false;

/** The shared worker pool, started lazily; undefined where threads are not available. */
export function matmulPool(): MatmulPool | undefined {
  if (!poolChecked) {
    poolChecked = true;
    const threads = builtin<WorkerThreads>("node:worker_threads");
    if (threads?.Worker && typeof SharedArrayBuffer === "function" && typeof Atomics?.wait === "function") {
      pool = new MatmulPool(threads);
    }
  }
  return pool;
}

/**
 * Threads the CPU backend uses by default: `os.availableParallelism()` capped at 8, or 1 where
 * worker threads are not available.
 */
export function defaultMatmulThreads(): number {
  if (!matmulPool()) return 1;
  const os = builtin<Os>("node:os");
  const cores = os?.availableParallelism?.() ?? os?.cpus().length ?? 1;
  return Math.max(1, Math.min(MAX_DEFAULT_THREADS, cores));
}

/**
 * Terminates the matmul worker threads and frees their shared memory. The workers never keep
 * a process alive, so this is only needed to release resources early; a later large matmul
 * starts a new pool.
 */
export async function shutdownMatmulPool(): Promise<void> {
  const current = pool;
  pool = undefined;
  poolChecked = false;
  await current?.shutdown();
}
