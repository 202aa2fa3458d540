/** Runs `gim` in-process with captured output. */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "../src/index.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const modelsDir = path.join(repoRoot, "packages/transformer/test/fixtures/models");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  isTTY?: boolean;
  columns?: number;
  cwd?: string;
}

/** `gim ...argv` with stdout and stderr captured; no colors unless asked for. */
export async function gim(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: options.isTTY ?? false, columns: options.columns },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
    cwd: options.cwd ?? repoRoot,
  });
  return { code, stdout, stderr };
}

/** Parses output with one JSON object per line. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
