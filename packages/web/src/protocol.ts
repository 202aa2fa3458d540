/**
 * The messages between the page and its Web Worker. Every request carries an id; the worker
 * answers each with the same id, in order, with a value or a one-line error.
 */
import type { AttentionView, Attributions, ComponentResult, JacobianRow, ModelInfo, Recorded, Settings, timingShapes } from "./explorer.js";

/** What the page asks of the worker. */
export type Request =
  | { kind: "loadUrl"; name: string; base: string; files: readonly string[] }
  | { kind: "loadFolderUrl"; url: string }
  | { kind: "loadFiles"; name: string; files: Record<string, ArrayBuffer> }
  | { kind: "backend"; use: "cpu" | "gpu" }
  | { kind: "record"; text: string }
  | { kind: "attribute"; settings: Settings; target?: number }
  | { kind: "attention"; settings: Settings; layer: number; target?: number }
  | { kind: "jacobian"; settings: Settings; layer: number; head: number; row: number; target?: number }
  | { kind: "components"; settings: Settings; clean: string; corrupted: string }
  | { kind: "speed"; shape: keyof typeof timingShapes; threads: "all" | 1; text: string };

/** The worker's answer to each kind of request. */
export interface Answers {
  loadUrl: Loaded;
  loadFolderUrl: Loaded;
  loadFiles: Loaded;
  backend: MatmulStatus;
  record: Recorded;
  attribute: Attributions & { readonly matmul: MatmulStatus };
  attention: AttentionView;
  jacobian: JacobianRow;
  components: ComponentResult;
  speed: Speed;
}

/** One explain (forward, plain and GIM backward) timed on a random-weight model of a larger shape. */
export interface Speed {
  readonly shape: string;
  readonly parameters: number;
  readonly tokens: number;
  /** Threads the CPU matmul used, counting the page's worker. */
  readonly threads: number;
  readonly forwardMs: number;
  readonly backwardMs: readonly [plain: number, gim: number];
  /** Matmul tasks the pool's Web Workers ran during it, and jobs the page's worker rescued (see {@link MatmulStatus}). */
  readonly workerTasks: number;
  readonly rescuedJobs: number;
  /** The attributions, for checking the threads change no number. */
  readonly gim: readonly number[];
  readonly plain: readonly number[];
}

/** A model loaded in the worker, and the matmul backend its products run on. */
export interface Loaded {
  readonly info: ModelInfo;
  readonly matmul: MatmulStatus;
  readonly milliseconds: number;
}

/** The matmul backend of the worker and the threads its CPU kernel runs on. */
export interface MatmulStatus {
  /** Its name and what it is, for the page (the name first: `wasm-2t: ...`, `wasm: ...`, `gpu.js-webgl2: ...`). */
  readonly backend: string;
  /** Threads the CPU matmul uses, counting the page's worker. */
  readonly threads: number;
  /** Why only one thread, when so. */
  readonly why?: string;
  /** Matmul tasks run so far by the pool's Web Workers and by the page's worker itself. */
  readonly workerTasks: number;
  readonly callerTasks: number;
  /** Jobs in which the page's worker took over tasks no Web Worker had claimed after 1 s (a worker slow to wake or gone). */
  readonly rescuedJobs: number;
}

/** A message from the worker. */
export type Reply = { id: number; ok: true; value: unknown; milliseconds: number } | { id: number; ok: false; error: string };
