/**
 * `pnpm bench train [--steps N] [--models ioi-gpt2,...] [--matmul wasm,ts] [--json]`: time per
 * training step of each shipped model's recipe, split into batch generation, forward, backward
 * and optimizer update: what sizes a model and batch so that training takes minutes, and what
 * the matmul kernel buys training.
 *
 * `--matmul` lists CPU matmul kernels to measure in turn (default: the default backend only):
 * `wasm` (WebAssembly SIMD on every core, the default), `wasm-1t` (the same on one thread) and
 * `ts` (the packed TypeScript kernel that was the default before, one thread). Each is timed over the same steps (same batches,
 * same initial weights) after 2 warm-up steps; times are medians of `--steps` steps (default 10).
 */
import { Adam, crossEntropy, grad, indexSelect, reshape } from "@gim/autograd";
import * as T from "@gim/tensor";
import { recipes, type Recipe } from "../src/index.js";
import { initialModel } from "../src/node/index.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  model: string;
  matmul: string;
  tokens_per_step: number;
  batch_ms: number;
  forward_ms: number;
  backward_ms: number;
  update_ms: number;
  step_ms: number;
  /** Median CPU time of a whole step, all threads (`process.cpuUsage()`): less disturbed by other jobs than wall time. */
  step_cpu_ms: number;
  steps: number;
}

function measure(recipe: Recipe, steps: number): Row {
  const task = recipe.task();
  const model = initialModel(recipe.model(task.tokenizer.vocabSize), recipe.seed);
  const params = [...model.params.values()];
  const opt = new Adam(params, { lr: recipe.lr });
  const times = { batch: [] as number[], forward: [] as number[], backward: [] as number[], update: [] as number[], cpu: [] as number[] };
  const cpuMs = (): number => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  let tokens = 0;
  for (let step = 0; step < steps + 2; step++) {
    const c0 = cpuMs();
    const t0 = performance.now();
    const batch = task.batch(recipe.batchSize, recipe.lmBatchSize, step);
    const sequences = [...batch.task, ...batch.lm];
    const length = Math.max(...sequences.map((s) => s.ids.length));
    const ids = sequences.map((s) => [...s.ids, ...new Array<number>(length - s.ids.length).fill(task.tokenizer.padTokenId!)]);
    const rows = sequences.flatMap((s, b) => s.targets.map((t) => b * length + t.position));
    const targets = sequences.flatMap((s) => s.targets.map((t) => t.target));
    const t1 = performance.now();
    const logits = reshape(model.forward({ ids }).logits, { shape: [ids.length * length, model.vocabSize] }); // [B*T, V]
    const loss = crossEntropy(indexSelect(logits, { axis: 0, ids: rows }), { targets });
    const t2 = performance.now();
    const grads = grad(loss, params);
    const t3 = performance.now();
    opt.step(grads);
    const t4 = performance.now();
    const c4 = cpuMs();
    if (step >= 2) {
      times.cpu.push(c4 - c0);
      times.batch.push(t1 - t0);
      times.forward.push(t2 - t1);
      times.backward.push(t3 - t2);
      times.update.push(t4 - t3);
      tokens += ids.length * length;
    }
  }
  const r = (x: number) => Number(x.toFixed(1));
  const total = median(times.batch) + median(times.forward) + median(times.backward) + median(times.update);
  return {
    model: recipe.name,
    matmul: T.getDefaultMatmulBackend().name,
    tokens_per_step: Math.round(tokens / steps),
    batch_ms: r(median(times.batch)),
    forward_ms: r(median(times.forward)),
    backward_ms: r(median(times.backward)),
    update_ms: r(median(times.update)),
    step_ms: r(total),
    step_cpu_ms: r(median(times.cpu)),
    steps,
  };
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new RangeError(`${name} needs a value`);
  return value;
}

/** Runs the training-step benchmark with the command-line arguments after `pnpm bench train`. */
export async function main(args: string[]): Promise<void> {
  const known = new Set(["--json", "--steps", "--models", "--matmul"]);
  let steps: number;
  let chosen: Recipe[];
  let kernels: T.MatmulBackend[] | undefined;
  try {
    for (const a of args) if (a.startsWith("--") && !known.has(a)) throw new RangeError(`unknown option ${a}; options: ${[...known].join(" ")}`);
    steps = Number(option(args, "--steps") ?? 10);
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`--steps must be a positive integer`);
    chosen = (option(args, "--models")?.split(",") ?? Object.keys(recipes)).map((name) => {
      const recipe = recipes[name];
      if (!recipe) throw new RangeError(`unknown model '${name}'; known: ${Object.keys(recipes).join(", ")}`);
      return recipe;
    });
    kernels = option(args, "--matmul")?.split(",").map((k) => {
      if (k === "wasm") return T.createCpuBackend({ kernel: "wasm" });
      if (k === "wasm-1t") return T.createCpuBackend({ kernel: "wasm", threads: 1 });
      if (k === "ts") return T.createCpuBackend({ kernel: "ts" });
      throw new RangeError(`--matmul takes wasm, wasm-1t and ts, got '${k}'`);
    });
  } catch (e) {
    console.error(`bench train: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const json = args.includes("--json");
  const original = T.getDefaultMatmulBackend();
  try {
    for (const recipe of chosen) {
      for (const backend of kernels ?? [original]) {
        T.setDefaultMatmulBackend(backend);
        const row = measure(recipe, steps);
        if (json) console.log(JSON.stringify(row));
        else {
          console.log(
            `${row.model.padEnd(15)} ${row.matmul.padEnd(8)} ${String(row.tokens_per_step).padStart(4)} tokens/step  ` +
              `batch ${row.batch_ms.toFixed(0)} ms, forward ${row.forward_ms.toFixed(0)} ms, backward ${row.backward_ms.toFixed(0)} ms, ` +
              `update ${row.update_ms.toFixed(0)} ms: ${row.step_ms.toFixed(0)} ms/step, ${row.step_cpu_ms.toFixed(0)} CPU ms/step (medians of ${steps})`,
          );
        }
      }
    }
  } finally {
    T.setDefaultMatmulBackend(original);
    await T.shutdownMatmulPool();
  }
}
