/**
 * Time and memory of a forward pass and of a forward pass plus input gradient, for random-weight
 * models of GPT-2 small's shape (124M parameters), a Llama of SmolLM-135M's shape (grouped-query
 * attention), and tiny GPT-2 and Llama models.
 *
 *   pnpm bench model [--json] [--quick] [--models gpt2-small,gpt2-tiny] [--seqs 16,64] [--runs N]
 *                    [--threads N] [--ops] [--max-rss-mb N]
 *
 * Each (model, sequence length) runs in a fresh child process, so one configuration's peak
 * memory cannot hide another's. In the child, after building the model:
 *
 * - `forward_ms`: median of `runs` forward passes from token ids inside `noGrad` (no graph);
 * - `recorded_forward_ms`: the same pass from token embeddings that are a variable (graph kept);
 * - `forward_input_grad_ms`: recorded forward + argmax of the last position's logits + `grad` of
 *   that logit with respect to the embeddings (what an attribution costs);
 * - `forward_cpu_ms`, `forward_input_grad_cpu_ms`: the same passes in CPU time of the child
 *   (all its threads, `process.cpuUsage()`), which other jobs on a busy machine disturb less;
 * - `peak_rss_mb`: the child's `process.resourceUsage().maxRSS`; `sampled_rss_mb` the largest
 *   `process.memoryUsage().rss` seen while a graph was alive; `model_rss_mb` the RSS with only
 *   the weights loaded;
 * - memory growth: RSS, V8 heap and ArrayBuffer memory after a forced GC following the first
 *   iteration, against the same after the last one; and RSS from the middle iteration to the
 *   last. Allocator and JIT warm-up raise RSS by some MB early on and then level off; a leak
 *   keeps growing, so it shows in the second half as much as in the first.
 *
 * One warm-up iteration precedes the timed ones (it is the "first" of the growth check). The
 * default output is a table, a sequence-length scaling table (time ratio beside length ratio,
 * so super-linear growth stands out) and the memory-growth table; `--json` prints one object
 * per configuration per line instead. `--quick` runs only the tiny models (a CI smoke run).
 * `--threads N` sets the matmul threads; `--ops` also times every op's forward and backward by
 * phase (by wrapping the op definitions in the child), for finding hot spots. `model_torch.py`
 * measures the same GPT-2-small model in PyTorch; `--torch` runs it after our rows, in the same
 * session, once with the BLAS the system provides and once with Debian's OpenBLAS when it is
 * installed, and prints the two side by side (skipped with a note where /usr/bin/python3 with
 * torch is missing). Torch's peak RSS covers all its lengths in one process.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { grad, noGrad, ops, variable, type AnyOpDef } from "@gim/autograd";
import * as T from "@gim/tensor";
import { Gpt2Model, LlamaModel, parseConfig, type CausalLM, type Gpt2Config, type LlamaConfig } from "../src/index.js";

const MB = 1024 * 1024;

/** PyTorch (fast BLAS, 2 threads) on these machines, GPT-2 small at length 64, from the issue. */
const TORCH_REFERENCE = { model: "gpt2-small", seq: 64, forward_ms: 250, forward_input_grad_ms: 500, peak_rss_mb: 1000 };

/** The benchmarked models as Hugging Face config.json objects. */
export const MODEL_CONFIGS: Record<string, Record<string, unknown>> = {
  "gpt2-small": { model_type: "gpt2", vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
  // SmolLM-135M's shape: 9 query heads share 3 kv heads; tied embeddings.
  "llama-small": {
    model_type: "llama", vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30,
    num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 2048, tie_word_embeddings: true,
  },
  "gpt2-tiny": { model_type: "gpt2", vocab_size: 512, n_positions: 256, n_embd: 64, n_layer: 2, n_head: 4 },
  "llama-tiny": {
    model_type: "llama", vocab_size: 512, hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256,
  },
};

/** One configuration, as the parent passes it to a child. */
interface Spec {
  model: string;
  seq: number;
  warmup: number;
  runs: number;
  /** A child whose RSS passes this stops iterating (protects a shared machine from a leak). */
  maxRssMb: number;
  /** Matmul threads; undefined keeps the default backend. */
  threads?: number;
  /** Time every op's forward and backward too. */
  ops?: boolean;
}

/** What a child prints: one line of `--json` output. */
interface Row {
  model: string;
  seq: number;
  forward_ms: number;
  forward_input_grad_ms: number;
  peak_rss_mb: number;
  /** CPU time of the forward pass, all threads (process.cpuUsage): the work, less sensitive than wall time to other jobs on the machine. */
  forward_cpu_ms: number;
  forward_input_grad_cpu_ms: number;
  recorded_forward_ms: number;
  grad_ms: number;
  forward_ms_min: number;
  forward_input_grad_ms_min: number;
  runs: number;
  sampled_rss_mb: number;
  model_rss_mb: number;
  params_m: number;
  /** Work of one forward pass (see {@link forwardFlops}). */
  forward_gflop: number;
  init_ms: number;
  iterations: number;
  rss_growth_mb: number;
  /** RSS growth from the middle iteration to the last. */
  rss_growth_second_half_mb: number;
  heap_growth_mb: number;
  array_buffers_growth_mb: number;
  matmul: string;
  /** Set when the child stopped early (RSS cap). */
  stopped?: string;
  /** With `--ops`: mean ms per timed iteration by phase and op ("grad linear", "forward softmax", ...). */
  op_ms?: Record<string, number>;
}

/** Which pass the op timers are charging. */
type Phase = "forward" | "recorded" | "grad";

/**
 * Wraps every registered op's forward and default backward with a timer, for this process only
 * (the child that measures one configuration). The unembedding gets its own name, since it is
 * one linear op whose cost differs from every other's. Returns the totals and a phase setter.
 */
function timeOps(vocab: number): { totals: Map<string, number>; setPhase(p: Phase): void } {
  const totals = new Map<string, number>();
  let phase: Phase = "forward";
  const charge = (name: string, weight: T.Tensor | undefined, start: number) => {
    const key = `${phase} ${name}${name === "linear" && weight?.shape[0] === vocab ? " (unembedding)" : ""}`;
    totals.set(key, (totals.get(key) ?? 0) + performance.now() - start);
  };
  for (const fn of Object.values(ops)) {
    const def: AnyOpDef = fn.def;
    const { forward, backward } = def;
    def.forward = (inputs, attrs) => {
      const start = performance.now();
      const out = forward.call(def, inputs, attrs);
      charge(def.name, (inputs as Record<string, T.Tensor>)["weight"], start);
      return out;
    };
    def.backward = (ctx) => {
      const start = performance.now();
      const grads = backward.call(def, ctx);
      charge(def.name, (ctx.inputs as Record<string, T.Tensor>)["weight"], start);
      return grads;
    };
  }
  return { totals, setPhase: (p) => void (phase = p) };
}

/** A random-weight model (seed 1) of one of {@link MODEL_CONFIGS}' shapes. */
export function buildModel(name: string): CausalLM {
  const json = MODEL_CONFIGS[name];
  if (!json) throw new RangeError(`unknown model '${name}'; known: ${Object.keys(MODEL_CONFIGS).join(", ")}`);
  const config = parseConfig(json, name);
  return config.modelType === "gpt2" ? Gpt2Model.random(config as Gpt2Config, { seed: 1 }) : LlamaModel.random(config as LlamaConfig, { seed: 1 });
}

/**
 * Multiply-add work of one forward pass at length `seq`, in flops (2 per multiply-add): the
 * projections and the unembedding grow linearly with the length, attention scores and their
 * weighted sum (computed in full, then masked) quadratically.
 */
function forwardFlops(name: string, seq: number): number {
  const c = parseConfig(MODEL_CONFIGS[name], name);
  if (c.modelType === "gpt2") {
    const d = c.nEmbd;
    const perLayer = seq * (4 * d * d + 2 * d * c.nInner) + 2 * seq * seq * d;
    return 2 * (c.nLayer * perLayer + seq * d * c.vocabSize);
  }
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const perLayer = seq * (2 * c.hiddenSize * q + 2 * c.hiddenSize * kv + 3 * c.hiddenSize * c.intermediateSize) + 2 * seq * seq * q;
  return 2 * (c.numHiddenLayers * perLayer + seq * c.hiddenSize * c.vocabSize);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

/**
 * RSS, heap and ArrayBuffer memory after a full GC (when the child runs with --expose-gc), given
 * a moment between two collections for V8's concurrent ArrayBuffer sweeper to free backing stores.
 */
async function settledMemory(): Promise<{ rss: number; heap: number; arrayBuffers: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heap: m.heapUsed / MB, arrayBuffers: m.arrayBuffers / MB };
}

/** CPU time (user + system) of this process so far, all threads, in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Runs in the child: builds the model and measures one configuration. */
async function measure(spec: Spec): Promise<Row> {
  if (spec.threads !== undefined) T.setDefaultMatmulBackend(T.createCpuBackend({ threads: spec.threads }));
  const initStart = performance.now();
  const model = buildModel(spec.model);
  const initMs = performance.now() - initStart;
  let params = 0;
  for (const p of model.params.values()) params += p.value.size;
  // Deterministic ids spread over the vocabulary.
  const ids = Array.from({ length: spec.seq }, (_, i) => (i * 7919 + 13) % model.vocabSize);
  const modelRss = (await settledMemory()).rss;
  const timers = spec.ops ? timeOps(model.vocabSize) : undefined;

  const forward: number[] = [];
  const forwardCpu: number[] = [];
  const totalCpu: number[] = [];
  const recorded: number[] = [];
  const backward: number[] = [];
  const total: number[] = [];
  let sampledRss = 0;
  let first: Awaited<ReturnType<typeof settledMemory>> | undefined;
  let middle: Awaited<ReturnType<typeof settledMemory>> | undefined;
  const middleIteration = Math.floor((spec.warmup + spec.runs - 1) / 2);
  let iterations = 0;
  let stopped: string | undefined;
  for (let it = 0; it < spec.warmup + spec.runs; it++) {
    if (it === spec.warmup) timers?.totals.clear(); // count timed iterations only
    timers?.setPhase("forward");
    const c0 = cpuMs();
    const t0 = performance.now();
    const logits = noGrad(() => model.forward({ ids }).logits.value);
    const t1 = performance.now();
    const c1 = cpuMs();
    if (!Number.isFinite(logits.data[logits.size - 1]!)) throw new Error(`${spec.model}: the forward pass gave a non-finite logit`);

    timers?.setPhase("recorded");
    const c2 = cpuMs();
    const t2 = performance.now();
    const embeds = variable(model.embedTokens(ids));
    // As explain() runs it: logits only at the position whose gradient is taken.
    const out = model.forward({ embeds }, { positions: [-1] });
    const last = out.logits.value; // [1, V]
    const target = T.argmax(last, -1).data[0]!;
    const t3 = performance.now();
    sampledRss = Math.max(sampledRss, process.memoryUsage().rss / MB);
    timers?.setPhase("grad");
    const [g] = grad(out.logit(-1, target), [embeds]);
    const t4 = performance.now();
    const c4 = cpuMs();
    sampledRss = Math.max(sampledRss, process.memoryUsage().rss / MB);
    if (!Number.isFinite(T.sum(T.abs(g!)).item())) throw new Error(`${spec.model}: the input gradient is not finite`);

    iterations++;
    if (it >= spec.warmup) {
      forward.push(t1 - t0);
      forwardCpu.push(c1 - c0);
      totalCpu.push(c4 - c2);
      recorded.push(t3 - t2);
      backward.push(t4 - t3);
      total.push(t4 - t2);
    }
    if (it === 0) first = await settledMemory();
    if (it === middleIteration) middle = await settledMemory();
    if (process.memoryUsage().rss / MB > spec.maxRssMb) {
      stopped = `RSS passed ${spec.maxRssMb} MB after ${iterations} iterations`;
      break;
    }
  }
  const last = await settledMemory();
  const row: Row = {
    model: spec.model,
    seq: spec.seq,
    forward_ms: round(median(forward)),
    forward_input_grad_ms: round(median(total)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    forward_cpu_ms: round(median(forwardCpu)),
    forward_input_grad_cpu_ms: round(median(totalCpu)),
    recorded_forward_ms: round(median(recorded)),
    grad_ms: round(median(backward)),
    forward_ms_min: round(Math.min(...forward)),
    forward_input_grad_ms_min: round(Math.min(...total)),
    runs: forward.length,
    sampled_rss_mb: Math.round(sampledRss),
    model_rss_mb: Math.round(modelRss),
    params_m: round(params / 1e6, 2),
    forward_gflop: round(forwardFlops(spec.model, spec.seq) / 1e9, 3),
    init_ms: Math.round(initMs),
    iterations,
    rss_growth_mb: Math.round(last.rss - first!.rss),
    rss_growth_second_half_mb: Math.round(last.rss - (middle ?? first!).rss),
    heap_growth_mb: round(last.heap - first!.heap),
    array_buffers_growth_mb: Math.round(last.arrayBuffers - first!.arrayBuffers),
    matmul: T.getDefaultMatmulBackend().name,
  };
  if (stopped) row.stopped = stopped;
  if (timers) {
    const sorted = [...timers.totals].sort((a, b) => b[1] - a[1]);
    row.op_ms = Object.fromEntries(sorted.map(([key, ms]) => [key, round(ms / Math.max(1, forward.length))]));
  }
  return row;
}

/** Parsed command line. */
interface Plan {
  json: boolean;
  specs: Spec[];
  /** Also measure GPT-2 small in PyTorch at these lengths. */
  torch: boolean;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new RangeError(`${name} needs a value`);
  return value;
}

function positiveInts(text: string, what: string): number[] {
  return text.split(",").map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be positive integers, got '${s}'`);
    return n;
  });
}

function plan(args: string[]): Plan {
  const known = new Set(["--json", "--quick", "--models", "--seqs", "--runs", "--threads", "--ops", "--max-rss-mb", "--torch"]);
  for (const a of args) {
    if (a.startsWith("--") && !known.has(a)) throw new RangeError(`unknown option ${a}; options: ${[...known].join(" ")}`);
  }
  const quick = args.includes("--quick");
  const tinySeqs = [16, 32, 64, 128];
  const defaults: [string, number[], number][] = quick
    ? [["gpt2-tiny", tinySeqs, 10], ["llama-tiny", tinySeqs, 10]]
    : [["gpt2-tiny", tinySeqs, 20], ["llama-tiny", tinySeqs, 20], ["gpt2-small", [16, 64], 5], ["llama-small", [16, 64], 5]];
  const models = option(args, "--models")?.split(",");
  const seqs = option(args, "--seqs");
  const runs = option(args, "--runs");
  const threadsText = option(args, "--threads");
  const threads = threadsText === undefined ? undefined : positiveInts(threadsText, "--threads")[0]!;
  const maxRssMb = positiveInts(option(args, "--max-rss-mb") ?? String(Math.floor((os.totalmem() / MB) * 0.6)), "--max-rss-mb")[0]!;
  for (const m of models ?? []) {
    if (!MODEL_CONFIGS[m]) throw new RangeError(`unknown model '${m}'; known: ${Object.keys(MODEL_CONFIGS).join(", ")}`);
  }
  const chosen = models ? models.map((m) => defaults.find(([d]) => d === m) ?? ([m, [16, 64], 5] as [string, number[], number])) : defaults;
  const specs = chosen.flatMap(([model, modelSeqs, modelRuns]) =>
    (seqs ? positiveInts(seqs, "--seqs") : modelSeqs).map((seq) => {
      const c = parseConfig(MODEL_CONFIGS[model], model);
      const longest = c.modelType === "gpt2" ? c.nPositions : c.maxPositionEmbeddings;
      if (seq > longest) throw new RangeError(`--seqs: ${model} accepts at most ${longest} tokens, got ${seq}`);
      return { model, seq, warmup: 1, runs: runs ? positiveInts(runs, "--runs")[0]! : modelRuns, maxRssMb, threads, ops: args.includes("--ops") };
    }),
  );
  return { json: args.includes("--json"), specs, torch: args.includes("--torch") };
}

const COLUMNS: [string, number, (r: Row) => string][] = [
  ["model", 12, (r) => r.model],
  ["seq", 4, (r) => String(r.seq)],
  ["fwd ms", 9, (r) => r.forward_ms.toFixed(1)],
  ["rec fwd ms", 11, (r) => r.recorded_forward_ms.toFixed(1)],
  ["grad ms", 9, (r) => r.grad_ms.toFixed(1)],
  ["fwd+grad ms", 12, (r) => r.forward_input_grad_ms.toFixed(1)],
  ["peak MB", 8, (r) => String(r.peak_rss_mb)],
  ["model MB", 9, (r) => String(r.model_rss_mb)],
  ["runs", 5, (r) => String(r.runs)],
];

function tableLine(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(COLUMNS[i]![1]) : c.padStart(COLUMNS[i]![1]))).join(" ");
}

/** Time ratios against each model's shortest length, beside the length ratio. */
function printScaling(rows: readonly Row[]): void {
  console.log("\nscaling with sequence length (time / time at the model's shortest length; time that tracks the work matches 'flop x')");
  console.log("model        seq  len x  flop x  fwd x  fwd+grad x  fwd+grad ms/token  fwd GFLOP/s");
  for (const model of new Set(rows.map((r) => r.model))) {
    const own = rows.filter((r) => r.model === model).sort((a, b) => a.seq - b.seq);
    const base = own[0]!;
    for (const r of own) {
      console.log(
        [
          model.padEnd(12),
          String(r.seq).padStart(4),
          (r.seq / base.seq).toFixed(1).padStart(6),
          (r.forward_gflop / base.forward_gflop).toFixed(2).padStart(7),
          (r.forward_ms / base.forward_ms).toFixed(2).padStart(6),
          (r.forward_input_grad_ms / base.forward_input_grad_ms).toFixed(2).padStart(11),
          (r.forward_input_grad_ms / r.seq).toFixed(2).padStart(18),
          (r.forward_gflop / (r.forward_ms / 1000)).toFixed(2).padStart(12),
        ].join(" "),
      );
    }
  }
}

function printGrowth(rows: readonly Row[]): void {
  console.log("\nmemory after a forced GC: last iteration minus first, and minus the middle one (a leak grows in both halves)");
  console.log("model        seq  iterations  RSS MB  RSS 2nd half MB  heap MB  ArrayBuffer MB");
  for (const r of rows) {
    console.log(
      [
        r.model.padEnd(12),
        String(r.seq).padStart(4),
        String(r.iterations).padStart(11),
        String(r.rss_growth_mb).padStart(7),
        String(r.rss_growth_second_half_mb).padStart(16),
        r.heap_growth_mb.toFixed(1).padStart(8),
        String(r.array_buffers_growth_mb).padStart(15),
        r.stopped ? ` stopped: ${r.stopped}` : "",
      ].join(" "),
    );
  }
}

/** With `--ops`: the costliest ops of each configuration, as a share of forward + input gradient. */
function printOps(rows: readonly Row[]): void {
  for (const r of rows) {
    if (!r.op_ms) continue;
    const perPass = r.recorded_forward_ms + r.grad_ms;
    console.log(`\n${r.model} at ${r.seq}: ms per iteration by op ('forward' is the noGrad pass; % of recorded forward + grad = ${perPass.toFixed(0)} ms)`);
    let other = 0;
    for (const [key, ms] of Object.entries(r.op_ms)) {
      if (ms < perPass * 0.005) {
        other += ms;
        continue;
      }
      const share = key.startsWith("forward ") ? "" : `${((100 * ms) / perPass).toFixed(1)}%`;
      console.log(`  ${key.padEnd(36)} ${ms.toFixed(1).padStart(9)} ${share.padStart(6)}`);
    }
    console.log(`  ${"(ops under 0.5% each)".padEnd(36)} ${other.toFixed(1).padStart(9)}`);
  }
}

/** One line of `model_torch.py`'s output. */
interface TorchRow {
  model: string;
  seq: number;
  forward_ms: number;
  forward_input_grad_ms: number;
  peak_rss_mb: number;
  forward_cpu_ms: number;
  forward_input_grad_cpu_ms: number;
  threads: number;
  torch: string;
  blas: string;
  /** Which BLAS we asked for: the system's libblas.so.3, or Debian's OpenBLAS. */
  variant: "system BLAS" | "OpenBLAS";
}

const PYTHON = "/usr/bin/python3";
const OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread";

/**
 * GPT-2 small in PyTorch (`model_torch.py`) at the lengths and runs of our gpt2-small rows, with
 * the system's BLAS and, when Debian's OpenBLAS is installed, with it. Prints the JSON lines as
 * they come in `--json` mode; returns nothing (with a note) when Python or torch is missing.
 */
function measureTorch(specs: readonly Spec[], json: boolean): TorchRow[] {
  const own = specs.filter((s) => s.model === "gpt2-small");
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "model_torch.py");
  const note = (text: string) => void (json ? console.error : console.log)(`\n--torch: ${text}`);
  if (own.length === 0) return note("needs gpt2-small among the models (the only one model_torch.py builds); skipped"), [];
  if (!fs.existsSync(PYTHON)) return note(`${PYTHON} not found; skipped`), [];
  const variants: [TorchRow["variant"], NodeJS.ProcessEnv][] = [["system BLAS", process.env]];
  if (fs.existsSync(path.join(OPENBLAS_DIR, "libblas.so.3"))) variants.push(["OpenBLAS", { ...process.env, LD_LIBRARY_PATH: OPENBLAS_DIR }]);
  const threads = own[0]!.threads ?? T.defaultMatmulThreads(); // what our rows ran with
  const args = [script, "--threads", String(threads), "--seqs", own.map((s) => s.seq).join(","), "--runs", String(own[0]!.runs)];
  const rows: TorchRow[] = [];
  for (const [variant, env] of variants) {
    const child = spawnSync(PYTHON, args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 * MB });
    if (child.status !== 0) {
      note(`model_torch.py (${variant}) failed (exit ${child.status ?? child.signal}): ${(child.stderr ?? "").trim().split("\n").at(-1)}`);
      continue;
    }
    for (const line of child.stdout.trim().split("\n")) {
      const row = { ...(JSON.parse(line) as Omit<TorchRow, "variant">), variant };
      rows.push(row);
      if (json) console.log(JSON.stringify(row));
    }
  }
  return rows;
}

/** Our GPT-2 small rows beside PyTorch's, with the ratio ours / theirs, in wall time and in CPU time. */
function printTorch(rows: readonly Row[], torchRows: readonly TorchRow[]): void {
  const first = torchRows[0]!;
  console.log(`\nGPT-2 small beside PyTorch ${first.torch} (${first.threads} threads), measured in this run; (x) = ours / PyTorch's`);
  console.log("cpu: CPU time of the process, all threads (less sensitive than wall time to other jobs on the machine)");
  console.log("variant        seq    fwd ms      (x)  fwd+grad ms      (x)  peak MB      (x)  fwd cpu ms      (x)  fwd+grad cpu ms      (x)");
  const x = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}x`.padStart(8);
  const blank = "".padStart(8);
  for (const r of rows.filter((row) => row.model === "gpt2-small")) {
    console.log(
      ["ours".padEnd(14), String(r.seq).padStart(4), r.forward_ms.toFixed(0).padStart(9), blank, r.forward_input_grad_ms.toFixed(0).padStart(12), blank,
        String(r.peak_rss_mb).padStart(8), blank, r.forward_cpu_ms.toFixed(0).padStart(11), blank, r.forward_input_grad_cpu_ms.toFixed(0).padStart(16), blank].join(" "),
    );
    for (const t of torchRows.filter((row) => row.seq === r.seq)) {
      console.log(
        [
          `torch ${t.variant === "OpenBLAS" ? "OpenBLAS" : "sys BLAS"}`.padEnd(14),
          String(t.seq).padStart(4),
          t.forward_ms.toFixed(0).padStart(9),
          x(r.forward_ms, t.forward_ms),
          t.forward_input_grad_ms.toFixed(0).padStart(12),
          x(r.forward_input_grad_ms, t.forward_input_grad_ms),
          String(t.peak_rss_mb).padStart(8),
          x(r.peak_rss_mb, t.peak_rss_mb),
          t.forward_cpu_ms.toFixed(0).padStart(11),
          x(r.forward_cpu_ms, t.forward_cpu_ms),
          t.forward_input_grad_cpu_ms.toFixed(0).padStart(16),
          x(r.forward_input_grad_cpu_ms, t.forward_input_grad_cpu_ms),
        ].join(" "),
      );
    }
  }
  for (const v of new Set(torchRows.map((t) => `${t.variant}: ${t.blas}`))) console.log(`  ${v}`);
}

/** Runs every configuration in its own child process and prints the figures as they come. */
export async function main(args: string[]): Promise<void> {
  let parsed: Plan;
  try {
    parsed = plan(args);
  } catch (e) {
    // A bad command line gets one line, not a stack trace.
    console.error(`bench model: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const { json, specs, torch } = parsed;
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  if (!json) {
    console.log(`${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}, node ${process.version}`);
    console.log("fwd: forward from ids under noGrad; rec fwd: forward recording the graph, logits at the last position only (as explain runs it); grad: input gradient of the last position's argmax logit");
    console.log("times are medians after one warm-up; peak MB is the child's maxRSS\n");
    console.log(tableLine(COLUMNS.map(([title]) => title)));
  }
  for (const spec of specs) {
    // A fresh process per configuration; --expose-gc lets the growth check settle the heap.
    const child = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, self, "--child", JSON.stringify(spec)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 16 * MB,
    });
    if (child.status !== 0) throw new Error(`bench model: the child for ${spec.model} at length ${spec.seq} failed (exit ${child.status ?? child.signal})`);
    const row = JSON.parse(child.stdout) as Row;
    rows.push(row);
    console.log(json ? JSON.stringify(row) : tableLine(COLUMNS.map(([, , cell]) => cell(row))));
  }
  const torchRows = torch ? measureTorch(specs, json) : [];
  if (json) return;
  if (torchRows.length > 0) printTorch(rows, torchRows);
  const small = rows.find((r) => r.model === TORCH_REFERENCE.model && r.seq === TORCH_REFERENCE.seq);
  if (small && torchRows.length === 0) {
    const f = (ours: number, torch: number) => `${ours.toFixed(0)} vs ${torch} (${(ours / torch).toFixed(1)}x)`;
    console.log(
      `\nPyTorch reference (fast BLAS, 2 threads), ${small.model} at ${small.seq}: forward ${f(small.forward_ms, TORCH_REFERENCE.forward_ms)} ms,` +
        ` forward + input gradient ${f(small.forward_input_grad_ms, TORCH_REFERENCE.forward_input_grad_ms)} ms,` +
        ` peak ${f(small.peak_rss_mb, TORCH_REFERENCE.peak_rss_mb)} MB`,
    );
  }
  printScaling(rows);
  printGrowth(rows);
  printOps(rows);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === "--child") {
    process.stdout.write(`${JSON.stringify(await measure(JSON.parse(args[1]!) as Spec))}\n`);
    // Matmul worker threads are unref'd, but exit at once rather than wait on anything else.
    process.exit(0);
  } else {
    await main(args);
  }
}
