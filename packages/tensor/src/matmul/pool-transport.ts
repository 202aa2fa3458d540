/**
 * How the matmul pool starts its worker threads: Node's `worker_threads`, or a browser's Web
 * Workers. The pool (`pool.ts`) is the same over both; a transport only starts a worker with
 * the kernel module and the shared memory, wakes it by a message, stops it, and reports its
 * life (ready, error, exit). Both run the same worker code (`pool-serve.ts`).
 *
 * Neither imports a Node built-in: `worker_threads` is reached through
 * `process.getBuiltinModule` (Node 20.16+), so this module bundles for a browser as is.
 */
import { servePoolJobs, type PoolWorkerInit } from "./pool-serve.js";

/** One worker thread as the pool holds it. */
export interface PoolWorker {
  /** Wakes a worker that returned to its event loop, to serve the published job. */
  wake(): void;
  terminate(): Promise<unknown> | void;
}

/** What a worker tells the pool about its life (each on the pool's thread's event loop). */
export interface PoolWorkerEvents {
  /** It has instantiated the kernels and listens. */
  ready(): void;
  error(message: string): void;
  exit(): void;
}

/** Starts the pool's worker threads. */
export interface PoolTransport {
  readonly name: "worker_threads" | "Web Workers";
  /**
   * True when a worker starts while the thread that made it is blocked (Node). A Web Worker
   * starts, and receives the shared memory, only once its maker returns to its event loop, so
   * the pool gives jobs only to Web Workers that said they are ready.
   */
  readonly startsWhileBlocked: boolean;
  /** The cores the machine offers. */
  cores(): number;
  spawn(init: PoolWorkerInit, events: PoolWorkerEvents): PoolWorker;
}

type WorkerThreads = typeof import("node:worker_threads");
type Os = typeof import("node:os");

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
 * The Node worker's script: `servePoolJobs` from its own source text. Transpilers that keep
 * function names (esbuild's keepNames, under tsx) wrap inner functions in `__name(...)`, which
 * the worker must then define.
 */
const NODE_WORKER_SOURCE = `"use strict";
var __name = (f) => f;
const { parentPort, workerData } = require("node:worker_threads");
const serve = (${servePoolJobs.toString()})(workerData);
parentPort.on("message", serve);
parentPort.postMessage("ready");
`;

function nodeTransport(threads: WorkerThreads): PoolTransport {
  return {
    name: "worker_threads",
    startsWhileBlocked: true,
    cores() {
      const os = builtin<Os>("node:os");
      return os?.availableParallelism?.() ?? os?.cpus().length ?? 1;
    },
    spawn(init, events) {
      const worker = new threads.Worker(NODE_WORKER_SOURCE, { eval: true, workerData: init });
      // Idle workers must never keep the process alive.
      worker.unref();
      worker.once("message", () => events.ready());
      worker.on("error", (e: Error) => events.error(e.message));
      worker.on("exit", () => events.exit());
      return { wake: () => worker.postMessage(0), terminate: () => worker.terminate() };
    },
  };
}

function webTransport(): PoolTransport {
  return {
    name: "Web Workers",
    startsWhileBlocked: false,
    cores: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
    spawn(init, events) {
      // This exact form lets bundlers (Vite, webpack, Parcel) find and bundle the worker script.
      const worker = new Worker(new URL("./pool-worker.js", import.meta.url), { type: "module" });
      worker.onmessage = () => events.ready();
      worker.onerror = (e) => {
        e.preventDefault();
        events.error(e.message || "the matmul worker failed to start");
      };
      worker.postMessage(init);
      return { wake: () => worker.postMessage(0), terminate: () => worker.terminate() };
    },
  };
}

/** True when `Atomics.wait` may block on this thread (a browser forbids it on a page's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The transport of this thread, or why there is none. `shared` says whether the kernels'
 * memory is shared (it needs `SharedArrayBuffer`, which a browser gives only to a
 * cross-origin isolated page).
 */
export function poolTransport(shared: boolean): PoolTransport | { unavailable: string } {
  const threads = builtin<WorkerThreads>("node:worker_threads");
  const isNode = threads?.Worker !== undefined;
  if (!shared) {
    return {
      unavailable: typeof SharedArrayBuffer !== "function"
        ? isNode ? "this engine has no SharedArrayBuffer" : "SharedArrayBuffer is unavailable: the page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)"
        : "this engine has no shared WebAssembly memory",
    };
  }
  if (!canBlock()) return { unavailable: "Atomics.wait cannot block on this thread (a page's main thread; run the matmuls in a Web Worker)" };
  if (isNode) return nodeTransport(threads);
  if (typeof Worker === "function") return webTransport();
  return { unavailable: "this engine has neither node:worker_threads nor Web Workers" };
}
