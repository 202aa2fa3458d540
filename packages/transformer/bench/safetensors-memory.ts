/**
 * Memory of loading a 500 MB safetensors checkpoint (not run in CI).
 *
 * Writes a GPT-2-small-shaped checkpoint (124M parameters: 498 MB as F32, 249 MB as BF16) to
 * the OS temp folder, then loads every tensor in a fresh child process per case and prints the
 * peak resident memory above the child's baseline, then deletes the files.
 *
 *   npx tsx packages/transformer/bench/safetensors-memory.ts [--json]
 *
 * Cases: `keep` reads every tensor from disk with `openSafetensors` and keeps them all (the
 * floor is the float32 size of the model); `stream` reads each tensor and drops it (the floor
 * is the largest tensor); `memory` reads the whole file into a buffer and uses
 * `parseSafetensors`, whose F32 tensors are views of that buffer.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseSafetensors, type RawTensorData, type SafetensorsWriteDType } from "../src/safetensors/index.js";
import { openSafetensors, writeSafetensors } from "../src/node/index.js";

const MB = 1024 * 1024;

/** GPT-2 small's tensor shapes (tied head, no attention-mask buffers). */
function gpt2SmallShapes(): [string, number[]][] {
  const [vocab, positions, embd, layers] = [50257, 1024, 768, 12];
  const shapes: [string, number[]][] = [
    ["wte.weight", [vocab, embd]],
    ["wpe.weight", [positions, embd]],
    ["ln_f.weight", [embd]],
    ["ln_f.bias", [embd]],
  ];
  for (let l = 0; l < layers; l++) {
    const p = `h.${l}.`;
    shapes.push(
      [`${p}ln_1.weight`, [embd]],
      [`${p}ln_1.bias`, [embd]],
      [`${p}attn.c_attn.weight`, [embd, 3 * embd]],
      [`${p}attn.c_attn.bias`, [3 * embd]],
      [`${p}attn.c_proj.weight`, [embd, embd]],
      [`${p}attn.c_proj.bias`, [embd]],
      [`${p}ln_2.weight`, [embd]],
      [`${p}ln_2.bias`, [embd]],
      [`${p}mlp.c_fc.weight`, [embd, 4 * embd]],
      [`${p}mlp.c_fc.bias`, [4 * embd]],
      [`${p}mlp.c_proj.weight`, [4 * embd, embd]],
      [`${p}mlp.c_proj.bias`, [embd]],
    );
  }
  return shapes;
}

/** Writes the checkpoint; every tensor is a view of one shared array, so writing costs one largest tensor. */
function writeCheckpoint(file: string, dtype: SafetensorsWriteDType): void {
  const shapes = gpt2SmallShapes();
  const largest = Math.max(...shapes.map(([, s]) => s.reduce((a, b) => a * b, 1)));
  const shared = Float32Array.from({ length: largest }, (_, i) => ((i % 1000) - 500) / 256);
  const tensors: Record<string, RawTensorData> = {};
  for (const [name, shape] of shapes) tensors[name] = { dtype, shape, data: shared.subarray(0, shape.reduce((a, b) => a * b, 1)) };
  writeSafetensors(file, tensors, { metadata: { format: "pt" } });
}

interface ChildResult {
  mode: string;
  tensors: number;
  float32Bytes: number;
  baselineRss: number;
  peakRss: number;
  seconds: number;
}

/** Runs in the child: loads every tensor of `file` in `mode` and reports memory. */
function loadInChild(mode: string, file: string): ChildResult {
  const baselineRss = process.memoryUsage().rss;
  const start = performance.now();
  const kept: unknown[] = [];
  let float32Bytes = 0;
  let tensors = 0;
  const reader = mode === "memory" ? parseSafetensors(fs.readFileSync(file), file) : openSafetensors(file);
  for (const name of reader.names()) {
    const t = reader.read(name);
    float32Bytes += t.size * 4;
    tensors++;
    if (mode !== "stream") kept.push(t);
  }
  reader.close();
  const seconds = (performance.now() - start) / 1000;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  if (kept.length === 0 && mode !== "stream") throw new Error("nothing kept");
  return { mode, tensors, float32Bytes, baselineRss, peakRss, seconds };
}

/** Writes the checkpoints, measures each case in a fresh process, prints the figures, deletes the files. */
export async function main(args: string[]): Promise<void> {
  const json = args.includes("--json");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-safetensors-bench-"));
  const self = fileURLToPath(import.meta.url);
  const rows: (ChildResult & { file: string; fileBytes: number })[] = [];
  try {
    for (const dtype of ["F32", "BF16"] as const) {
      const file = path.join(dir, `gpt2-small-${dtype}.safetensors`);
      writeCheckpoint(file, dtype);
      const fileBytes = fs.statSync(file).size;
      const modes = dtype === "F32" ? ["keep", "stream", "memory"] : ["keep", "stream"];
      for (const mode of modes) {
        // A fresh process per case, so one case's peak does not hide another's.
        const child = spawnSync(process.execPath, [...process.execArgv, self, "--child", mode, file], { encoding: "utf8" });
        if (child.status !== 0) throw new Error(`child ${mode} ${dtype} failed: ${child.stderr}`);
        rows.push({ ...(JSON.parse(child.stdout) as ChildResult), file: path.basename(file), fileBytes });
      }
      fs.rmSync(file);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log("file                          mode   file MiB float32 MiB baseline MiB peak MiB peak-baseline MiB seconds");
  for (const r of rows) {
    console.log(
      [
        r.file.padEnd(29),
        r.mode.padEnd(6),
        (r.fileBytes / MB).toFixed(0).padStart(8),
        (r.float32Bytes / MB).toFixed(0).padStart(11),
        (r.baselineRss / MB).toFixed(0).padStart(12),
        (r.peakRss / MB).toFixed(0).padStart(8),
        ((r.peakRss - r.baselineRss) / MB).toFixed(0).padStart(17),
        r.seconds.toFixed(2).padStart(8),
      ].join(" "),
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === "--child") {
    process.stdout.write(JSON.stringify(loadInChild(args[1]!, args[2]!)));
  } else {
    await main(args);
  }
}
