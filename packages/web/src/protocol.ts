/**
 * The messages between the page and its Web Worker. Every request carries an id; the worker
 * answers each with the same id, in order, with a value or a one-line error.
 */
import type { AttentionView, Attributions, ComponentResult, JacobianRow, ModelInfo, Recorded, Settings } from "./explorer.js";

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
  | { kind: "components"; settings: Settings; clean: string; corrupted: string };

/** The worker's answer to each kind of request. */
export interface Answers {
  loadUrl: Loaded;
  loadFolderUrl: Loaded;
  loadFiles: Loaded;
  backend: string;
  record: Recorded;
  attribute: Attributions;
  attention: AttentionView;
  jacobian: JacobianRow;
  components: ComponentResult;
}

/** A model loaded in the worker, and the matmul backend its products run on. */
export interface Loaded {
  readonly info: ModelInfo;
  readonly backend: string;
  readonly milliseconds: number;
}

/** A message from the worker. */
export type Reply = { id: number; ok: true; value: unknown; milliseconds: number } | { id: number; ok: false; error: string };
