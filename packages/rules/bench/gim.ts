/**
 * `pnpm bench gim [--json] [--quick] [--models gpt2-small,llama-small] [--seq 64] [--runs N]`:
 * what GIM costs over a plain gradient. For each random-weight model (the shapes of
 * `pnpm bench model`), one recorded forward from token embeddings per iteration, then on that
 * same graph the input gradient of the last position's argmax logit twice: plain, and under the
 * GIM rule set bound to the model (`bindRules(model, gim())`: frozen norms, softmax at
 * temperature 2, q/k/v and gate/up gradient scales). The two backward passes alternate which
 * runs first, so a change in machine load hits both alike.
 *
 * Reported: medians of plain and GIM backward ms, their ratio (target: at most 1.1), the median
 * of the per-iteration ratios, and the whole attribution (forward + backward) ratio.
 * `--quick` runs the tiny models (a smoke run).
 */
import { grad, variable } from "@gim/autograd";
import * as T from "@gim/tensor";
import { MODEL_CONFIGS, buildModel } from "../../transformer/bench/model.js";
import { bindRules, gim } from "../src/index.js";

interface Row {
  model: string;
  seq: number;
  runs: number;
  forward_ms: number;
  plain_grad_ms: number;
  gim_grad_ms: number;
  /** Median GIM backward / median plain backward. */
  grad_ratio: number;
  /** Median over iterations of GIM backward / plain backward (same graph, same moment). */
  grad_ratio_paired: number;
  /** (forward + GIM backward) / (forward + plain backward), medians. */
  attribution_ratio: number;
  rules: string[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new RangeError(`${name} needs a value`);
  return value;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got '${text}'`);
  return n;
}

function measure(name: string, seq: number, runs: number): Row {
  const model = buildModel(name);
  const { rules } = bindRules(model, gim());
  const ids = Array.from({ length: seq }, (_, i) => (i * 7919 + 13) % model.vocabSize);
  const forward: number[] = [];
  const plain: number[] = [];
  const modified: number[] = [];
  for (let it = 0; it < runs + 1; it++) {
    const t0 = performance.now();
    const e = variable(model.embedTokens(ids));
    const out = model.forward({ embeds: e }, { positions: [-1] });
    const target = T.argmax(out.logits.value, -1).data[0]!;
    const L = out.logit(-1, target);
    const t1 = performance.now();
    const time = (withRules: boolean): number => {
      const start = performance.now();
      const [g] = grad(L, [e], withRules ? { rules } : {});
      const ms = performance.now() - start;
      if (!Number.isFinite(T.sum(T.abs(g!)).item())) throw new Error(`${name}: the ${withRules ? "GIM" : "plain"} gradient is not finite`);
      return ms;
    };
    let p: number;
    let g: number;
    if (it % 2 === 0) {
      p = time(false);
      g = time(true);
    } else {
      g = time(true);
      p = time(false);
    }
    if (it === 0) continue; // warm-up
    forward.push(t1 - t0);
    plain.push(p);
    modified.push(g);
  }
  const round = (x: number, digits = 1) => Number(x.toFixed(digits));
  return {
    model: name,
    seq,
    runs,
    forward_ms: round(median(forward)),
    plain_grad_ms: round(median(plain)),
    gim_grad_ms: round(median(modified)),
    grad_ratio: round(median(modified) / median(plain), 3),
    grad_ratio_paired: round(median(modified.map((g, i) => g / plain[i]!)), 3),
    attribution_ratio: round((median(forward) + median(modified)) / (median(forward) + median(plain)), 3),
    rules: rules.map((r) => r.name),
  };
}

/** Runs the GIM-cost benchmark with the command-line arguments after `pnpm bench gim`. */
export async function main(args: string[]): Promise<void> {
  const known = new Set(["--json", "--quick", "--models", "--seq", "--runs"]);
  let models: string[];
  let seq: number;
  let runs: number;
  try {
    for (const a of args) if (a.startsWith("--") && !known.has(a)) throw new RangeError(`unknown option ${a}; options: ${[...known].join(" ")}`);
    const quick = args.includes("--quick");
    models = option(args, "--models")?.split(",") ?? (quick ? ["gpt2-tiny", "llama-tiny"] : ["gpt2-small", "llama-small"]);
    for (const m of models) if (!MODEL_CONFIGS[m]) throw new RangeError(`unknown model '${m}'; known: ${Object.keys(MODEL_CONFIGS).join(", ")}`);
    seq = positiveInt(option(args, "--seq") ?? (quick ? "32" : "64"), "--seq");
    runs = positiveInt(option(args, "--runs") ?? (quick ? "10" : "7"), "--runs");
  } catch (e) {
    console.error(`bench gim: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const json = args.includes("--json");
  if (!json) {
    console.log(`GIM backward against a plain backward on the same recorded graph; medians of ${runs} runs after one warm-up; matmul ${T.getDefaultMatmulBackend().name}`);
    console.log("model          seq  forward ms  plain grad ms  GIM grad ms  GIM/plain  paired  attribution GIM/plain");
  }
  try {
    for (const name of models) {
      const r = measure(name, seq, runs);
      if (json) console.log(JSON.stringify(r));
      else {
        console.log(
          [
            r.model.padEnd(13),
            String(r.seq).padStart(4),
            r.forward_ms.toFixed(1).padStart(11),
            r.plain_grad_ms.toFixed(1).padStart(14),
            r.gim_grad_ms.toFixed(1).padStart(12),
            `${r.grad_ratio.toFixed(2)}x`.padStart(10),
            `${r.grad_ratio_paired.toFixed(2)}x`.padStart(7),
            `${r.attribution_ratio.toFixed(2)}x`.padStart(22),
          ].join(" "),
        );
      }
    }
    if (!json) console.log("target: GIM backward at most 1.1x the plain one");
  } finally {
    await T.shutdownMatmulPool();
  }
}
