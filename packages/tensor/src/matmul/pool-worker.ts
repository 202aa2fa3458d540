/**
 * The Web Worker script of the matmul pool (started by the Web Worker transport of
 * `pool-transport.ts`; bundlers find it through `new Worker(new URL(...), import.meta.url)`).
 * Its first message carries the kernel module and the shared memory; it answers "ready" once
 * it has instantiated them, and every later message wakes it to serve jobs.
 */
import { servePoolJobs, type PoolWorkerInit } from "./pool-serve.js";

let serve: (() => void) | undefined;

self.onmessage = (event: MessageEvent<PoolWorkerInit | number>) => {
  if (serve) return serve();
  serve = servePoolJobs(event.data as PoolWorkerInit);
  self.postMessage("ready");
};
