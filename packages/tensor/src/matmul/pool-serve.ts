/**
 * The worker side of the matmul pool: what each worker thread runs, whichever transport
 * started it (Node's `worker_threads` or a browser's Web Worker, see `pool-transport.ts`).
 *
 * `servePoolJobs` must stay self-contained (no imports, no outside names): the Node transport
 * runs it from its own source text (`servePoolJobs.toString()`), so the same code serves from
 * TypeScript (vitest, tsx) and from the compiled `dist`, with no worker file whose path could
 * differ; the Web Worker imports it (`pool-worker.ts`).
 */

/** What a worker needs to serve jobs: the kernel module, the shared memory, and its control words (word indices). */
export interface PoolWorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Index of this worker's job sequence word, and its value when the worker was made. */
  readonly seq: number;
  readonly startSeq: number;
  /** Index of this worker's listening flag, of the error flag and of the done counter. */
  readonly listening: number;
  readonly error: number;
  readonly done: number;
  /** Control words the worker may touch (a view of the memory's first `words` int32s). */
  readonly words: number;
  /** How long an idle worker keeps listening to the shared memory before returning to its event loop. */
  readonly listenMs: number;
}

/**
 * Instantiates the kernel module over the shared memory and returns the function to call on
 * each wake-up message. It serves jobs while the sequence word keeps changing and stops
 * listening (returning to the event loop) after `listenMs` without one. Stopping is a
 * handshake: it clears its listening flag, then looks at the sequence word once more, so a job
 * published in between is either seen here or announced by a message.
 */
export function servePoolJobs(init: PoolWorkerInit): () => void {
  const kernels = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports as { run_tasks(): number };
  const words = new Int32Array(init.memory.buffer, 0, init.words);
  let lastSeq = init.startSeq;
  return () => {
    Atomics.store(words, init.listening, 1);
    let deadline = Date.now() + init.listenMs;
    for (;;) {
      const current = Atomics.load(words, init.seq);
      if (current !== lastSeq) {
        lastSeq = current;
        try {
          kernels.run_tasks();
        } catch {
          Atomics.store(words, init.error, 1);
          Atomics.notify(words, init.done);
        }
        deadline = Date.now() + init.listenMs;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        Atomics.store(words, init.listening, 0);
        if (Atomics.load(words, init.seq) === lastSeq) return;
        Atomics.store(words, init.listening, 1);
        continue;
      }
      Atomics.wait(words, init.seq, lastSeq, left);
    }
  };
}
