/**
 * Malformed model folders, made at test time in a temporary folder (nothing large is
 * committed): copies of small fixture folders with their config, tensors or files changed,
 * raw safetensors files with any header text, and files that are not regular files (FIFOs,
 * dangling and looping symbolic links, devices).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "@gim/tensor";
import { openSafetensorsFolder, writeSafetensors } from "../../src/node/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../../..");

/** Folders to start from: the tiny golden fixtures and the shipped IOI models (with tokenizers). */
export const sources = {
  gpt2: path.join(repoRoot, "packages/transformer/test/fixtures/models/gpt2-f32"),
  gpt2Prefixed: path.join(repoRoot, "packages/transformer/test/fixtures/models/gpt2-prefixed-f16"),
  llamaSharded: path.join(repoRoot, "packages/transformer/test/fixtures/models/llama-gqa-sharded"),
  mistral: path.join(repoRoot, "packages/transformer/test/fixtures/models/mistral-window"),
  qwen2: path.join(repoRoot, "packages/transformer/test/fixtures/models/qwen2-f32"),
  ioiGpt2: path.join(repoRoot, "packages/models/models/ioi-gpt2"),
  ioiLlama: path.join(repoRoot, "packages/models/models/ioi-llama"),
} as const;

/** What to change in a copy of a folder. */
export interface Change {
  /** A new config from the old one (an object is written as JSON, a string as it is). */
  config?: (config: Record<string, unknown>) => unknown;
  /** Changes the tensors (the checkpoint is rewritten as one model.safetensors). */
  tensors?: (tensors: Map<string, Tensor>) => void;
  /** Files to write (text or bytes) or remove (null), by name, after the rest. */
  files?: Record<string, string | Uint8Array | null>;
  /** Changes tokenizer.json (parsed) of the copy. */
  tokenizer?: (json: Record<string, any>) => unknown;
}

/** A temporary folder holding malformed model folders; `remove()` it after the tests. */
export class Scratch {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "gim-hostile-"));
  private count = 0;

  /** A fresh, empty folder. */
  folder(name: string): string {
    const dir = path.join(this.root, `${String(++this.count).padStart(3, "0")}-${name.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60)}`);
    fs.mkdirSync(dir);
    return dir;
  }

  /** A copy of `from` (files only; a sharded checkpoint stays sharded unless `tensors` is given) with `change` applied. */
  copy(name: string, from: string, change: Change = {}): string {
    const dir = this.folder(name);
    for (const file of fs.readdirSync(from)) {
      if (file.endsWith(".svg") || file === "training.json" || file === "golden.json") continue;
      fs.copyFileSync(path.join(from, file), path.join(dir, file));
    }
    if (change.config) {
      const config = JSON.parse(fs.readFileSync(path.join(from, "config.json"), "utf8")) as Record<string, unknown>;
      const changed = change.config(config);
      fs.writeFileSync(path.join(dir, "config.json"), typeof changed === "string" ? changed : JSON.stringify(changed));
    }
    if (change.tensors) {
      const reader = openSafetensorsFolder(from);
      const tensors = new Map(reader.names().map((n) => [n, reader.read(n)]));
      reader.close();
      change.tensors(tensors);
      for (const file of fs.readdirSync(dir)) if (file.endsWith(".safetensors") || file.endsWith(".index.json")) fs.rmSync(path.join(dir, file));
      writeSafetensors(path.join(dir, "model.safetensors"), tensors);
    }
    if (change.tokenizer) {
      const json = JSON.parse(fs.readFileSync(path.join(from, "tokenizer.json"), "utf8")) as Record<string, any>;
      const changed = change.tokenizer(json) ?? json;
      fs.writeFileSync(path.join(dir, "tokenizer.json"), typeof changed === "string" ? changed : JSON.stringify(changed));
    }
    for (const [file, content] of Object.entries(change.files ?? {})) {
      const target = path.join(dir, file);
      fs.rmSync(target, { force: true, recursive: true });
      if (content !== null) fs.writeFileSync(target, content);
    }
    return dir;
  }

  /** Removes everything. */
  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * A safetensors file from header text (or a value written as JSON) and data bytes, with the
 * length prefix matching the header unless `length` says otherwise.
 */
export function safetensorsBytes(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Replaces `file` (in `dir`) by a FIFO: opening it for reading would block until a writer comes. */
export function makeFifo(dir: string, file: string): string {
  const target = path.join(dir, file);
  fs.rmSync(target, { force: true });
  execFileSync("mkfifo", [target]);
  return target;
}

/** Replaces `file` (in `dir`) by a symbolic link to `to` (relative links are relative to `dir`). */
export function makeLink(dir: string, file: string, to: string): string {
  const target = path.join(dir, file);
  fs.rmSync(target, { force: true, recursive: true });
  fs.symlinkSync(to, target);
  return target;
}

/** A JSON text of `value` nested `depth` levels deep in arrays: `[[[...value...]]]`. */
export function nestedArrays(depth: number, inner = "0"): string {
  return "[".repeat(depth) + inner + "]".repeat(depth);
}
