/**
 * The WebAssembly kernels of this thread: one memory (shared where `SharedArrayBuffer` and
 * wasm threads exist, so worker threads can compute in it) and one instance of the kernel
 * module over it, made on first use. Operands are packed into this memory, kernels compute
 * there, and results are copied out; the memory is only a workspace, never a tensor's storage.
 *
 * Layout: the first 64 KiB hold control words (job counters, worker mailboxes), then a scratch
 * for raw operands, then two arenas (slots) for packed operands and results. A WebAssembly memory can grow but never shrink, so the arenas have
 * a fixed budget and large products are split to fit it (see `cpu.ts`).
 */
import { matmulModules, type JobLayout, type KernelExports } from "../matmul/wasm-kernel.js";
import { activationModule, type ActivationExports } from "./activations.js";
import { wasmFeatures } from "./emit.js";

/** Bytes of a WebAssembly page. */
export const PAGE_BYTES = 65536;
/** Bytes reserved for control words at the start of the memory. */
export const CONTROL_BYTES = PAGE_BYTES;
/** Most pages the memory may grow to (256 MiB); shared memory needs a declared maximum. */
export const MAX_PAGES = 4096;
/** Bytes of the scratch after the control page where an operand is copied before the kernel module packs it: it stays in L2. */
export const RAW_BYTES = 512 * 1024;
/** Byte offset of that scratch. */
export const RAW_AT = CONTROL_BYTES;
/** Bytes of each of the two job arenas that follow the scratch. */
export const SLOT_BYTES = 16 * 1024 * 1024;

/** Bytes of the whole workspace: the control page, the scratch and both arenas. */
export const WORKSPACE_BYTES = RAW_AT + RAW_BYTES + 2 * SLOT_BYTES;

/** Byte offsets of the control words, all in the first page. */
export const CONTROL = {
  /** The job claim word, the done counter and the error flag (see `JobLayout`). */
  claim: 0,
  done: 4,
  error: 8,
  /** Per worker w: its job sequence number at `seq + 4w`, and whether it is listening at `listening + 4w`. */
  seq: 1024,
  listening: 2048,
  /** Most workers the control page has words for. */
  maxWorkers: 256,
} as const;

/** The job layout the kernel module is built with. */
export const JOBS: JobLayout = { claim: CONTROL.claim, done: CONTROL.done, slots: RAW_AT + RAW_BYTES, slotBytes: SLOT_BYTES };

/** The memory, the compiled module worker threads need, and this thread's kernels. */
export interface KernelRuntime {
  readonly memory: WebAssembly.Memory;
  /** The module of the matmul tiles and task loop, which worker threads instantiate over `memory`. */
  readonly module: WebAssembly.Module;
  /** True when `memory` is shared: worker threads can instantiate `module` over it. */
  readonly shared: boolean;
  /** True when the kernels use relaxed SIMD's multiply-add. */
  readonly relaxed: boolean;
  /** The exports of every kernel module, instantiated over `memory`. */
  readonly kernels: KernelExports & ActivationExports;
  /** Views of the whole memory; replaced whenever it grows, so read them after `reserve`. */
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
  /** Grows the memory to at least `bytes` (throws past the maximum). */
  reserve(bytes: number): void;
}

let runtime: KernelRuntime | null | undefined;

/**
 * The kernel runtime of this thread, made on first use; undefined where WebAssembly SIMD is
 * missing or the module cannot be compiled synchronously (the CPU backend then uses its
 * TypeScript kernel).
 */
export function kernelRuntime(): KernelRuntime | undefined {
  if (runtime === undefined) runtime = createRuntime();
  return runtime ?? undefined;
}

function createRuntime(): KernelRuntime | null {
  const features = wasmFeatures();
  if (!features.simd) return null;
  const shared = features.threads;
  // Shared memory is made at its full workspace and never grows while workers compute in it.
  // A growth made by one thread reaches the other threads' view of the memory asynchronously,
  // and a worker running a task on the new pages before then traps: we saw intermittent "a task
  // failed in a worker thread" at a process's first large products, when the arena grew while
  // workers ran the previous job. Pages never touched cost no resident memory. Unshared memory
  // (one thread) starts small and grows as needed.
  const initial = shared ? Math.ceil(WORKSPACE_BYTES / PAGE_BYTES) : (RAW_AT + RAW_BYTES) / PAGE_BYTES + 16;
  try {
    const memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared });
    // Chrome compiles modules of up to 4 KiB synchronously on a page's main thread: each of ours is smaller.
    const imported = { initial: 1, maximum: MAX_PAGES, shared };
    const modules = [...matmulModules({ memory: imported, jobs: JOBS, relaxed: features.relaxedSimd }), activationModule(imported)].map(
      (bytes) => new WebAssembly.Module(bytes),
    );
    const kernels = Object.assign({}, ...modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports)) as KernelExports & ActivationExports;
    const module = modules[0]!;
    const views = (): Pick<KernelRuntime, "f32" | "f64" | "i32"> => ({
      f32: new Float32Array(memory.buffer),
      f64: new Float64Array(memory.buffer),
      i32: new Int32Array(memory.buffer),
    });
    const rt: KernelRuntime = {
      memory, module, shared, relaxed: features.relaxedSimd, kernels, ...views(),
      reserve(bytes) {
        const have = memory.buffer.byteLength;
        if (bytes <= have) return;
        const pages = Math.ceil((bytes - have) / PAGE_BYTES);
        if (have / PAGE_BYTES + pages > MAX_PAGES) {
          throw new Error(`matmul: the WebAssembly workspace would need ${Math.ceil(bytes / 2 ** 20)} MiB, over its ${MAX_PAGES / 16} MiB limit`);
        }
        memory.grow(pages);
        Object.assign(rt, views());
      },
    };
    return rt;
  } catch {
    return null;
  }
}
