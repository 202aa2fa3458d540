/**
 * A persistent pool of worker threads for the CPU matmul, kept synchronous: the calling thread
 * publishes a job in the shared WebAssembly memory, wakes the workers, takes its own share of
 * the tasks, then blocks in `Atomics.wait` until the last task is done. Operands, task tables
 * and results all live in that one shared memory, so starting a job copies nothing and posts
 * no message to a worker that is listening.
 *
 * Each worker instantiates the kernel module over the shared memory once. After a job it keeps
 * listening for the next one for a while (blocked in `Atomics.wait`, which costs no CPU), so
 * back-to-back products wake it through the memory; after `LISTEN_MS` without work it returns
 * to its event loop and the next job reaches it by a message. Workers are `unref`'d: they never
 * keep a process alive.
 *
 * A worker that dies (or is slow to start) cannot tell the calling thread while it is blocked:
 * its `exit` event needs the event loop. So the calling thread never waits on workers alone:
 * when no task has finished for `RESCUE_MS` it claims whatever tasks nobody claimed, and a
 * worker that keeps failing to start is not restarted. Where `worker_threads`, shared WebAssembly memory or a blocking
 * `Atomics.wait` are missing (a browser, Node before 20.16, which lacks
 * `process.getBuiltinModule`), `matmulPool()` returns undefined and the CPU backend runs on
 * the calling thread.
 */
import type { Worker } from "node:worker_threads";
import { CONTROL, kernelRuntime, type KernelRuntime } from "../wasm/runtime.js";

type WorkerThreads = typeof import("node:worker_threads");
type Os = typeof import("node:os");

/** Largest pool the default thread count picks, however many cores the machine has. */
const MAX_DEFAULT_THREADS = 8;
/** How long an idle worker keeps listening to the shared memory before returning to its event loop. */
const LISTEN_MS = 1000;
/** How often the calling thread looks at the done counter while it waits (a notify wakes it sooner). */
const POLL_MS = 100;
/** With no task finishing for this long, the calling thread claims the tasks nobody claimed. */
const RESCUE_MS = 1000;
/** With no task finishing for this long, a claimed task is lost (its worker died mid-task). */
const STALL_MS = 300_000;
/** Worker errors after which the pool stops starting workers and the calling thread works alone. */
const MAX_WORKER_FAILURES = 3;

/** A Node built-in module by name, without a static import (which would break browser bundles). */
function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}

/**
 * The worker script. It serves jobs while its sequence word keeps changing and stops
 * listening (returning to its event loop) after `listenMs` without one. Stopping is a
 * handshake: it clears its listening flag, then looks at the sequence word once more, so a
 * job published in between is either seen here or announced by a message.
 */
const WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { module, memory, seq, startSeq, listening, error, done, listenMs } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const words = new Int32Array(memory.buffer, 0, ${CONTROL.listening / 4 + CONTROL.maxWorkers});
let lastSeq = startSeq;
function serve() {
  Atomics.store(words, listening, 1);
  let deadline = Date.now() + listenMs;
  for (;;) {
    const current = Atomics.load(words, seq);
    if (current !== lastSeq) {
      lastSeq = current;
      try {
        kernels.run_tasks();
      } catch (e) {
        Atomics.store(words, error, 1);
        Atomics.notify(words, done);
      }
      deadline = Date.now() + listenMs;
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      Atomics.store(words, listening, 0);
      if (Atomics.load(words, seq) === lastSeq) return;
      Atomics.store(words, listening, 1);
      continue;
    }
    Atomics.wait(words, seq, lastSeq, left);
  }
}
parentPort.on("message", serve);
`;

/** A job published to the workers and not yet finished (see {@link MatmulPool.start}). */
export interface RunningJob {
  /** Tasks in the job. */
  readonly count: number;
  /** Workers woken for it. */
  readonly helpers: number;
}

/** What a pool has done since it started: for tests, benchmarks and diagnosis. */
export interface MatmulPoolStats {
  /** Tasks computed by worker threads. */
  workerTasks: number;
  /** Tasks computed by the calling thread (its share, and any it rescued). */
  callerTasks: number;
  /** Jobs in which the calling thread took tasks no worker had claimed after `RESCUE_MS`. */
  rescuedJobs: number;
  /** Errors reported by worker threads (failing to start, say), and the last one's message. */
  workerErrors: number;
  lastWorkerError?: string;
}

/** The worker pool. Get it with {@link matmulPool}; stop it with {@link shutdownMatmulPool}. */
export class MatmulPool {
  // Worker w owns the control words of index w; a dead worker leaves a hole, refilled on demand.
  private readonly workers: (Worker | undefined)[] = [];
  private jobId = 0;
  // After a rescue, workers sit out until the event loop has run (and delivered their exit events).
  private workersSuspect = false;
  /** Counters of the work done; see {@link MatmulPoolStats}. */
  readonly stats: MatmulPoolStats = { workerTasks: 0, callerTasks: 0, rescuedJobs: 0, workerErrors: 0 };

  constructor(
    private readonly threadsModule: WorkerThreads,
    private readonly runtime: KernelRuntime,
  ) {}

  /** Number of live worker threads (the calling thread is not counted). */
  get size(): number {
    return this.workers.filter((w) => w !== undefined).length;
  }

  /** The arena slot the next job will use (0 or 1): jobs alternate, so one can be packed while the other runs. */
  get nextSlot(): 0 | 1 {
    return ((this.jobId + 1) & 1) as 0 | 1;
  }

  /** Starts workers 0..count-1 where missing, unless workers keep failing. */
  private grow(count: number): void {
    const { module, memory, i32 } = this.runtime;
    for (let w = 0; w < count; w++) {
      if (this.workers[w] || this.stats.workerErrors >= MAX_WORKER_FAILURES) continue;
      const seq = CONTROL.seq / 4 + w;
      // Until it listens, jobs reach it by message (a flag left by a terminated worker must not count).
      Atomics.store(i32, CONTROL.listening / 4 + w, 0);
      const worker = new this.threadsModule.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          module, memory, listenMs: LISTEN_MS, seq, startSeq: Atomics.load(i32, seq),
          listening: CONTROL.listening / 4 + w, error: CONTROL.error / 4, done: CONTROL.done / 4,
        },
      });
      // Idle workers must never keep the process alive.
      worker.unref();
      const forget = (): void => {
        if (this.workers[w] === worker) this.workers[w] = undefined;
      };
      worker.on("error", (error: Error) => {
        this.stats.workerErrors++;
        this.stats.lastWorkerError = error.message;
        forget();
      });
      worker.on("exit", forget);
      this.workers[w] = worker;
    }
  }

  /**
   * Publishes the job in slot {@link nextSlot} (its task count already written in the slot's
   * header) and wakes `threads - 1` workers, who start on it at once; {@link MatmulPool.finish}
   * completes it. The previous job must be finished.
   */
  start(count: number, threads: number): RunningJob {
    const words = this.runtime.i32;
    this.jobId = (this.jobId + 1) & 0xff;
    Atomics.store(words, CONTROL.done / 4, 0);
    Atomics.store(words, CONTROL.error / 4, 0);
    // Publishing the claim word opens the job; its id makes stale claims of older jobs fail.
    Atomics.store(words, CONTROL.claim / 4, this.jobId << 24);
    const wanted = this.workersSuspect ? 0 : Math.min(threads - 1, CONTROL.maxWorkers);
    this.grow(wanted);
    let helpers = 0;
    for (let w = 0; w < wanted; w++) {
      if (!this.workers[w]) continue;
      helpers++;
      Atomics.add(words, CONTROL.seq / 4 + w, 1);
      if (Atomics.load(words, CONTROL.listening / 4 + w) === 1) Atomics.notify(words, CONTROL.seq / 4 + w, 1);
      else this.workers[w]!.postMessage(0);
    }
    return { count, helpers };
  }

  /**
   * Takes the calling thread's share of a started job, then waits until every task is done,
   * claiming itself the tasks no worker has claimed after `RESCUE_MS` without progress (a dead
   * or sleeping worker; with `callerWorks` false, the calling thread only does that). Throws if
   * a task failed, or if claimed tasks stop finishing (a worker died mid-task).
   */
  finish({ count, helpers }: RunningJob, callerWorks = true): void {
    const runTasks = this.runtime.kernels.run_tasks!;
    let ran = callerWorks || helpers === 0 ? runTasks() : 0;
    let rescued = false;
    const words = this.runtime.i32;
    const done = CONTROL.done / 4;
    let last = Atomics.load(words, done);
    let lastChange = Date.now();
    while (last < count) {
      if (Atomics.load(words, CONTROL.error / 4) !== 0) break;
      Atomics.wait(words, done, last, POLL_MS);
      const now = Atomics.load(words, done);
      if (now !== last) {
        last = now;
        lastChange = Date.now();
        continue;
      }
      const idle = Date.now() - lastChange;
      if (idle >= RESCUE_MS) {
        const more = runTasks();
        if (more > 0) {
          ran += more;
          rescued = true;
          lastChange = Date.now();
          continue;
        }
      }
      if (idle > STALL_MS) {
        throw new Error(`matmul worker pool stalled: ${count - now} of ${count} tasks unfinished for ${STALL_MS / 1000} s`);
      }
    }
    if (Atomics.load(words, CONTROL.error / 4) !== 0) {
      // Close the job so no thread claims more of it, then report.
      Atomics.store(words, CONTROL.claim / 4, (this.jobId << 24) | 0xffffff);
      throw new Error("matmul: a task failed in a worker thread");
    }
    this.stats.callerTasks += ran;
    this.stats.workerTasks += count - ran;
    if (rescued) {
      this.stats.rescuedJobs++;
      this.workersSuspect = true;
      setTimeout(() => (this.workersSuspect = false), 0).unref?.();
    }
  }

  /** Terminates every worker. */
  async shutdown(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w?.terminate()));
  }
}

let pool: MatmulPool | undefined;
let poolChecked = false;

/** The shared worker pool, started lazily; undefined where threads are not available. */
export function matmulPool(): MatmulPool | undefined {
  if (!poolChecked) {
    poolChecked = true;
    const threads = builtin<WorkerThreads>("node:worker_threads");
    const runtime = kernelRuntime();
    if (threads?.Worker && runtime?.shared && typeof Atomics?.wait === "function") pool = new MatmulPool(threads, runtime);
  }
  return pool;
}

/** What the current worker pool has done (see {@link MatmulPoolStats}); undefined before it starts. */
export function matmulPoolStats(): Readonly<MatmulPoolStats> | undefined {
  return pool ? { ...pool.stats } : undefined;
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
 * Terminates the matmul worker threads. The workers never keep a process alive, so this is
 * only needed to release them early; a later large matmul starts a new pool.
 */
export async function shutdownMatmulPool(): Promise<void> {
  const current = pool;
  pool = undefined;
  poolChecked = false;
  await current?.shutdown();
}
