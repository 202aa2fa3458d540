/**
 * `pnpm bench matmul [--json] [--quick] [--runs N]`: GFLOP/s of every matmul backend at square
 * sizes 64..1024 and at GPT-2 shapes, the median of several runs, side by side in one table.
 *
 * `--json` prints one object per backend and shape and nothing else:
 * `{"backend": "wasm", "threads": 1, "m": 512, "k": 512, "n": 512, "gflops": 35.2}` (backends: wasm, ts,
 * tfjs-wasm, gpu.js-webasm, reference).
 * `--quick` (for CI) measures small sizes only, with fewer runs.
 * `--cpu-time` times each call by the process's CPU time (`process.cpuUsage()`) instead of the
 * wall clock, for the one-thread contenders only: on a machine busy with other jobs a thread
 * that is descheduled is not charged, so the figure stays near what a quiet machine gives
 * (multi-thread contenders are left out: CPU time sums their threads).
 *
 * `tfjs-wasm` is TensorFlow.js's WebAssembly backend (XNNPACK, 128-bit SIMD; one thread under
 * Node), a root devDependency measured for reference only: the figure our kernel is held
 * against. It is skipped with a note when the package is not installed. Its time includes
 * reading the product back into a Float32Array (`dataSync`), as ours includes allocating it.
 *
 * Runs are interleaved (run 1 of every backend, then run 2, ...) so that a change in machine
 * load during the benchmark hits all backends alike. Operands are contiguous float32.
 */
import { cpus, loadavg } from "node:os";
import {
  createCpuBackend, defaultMatmulThreads, gpuBackend, matmul, matmulPoolStats, randUniform, referenceBackend, shutdownMatmulPool, type MatmulBackend,
  type Tensor,
} from "../src/index.js";

interface Shape {
  m: number;
  k: number;
  n: number;
  /** Where the shape comes from, for the table. */
  note: string;
}

interface Contender {
  label: string;
  /** The name in `--json` output. */
  name: string;
  /** Returns a function computing a @ b once (operands already in the backend's own memory). */
  prepare(a: Tensor, b: Tensor): () => void;
  threads: number;
  /** Largest m k n this backend is measured at (the naive loop is too slow beyond). */
  maxWork: number;
}

const squares = [64, 128, 256, 512, 1024].map((s): Shape => ({ m: s, k: s, n: s, note: "square" }));
// GPT-2 small (d = 768) with 128 or 64 tokens: MLP up and down projections, fused QKV, LM head.
const transformer: Shape[] = [
  { m: 128, k: 768, n: 3072, note: "MLP up" },
  { m: 128, k: 3072, n: 768, note: "MLP down" },
  { m: 64, k: 768, n: 2304, note: "QKV" },
  { m: 64, k: 768, n: 50257, note: "LM head" },
];

function parseArgs(args: string[]): { json: boolean; quick: boolean; runs: number; cpuTime: boolean } {
  let json = false;
  let quick = false;
  let cpuTime = false;
  let runs = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--json") json = true;
    else if (arg === "--quick") quick = true;
    else if (arg === "--cpu-time") cpuTime = true;
    else if (arg === "--runs") runs = Number(args[++i]);
    else throw new Error(`bench matmul: unknown argument '${arg}' (expected --json, --quick, --cpu-time, --runs N)`);
  }
  if (runs === 0) runs = quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench matmul: --runs needs a positive integer`);
  return { json, quick, runs, cpuTime };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the matmul benchmark with the command-line arguments after `pnpm bench matmul`. */
export async function main(args: string[]): Promise<void> {
  const { json, quick, runs, cpuTime } = parseArgs(args);
  const clock = cpuTime
    ? (): number => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
      }
    : (): number => performance.now();
  const threads = defaultMatmulThreads();
  const gpu = await gpuBackend({ mode: "webasm" });
  const ours = (label: string, name: string, backend: MatmulBackend, threads: number, maxWork = Infinity): Contender => ({
    label, name, threads, maxWork, prepare: (a, b) => () => void matmul(a, b, { backend }),
  });
  const tfjs = await tfjsWasm();
  const contenders: Contender[] = [
    ours("wasm 1t", "wasm", createCpuBackend({ kernel: "wasm", threads: 1 }), 1),
    ...(threads > 1 && !cpuTime ? [ours(`wasm ${threads}t`, "wasm", createCpuBackend({ kernel: "wasm", threads }), threads)] : []),
    ...(tfjs ? [tfjs] : []),
    ours("ts 1t", "ts", createCpuBackend({ kernel: "ts" }), 1),
    ours("gpu.js webasm", "gpu.js-webasm", gpu, 1),
    ours("reference", "reference", referenceBackend, 1, 256 ** 3),
  ];
  const shapes = quick ? [squares[0]!, squares[1]!, squares[2]!] : [...squares, ...transformer];
  const out = (line: string): void => void process.stdout.write(`${line}\n`);

  if (!json) {
    out(`matmul GFLOP/s, float32, median of ${runs} runs after warm-up${cpuTime ? ", timed by the process's CPU time (one-thread contenders only)" : ""}`);
    out(`machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores; load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    if (!tfjs) out("tfjs-wasm: not installed (the @tensorflow/tfjs-backend-wasm devDependency), skipped");
    out("");
    out(["shape (m x k x n)".padEnd(30), ...contenders.map((c) => c.label.padStart(14))].join(""));
  }
  try {
    for (const shape of shapes) {
      const { m, k, n } = shape;
      const a = randUniform([m, k], { seed: 1, low: -1, high: 1 });
      const b = randUniform([k, n], { seed: 2, low: -1, high: 1 });
      const active = contenders.filter((c) => m * k * n <= c.maxWork);
      const calls = new Map(active.map((c) => [c, c.prepare(a, b)]));
      // Warm up until the JIT has settled: at least 3 calls and 100 ms per backend.
      for (const c of active) {
        const start = performance.now();
        for (let r = 0; r < 3 || (performance.now() - start < 100 && r < 50); r++) calls.get(c)!();
      }
      const times = new Map<Contender, number[]>(active.map((c) => [c, []]));
      for (let r = 0; r < runs; r++) {
        for (const c of active) {
          const start = clock();
          calls.get(c)!();
          times.get(c)!.push(clock() - start);
        }
      }
      tfjs?.release();
      const gflops = (c: Contender): number | undefined => {
        const t = times.get(c);
        return t ? (2 * m * k * n) / (median(t) * 1e6) : undefined;
      };
      if (json) {
        for (const c of active) out(JSON.stringify({ backend: c.name, threads: c.threads, m, k, n, gflops: Math.round(gflops(c)! * 100) / 100 }));
      } else {
        const cells = contenders.map((c) => {
          const g = gflops(c);
          return (g === undefined ? "-" : g.toFixed(2)).padStart(14);
        });
        out([`${m} x ${k} x ${n}${shape.note === "square" ? "" : ` (${shape.note})`}`.padEnd(30), ...cells].join(""));
      }
    }
    if (!json) {
      out(`\nload average at end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
      const pool = matmulPoolStats();
      if (pool) {
        const errors = pool.workerErrors ? `, ${pool.workerErrors} worker errors (last: ${pool.lastWorkerError})` : "";
        out(`thread pool: ${pool.workerTasks} tiles on workers, ${pool.callerTasks} on the calling thread, ${pool.rescuedJobs} jobs rescued${errors}`);
      }
    }
  } finally {
    gpu.dispose();
    await shutdownMatmulPool();
  }
}

/**
 * TensorFlow.js's WebAssembly backend as a contender, or undefined when the devDependency is not
 * installed. Operands are uploaded once per shape (not timed); `release()` frees them.
 */
async function tfjsWasm(): Promise<(Contender & { release(): void }) | undefined> {
  let tf: typeof import("@tensorflow/tfjs-core");
  // Emscripten's loader installs process-wide handlers that rethrow every uncaught error with
  // its whole minified source attached; the benchmark keeps Node's own handling.
  const before = new Set([...process.listeners("uncaughtException"), ...process.listeners("unhandledRejection")]);
  try {
    tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-wasm");
    if (!(await tf.setBackend("wasm"))) return undefined;
    await tf.ready();
  } catch {
    return undefined;
  } finally {
    for (const listener of process.listeners("uncaughtException")) if (!before.has(listener)) process.removeListener("uncaughtException", listener);
    for (const listener of process.listeners("unhandledRejection")) if (!before.has(listener)) process.removeListener("unhandledRejection", listener);
  }
  const live: { dispose(): void }[] = [];
  return {
    label: "tfjs-wasm 1t",
    name: "tfjs-wasm",
    threads: 1,
    maxWork: Infinity,
    prepare(a, b) {
      const ta = tf.tensor2d(a.data as Float32Array, [a.shape[0]!, a.shape[1]!]);
      const tb = tf.tensor2d(b.data as Float32Array, [b.shape[0]!, b.shape[1]!]);
      live.push(ta, tb);
      return () => {
        const c = tf.matMul(ta, tb);
        c.dataSync();
        c.dispose();
      };
    },
    release: () => void live.splice(0).forEach((t) => t.dispose()),
  };
}
