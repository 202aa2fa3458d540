/**
 * A persistent pool of worker threads for the CPU matmul, kept synchronous: the calling thread
 * publishes a job in the shared WebAssembly memory, wakes the workers, takes its own share of
 * the tasks, then blocks in `Atomics.wait` until the last task is done. Operands, task tables
 * and results all live in that one shared memory, so starting a job copies nothing and posts
 * no message to a worker that is listening.
 *
 * The workers are Node's `worker_threads` or a browser's Web Workers (`pool-transport.ts`);
 * the pool is the same over both. Each worker instantiates the kernel module over the shared
 * memory once (`pool-serve.ts`). After a job it keeps listening for the next one for a while
 * (blocked in `Atomics.wait`, which costs no CPU), so back-to-back products wake it through the
 * memory; after `LISTEN_MS` without work it returns to its event loop and the next job reaches
 * it by a message. Node workers are `unref`'d: they never keep a process alive.
 *
 * A worker that dies (or is slow to start) cannot tell the calling thread while it is blocked:
 * its events need the event loop. So the calling thread never waits on workers alone: when no
 * task has finished for `RESCUE_MS` it claims whatever tasks nobody claimed, and a worker that
 * keeps failing to start is not restarted. A job whose claimed task never finishes (`STALL_MS`)
 * or whose task fails retires the workers for good: one of them may still be computing, and a
 * late write or count of it would corrupt a later job, so they are terminated and the calling
 * thread works alone from then on. A Web Worker starts (and receives the shared memory)
 * only once the thread that made it returns to its event loop, so in a browser jobs go only to
 * workers that said they are ready: the first products after the pool starts run on the
 * calling thread, unless {@link startMatmulPool} was awaited first. Where threads are not
 * available (no shared memory: a page without cross-origin isolation; a page's main thread,
 * which may not block; Node before 20.16, which lacks `process.getBuiltinModule`),
 * `matmulPool()` returns undefined, {@link matmulPoolUnavailable} says why, and the CPU backend
 * runs on the calling thread.
 */
import type { PoolWorkerInit } from "./pool-serve.js";
import { poolTransport, type PoolTransport, type PoolWorker } from "./pool-transport.js";
import { CLOSED } from "./wasm-kernel.js";
import { CONTROL, kernelRuntime, type KernelRuntime } from "../wasm/runtime.js";

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
/** How long {@link startMatmulPool} waits for workers to say they are ready. */
const READY_MS = 10_000;

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
  /** Why the pool stopped using workers for good (a task stalled or failed); the calling thread has worked alone since. */
  retired?: string;
}

/** One worker of the pool: the transport's handle, and whether it said it is ready. */
interface Member {
  readonly worker: PoolWorker;
  ready: boolean;
  /** A {@link MatmulPool.whenReady} already waited its whole time for it: later calls do not wait for it again. */
  waitedOut: boolean;
  /** Resolved when it is ready or gone (for {@link MatmulPool.whenReady}). */
  readonly settled: Promise<void>;
}

/** The worker pool. Get it with {@link matmulPool}; stop it with {@link shutdownMatmulPool}. */
export class MatmulPool {
  // Worker w owns the control words of index w; a dead worker leaves a hole, refilled on demand.
  private readonly workers: (Member | undefined)[] = [];
  private jobId = 0;
  // After a rescue, workers sit out until the event loop has run (and delivered their exit events).
  private workersSuspect = false;
  /** Counters of the work done; see {@link MatmulPoolStats}. */
  readonly stats: MatmulPoolStats = { workerTasks: 0, callerTasks: 0, rescuedJobs: 0, workerErrors: 0 };

  constructor(
    /** How workers are started: Node's `worker_threads` or Web Workers. */
    readonly transport: PoolTransport,
    private readonly runtime: KernelRuntime,
    /** How long without a finished task before a job is given up as stalled (default `STALL_MS`; shorter in tests). */
    private readonly stallMs = STALL_MS,
  ) {}

  /** Number of live worker threads (the calling thread is not counted). */
  get size(): number {
    return this.workers.filter((w) => w !== undefined).length;
  }

  /** Number of workers that said they are ready (the calling thread is not counted). */
  get readySize(): number {
    return this.workers.filter((w) => w?.ready).length;
  }

  /** The arena slot the next job will use (0 or 1): jobs alternate, so one can be packed while the other runs. */
  get nextSlot(): 0 | 1 {
    return ((this.jobId + 1) & 1) as 0 | 1;
  }

  /** Starts workers 0..count-1 where missing, unless workers keep failing. */
  private grow(count: number): void {
    const { module, memory, i32 } = this.runtime;
    for (let w = 0; w < count; w++) {
      if (this.workers[w] || this.stats.workerErrors >= MAX_WORKER_FAILURES || this.stats.retired !== undefined) continue;
      const seq = CONTROL.seq / 4 + w;
      // Until it listens, jobs reach it by message (a flag left by a terminated worker must not count).
      Atomics.store(i32, CONTROL.listening / 4 + w, 0);
      const init: PoolWorkerInit = {
        module, memory, listenMs: LISTEN_MS, seq, startSeq: Atomics.load(i32, seq), listening: CONTROL.listening / 4 + w,
        error: CONTROL.error / 4, done: CONTROL.done / 4, words: CONTROL.listening / 4 + CONTROL.maxWorkers,
      };
      let settle!: () => void;
      const settled = new Promise<void>((resolve) => (settle = resolve));
      const forget = (): void => {
        if (this.workers[w] === member) this.workers[w] = undefined;
        settle();
      };
      const member: Member = {
        settled,
        ready: false,
        waitedOut: false,
        worker: this.transport.spawn(init, {
          ready: () => {
            member.ready = true;
            settle();
          },
          error: (message) => {
            this.stats.workerErrors++;
            this.stats.lastWorkerError = message;
            void member.worker.terminate();
            forget();
          },
          exit: forget,
        }),
      };
      this.workers[w] = member;
    }
  }

  /**
   * Starts `count` workers where missing and resolves once each is ready or gone (or after
   * `waitMs`, default `READY_MS`); resolves to the number of ready workers. A worker that an
   * earlier call already waited `waitMs` for is counted if it is ready by now but not waited
   * for again, so asking often (a page's status line) costs nothing once one never starts.
   */
  async whenReady(count: number, waitMs = READY_MS): Promise<number> {
    const wanted = Math.min(count, CONTROL.maxWorkers);
    const deadline = Date.now() + waitMs;
    for (;;) {
      // A worker gone meanwhile (an exit not yet seen when this started) is replaced here.
      this.grow(wanted);
      const pending = this.workers.slice(0, wanted).filter((m): m is Member => m !== undefined && !m.ready && !m.waitedOut);
      const left = deadline - Date.now();
      if (left <= 0) for (const m of pending) m.waitedOut = true;
      if (pending.length === 0 || left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(pending.map((m) => m.settled)), new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
    return this.workers.slice(0, wanted).filter((m) => m?.ready).length;
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
      const member = this.workers[w];
      // A Web Worker not yet ready has not got the memory: it could not take a task before this thread returns to its event loop.
      if (!member || (!member.ready && !this.transport.startsWhileBlocked)) continue;
      helpers++;
      Atomics.add(words, CONTROL.seq / 4 + w, 1);
      if (Atomics.load(words, CONTROL.listening / 4 + w) === 1) Atomics.notify(words, CONTROL.seq / 4 + w, 1);
      else member.worker.wake();
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
      if (idle > this.stallMs) {
        this.close();
        throw new Error(this.retire(`${count - now} of ${count} tasks of a job stayed unfinished for ${this.stallMs / 1000} s (a worker died or hung in the middle of one)`));
      }
    }
    this.close();
    if (Atomics.load(words, CONTROL.error / 4) !== 0) throw new Error(this.retire("a task failed in a worker thread"));
    this.stats.callerTasks += ran;
    this.stats.workerTasks += count - ran;
    if (rescued) {
      this.stats.rescuedJobs++;
      this.workersSuspect = true;
      setTimeout(() => (this.workersSuspect = false), 0).unref?.();
    }
  }

  /**
   * Closes the current job: no thread claims a task of it any more. A worker that looks at the
   * claim word late must not read the task count of whatever this thread lays out in the slot
   * next (a product too small for the pool runs from slot 0; job id + 2 reuses this one's slot).
   */
  private close(): void {
    Atomics.store(this.runtime.i32, CONTROL.claim / 4, (this.jobId << 24) | CLOSED);
  }

  /**
   * Stops using workers for good, after a job they left unfinished: returns the error message.
   * A worker still inside a task of that job would later write its tile and count it done in
   * whatever job is running by then, so every worker is terminated and none is started again.
   */
  private retire(why: string): string {
    this.stats.retired = why;
    for (const member of this.workers.splice(0)) void member?.worker.terminate();
    return `matmul: ${why}; the worker threads are stopped and matmuls run on the calling thread from now on`;
  }

  /** Terminates every worker. */
  async shutdown(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w?.worker.terminate()));
  }
}

let pool: MatmulPool | undefined;
let poolChecked = false;
let unavailable: string | undefined;

/** The shared worker pool, started lazily; undefined where threads are not available (see {@link matmulPoolUnavailable}). */
export function matmulPool(): MatmulPool | undefined {
  if (!poolChecked) {
    poolChecked = true;
    const runtime = kernelRuntime();
    const transport = runtime ? poolTransport(runtime.shared) : { unavailable: "this engine has no WebAssembly SIMD (the TypeScript kernel runs on one thread)" };
    if ("unavailable" in transport) unavailable = transport.unavailable;
    else pool = new MatmulPool(transport, runtime!);
  }
  return pool;
}

/**
 * Why the CPU matmul runs on the calling thread only here (for example "SharedArrayBuffer is
 * unavailable: the page is not cross-origin isolated ..."); undefined where the worker pool
 * can run.
 */
export function matmulPoolUnavailable(): string | undefined {
  matmulPool();
  return unavailable;
}

/** What the current worker pool has done (see {@link MatmulPoolStats}); undefined before it starts. */
export function matmulPoolStats(): Readonly<MatmulPoolStats> | undefined {
  return pool ? { ...pool.stats } : undefined;
}

/**
 * Threads the CPU backend uses by default: the machine's cores (`os.availableParallelism()`
 * in Node, `navigator.hardwareConcurrency` in a browser) capped at 8, or 1 where the worker
 * pool is not available.
 */
export function defaultMatmulThreads(): number {
  const current = matmulPool();
  if (!current) return 1;
  return Math.max(1, Math.min(MAX_DEFAULT_THREADS, current.transport.cores()));
}

/**
 * Starts the worker pool's threads now, and resolves once they are ready, to the number of
 * threads the CPU matmul can use (counting the calling thread; 1 where the pool is not
 * available). A worker that is not ready after 10 s is not counted, and later calls do not
 * wait for it again (they count it once it is ready). Optional in Node, where workers start while the calling thread computes; in a
 * browser's Web Worker, await it before the first large product, since Web Workers start only
 * once their maker returns to its event loop (until then products run on the calling thread).
 */
export async function startMatmulPool(threads: number = defaultMatmulThreads()): Promise<number> {
  const current = matmulPool();
  if (!current || threads <= 1) return 1;
  return 1 + (await current.whenReady(threads - 1));
}

/**
 * Terminates the matmul worker threads. The workers never keep a process alive, so this is
 * only needed to release them early; a later large matmul starts a new pool.
 */
export async function shutdownMatmulPool(): Promise<void> {
  const current = pool;
  pool = undefined;
  poolChecked = false;
  unavailable = undefined;
  await current?.shutdown();
}
