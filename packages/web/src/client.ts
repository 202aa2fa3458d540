/** The page's side of the worker: requests as promises, and how many are still running. */
import type { Answers, Reply, Request } from "./protocol.js";

export class WorkerClient {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Called whenever the number of requests in flight changes. */
  onBusy: (pending: number) => void = () => {};

  constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      this.onBusy(this.waiting.size);
      if (reply.ok) w.resolve(reply.value);
      else w.reject(new Error(reply.error));
    };
    worker.onerror = (event) => {
      const message = event.message || "the worker failed to start";
      for (const w of this.waiting.values()) w.reject(new Error(message));
      this.waiting.clear();
      this.onBusy(0);
    };
  }

  /** Sends a request; resolves with the worker's answer or rejects with its one-line error. */
  ask<K extends Request["kind"]>(request: Extract<Request, { kind: K }>, transfer: Transferable[] = []): Promise<Answers[K]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.onBusy(this.waiting.size);
      this.worker.postMessage({ id, request }, transfer);
    });
  }
}
