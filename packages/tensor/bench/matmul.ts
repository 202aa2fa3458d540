/**
 * `pnpm bench matmul [--json] [--quick] [--runs N]`: GFLOP/s of every matmul backend at square
 * sizes 64..1024 and at GPT-2 shapes, the median of several runs, side by side in one table.
 *
 * `--json` prints one object per backend and shape and nothing else:
 * `{"backend": "wasm", "threads": 1, "m": 512, "k": 512, "n": 512, "gflops": 35.2}` (backends: wasm, ts,
 * gpu.js-webasm, reference).
 * `--quick` (for CI) measures small sizes only, with fewer runs.
 *
 * Runs are interleaved (run 1 of every backend, then run 2, ...) so that a change in machine
 * load during the benchmark hits all backends alike. Operands are contiguous float32.
 */
import { cpus, loadavg } from "node:os";
import {
  createCpuBackend, defaultMatmulThreads, gpuBackend, matmul, matmulPoolStats, randUniform, referenceBackend, shutdownMatmulPool, type MatmulBackend,
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
  backend: MatmulBackend;
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

function parseArgs(args: string[]): { json: boolean; quick: boolean; runs: number } {
  let json = false;
  let quick = false;
  let runs = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--json") json = true;
    else if (arg === "--quick") quick = true;
    else if (arg === "--runs") runs = Number(args[++i]);
    else throw new Error(`bench matmul: unknown argument '${arg}' (expected --json, --quick, --runs N)`);
  }
  if (runs === 0) runs = quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`bench matmul: --runs needs a positive integer`);
  return { json, quick, runs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs the matmul benchmark with the command-line arguments after `pnpm bench matmul`. */
export async function main(args: string[]): Promise<void> {
  const { json, quick, runs } = parseArgs(args);
  const threads = defaultMatmulThreads();
  const gpu = await gpuBackend({ mode: "webasm" });
  const contenders: Contender[] = [
    { label: "wasm 1t", backend: createCpuBackend({ kernel: "wasm", threads: 1 }), threads: 1, maxWork: Infinity },
    ...(threads > 1 ? [{ label: `wasm ${threads}t`, backend: createCpuBackend({ kernel: "wasm", threads }), threads, maxWork: Infinity }] : []),
    { label: "ts 1t", backend: createCpuBackend({ kernel: "ts" }), threads: 1, maxWork: Infinity },
    { label: "gpu.js webasm", backend: gpu, threads: 1, maxWork: Infinity },
    { label: "reference", backend: referenceBackend, threads: 1, maxWork: 256 ** 3 },
  ];
  const shapes = quick ? [squares[0]!, squares[1]!, squares[2]!] : [...squares, ...transformer];
  const out = (line: string): void => void process.stdout.write(`${line}\n`);

  if (!json) {
    out(`matmul GFLOP/s, float32, median of ${runs} runs after warm-up`);
    out(`machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores; load average at start ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    out("");
    out(["shape (m x k x n)".padEnd(30), ...contenders.map((c) => c.label.padStart(14))].join(""));
  }
  try {
    for (const shape of shapes) {
      const { m, k, n } = shape;
      const a = randUniform([m, k], { seed: 1, low: -1, high: 1 });
      const b = randUniform([k, n], { seed: 2, low: -1, high: 1 });
      const active = contenders.filter((c) => m * k * n <= c.maxWork);
      // Warm up until the JIT has settled: at least 3 calls and 100 ms per backend.
      for (const c of active) {
        const start = performance.now();
        for (let r = 0; r < 3 || (performance.now() - start < 100 && r < 50); r++) matmul(a, b, { backend: c.backend });
      }
      const times = new Map<Contender, number[]>(active.map((c) => [c, []]));
      for (let r = 0; r < runs; r++) {
        for (const c of active) {
          const start = performance.now();
          matmul(a, b, { backend: c.backend });
          times.get(c)!.push(performance.now() - start);
        }
      }
      const gflops = (c: Contender): number | undefined => {
        const t = times.get(c);
        return t ? (2 * m * k * n) / (median(t) * 1e6) : undefined;
      };
      if (json) {
        for (const c of active) {
          const name = c.label.split(" ")[0] === "gpu.js" ? "gpu.js-webasm" : c.label.split(" ")[0]!;
          out(JSON.stringify({ backend: name, threads: c.threads, m, k, n, gflops: Math.round(gflops(c)! * 100) / 100 }));
        }
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
