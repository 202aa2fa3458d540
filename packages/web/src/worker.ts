/**
 * The Web Worker that holds the model and does all the computing, so the page stays live
 * while a forward or backward pass runs. It answers one request at a time, in order.
 */
import {
  cpuBackend, createCpuBackend, defaultMatmulThreads, getDefaultMatmulBackend, gpuBackend, matmulPoolStats, matmulPoolUnavailable, setDefaultMatmulBackend, startMatmulPool, type GpuBackend,
} from "@gim/tensor";
import { memoryFolder } from "@gim/transformer";
import { defaultSettings, Explorer, timingModel, timingShapes } from "./explorer.js";
import type { Loaded, MatmulStatus, Reply, Request, Speed } from "./protocol.js";

let explorer: Explorer | undefined;

function need(): Explorer {
  if (!explorer) throw new Error("no model is loaded");
  return explorer;
}

// The matmul pool's Web Workers start only once this worker's event loop runs, and they must be
// ready before the first (synchronous) product can use them: every request waits for them.
const poolStarted = startMatmulPool();

/** The matmul backend that runs here: the WebAssembly SIMD kernel on this worker and the pool's Web Workers, the TypeScript kernel, or gpu.js. */
async function matmulStatus(): Promise<MatmulStatus> {
  await poolStarted;
  // Asked again each time, so a worker that came late is counted; the pool waits for a worker at most once.
  const threads = await startMatmulPool();
  const stats = matmulPoolStats();
  const tasks = { workerTasks: stats?.workerTasks ?? 0, callerTasks: stats?.callerTasks ?? 0, rescuedJobs: stats?.rescuedJobs ?? 0 };
  const b = getDefaultMatmulBackend();
  if (b.name.startsWith("gpu.js")) return { backend: `${b.name}: gpu.js on WebGL in the page's worker (float32 sums on the GPU)`, threads: 1, ...tasks };
  if (b.name === "ts") return { backend: "ts: TypeScript kernel (no WebAssembly SIMD here), 1 thread", threads: 1, why: "the TypeScript kernel runs on one thread", ...tasks };
  const failed = stats?.retired
    ? `the matmul Web Workers were stopped: ${stats.retired}`
    : stats?.lastWorkerError
      ? `the matmul Web Workers failed to start (${stats.lastWorkerError})`
      : "the matmul Web Workers did not start within 10 s";
  const why = threads > 1 ? undefined : matmulPoolUnavailable() ?? (defaultMatmulThreads() === 1 ? "the browser reports one core (navigator.hardwareConcurrency)" : failed);
  const where = threads > 1 ? `${threads} threads (the page's worker and ${threads - 1} Web Worker${threads > 2 ? "s" : ""} over shared memory)` : `1 thread (the page's worker): ${why}`;
  return { backend: `${b.name}: WebAssembly SIMD kernel on ${where}`, threads, ...(why ? { why } : {}), ...tasks };
}

let gpu: GpuBackend | undefined;

/** Runs every matmul of the model on gpu.js (WebGL on an OffscreenCanvas in this worker) or back on the CPU kernel. */
async function useBackend(kind: "cpu" | "gpu"): Promise<MatmulStatus> {
  if (kind === "gpu" && !gpu) {
    const { GPU } = await import("gpu.js");
    const mode = GPU.isWebGL2Supported ? "webgl2" : GPU.isWebGLSupported ? "webgl" : undefined;
    if (!mode) throw new Error("this browser offers no WebGL to a Web Worker: the matmul stays on the CPU kernel");
    gpu = await gpuBackend({ mode });
  }
  setDefaultMatmulBackend(kind === "gpu" ? gpu! : cpuBackend);
  if (kind === "cpu" && gpu) {
    gpu.dispose();
    gpu = undefined;
  }
  return matmulStatus();
}

async function loaded(e: Explorer, start: number): Promise<Loaded> {
  return { info: e.info(), matmul: await matmulStatus(), milliseconds: performance.now() - start };
}

async function fetchFiles(base: string, files: readonly string[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  await Promise.all(
    files.map(async (file) => {
      const url = new URL(file, base).href;
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
      out.set(file, new Uint8Array(await response.arrayBuffer()));
    }),
  );
  return out;
}

/** The bytes at `url`; undefined for a 404 when `optional`; else a one-line error naming the URL. */
async function fetchBytes(url: string, optional = false): Promise<Uint8Array | undefined> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new Error(`${url} could not be fetched (no network, or the server does not let this page read it: CORS)`);
  }
  if (optional && response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  return new Uint8Array(await response.arrayBuffer());
}

/** Files a model folder may hold besides config.json and the weights. */
const TOKENIZER_FILES = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

/**
 * The files of a model folder at a URL whose listing is unknown (a Hugging Face
 * `.../resolve/main/` URL, a static host): config.json, then the sharded index and its shards
 * or model.safetensors, and whichever tokenizer files are there.
 */
async function fetchFolder(base: string): Promise<Map<string, Uint8Array>> {
  const folder = base.endsWith("/") ? base : `${base}/`;
  const at = (file: string) => new URL(file, folder).href;
  const files = new Map<string, Uint8Array>();
  const config = await fetchBytes(at("config.json"), true);
  if (!config) throw new Error(`${at("config.json")} is not there (HTTP 404): ${folder} is not a model folder`);
  files.set("config.json", config);
  const index = await fetchBytes(at("model.safetensors.index.json"), true);
  let weights = ["model.safetensors"];
  if (index) {
    files.set("model.safetensors.index.json", index);
    try {
      const map = (JSON.parse(new TextDecoder().decode(index)) as { weight_map?: Record<string, string> }).weight_map ?? {};
      weights = [...new Set(Object.values(map))];
    } catch {
      throw new Error(`${at("model.safetensors.index.json")} is not valid JSON`);
    }
  }
  await Promise.all([
    ...weights.map(async (f) => files.set(f, (await fetchBytes(at(f)))!)),
    ...TOKENIZER_FILES.map(async (f) => {
      const bytes = await fetchBytes(at(f), true);
      if (bytes) files.set(f, bytes);
    }),
  ]);
  return files;
}

// The random-weight model of the last speed run, kept for the next (building GPT-2 small's takes seconds).
let timing: { key: string; explorer: Explorer } | undefined;

/** Times one explain of `text` on a random-weight model of `shape`, with the CPU matmul on every thread or on one. */
async function speed(shape: keyof typeof timingShapes, threads: "all" | 1, text: string): Promise<Speed> {
  const base = need();
  const key = `${shape}/${base.model.vocabSize}`;
  if (timing?.key !== key) {
    timing = undefined;
    timing = { key, explorer: new Explorer(timingModel(shape, base.model.vocabSize), base.tokenizer, `${shape} (random weights)`) };
  }
  const e = timing.explorer;
  const status = await matmulStatus();
  const previous = setDefaultMatmulBackend(threads === 1 ? createCpuBackend({ threads: 1 }) : cpuBackend);
  try {
    const before = matmulPoolStats();
    const r = e.record(text);
    const a = e.attribute(defaultSettings);
    const after = matmulPoolStats();
    return {
      shape, parameters: e.info().parameters, tokens: r.ids.length, threads: threads === 1 ? 1 : status.threads, forwardMs: r.forwardMs, backwardMs: a.backwardMs,
      workerTasks: (after?.workerTasks ?? 0) - (before?.workerTasks ?? 0), rescuedJobs: (after?.rescuedJobs ?? 0) - (before?.rescuedJobs ?? 0), gim: a.gim, plain: a.plain,
    };
  } finally {
    setDefaultMatmulBackend(previous);
  }
}

async function handle(request: Request): Promise<unknown> {
  await poolStarted;
  const start = performance.now();
  switch (request.kind) {
    case "loadUrl": {
      explorer = undefined;
      explorer = Explorer.fromFolder(memoryFolder(await fetchFiles(request.base, request.files), request.name));
      return loaded(explorer, start);
    }
    case "loadFolderUrl": {
      explorer = undefined;
      explorer = Explorer.fromFolder(memoryFolder(await fetchFolder(request.url), request.url));
      return loaded(explorer, start);
    }
    case "loadFiles": {
      explorer = undefined;
      const files = new Map(Object.entries(request.files).map(([name, buffer]) => [name, new Uint8Array(buffer)]));
      explorer = Explorer.fromFolder(memoryFolder(files, request.name));
      return loaded(explorer, start);
    }
    case "backend":
      return useBackend(request.use);
    case "record":
      return need().record(request.text);
    case "attribute":
      return { ...need().attribute(request.settings, request.target), matmul: await matmulStatus() };
    case "attention":
      return need().attention(request.settings, request.layer, request.target);
    case "jacobian":
      return need().jacobianRow(request.settings, request.layer, request.head, request.row, request.target);
    case "components":
      return need().components(request.settings, request.clean, request.corrupted);
    case "speed":
      return speed(request.shape, request.threads, request.text);
  }
}

// One request at a time, in the order they came.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (event: MessageEvent<{ id: number; request: Request }>) => {
  const { id, request } = event.data;
  queue = queue.then(async () => {
    const start = performance.now();
    let reply: Reply;
    try {
      reply = { id, ok: true, value: await handle(request), milliseconds: performance.now() - start };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      reply = { id, ok: false, error: message.split("\n")[0]! };
    }
    self.postMessage(reply);
  });
};
