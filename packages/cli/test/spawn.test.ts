/**
 * The real command in a child process: the root `gim` script (`pnpm --silent gim ...`) and
 * the entry point itself (exit code and the single stderr line of a failing run).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readGolden, relativeError } from "../../transformer/test/golden.js";
import { modelsDir, repoRoot } from "./helpers.js";

const golden = readGolden("gpt2-f32");
const model = path.join(modelsDir, "gpt2-f32");
// Children must not inherit color settings or debug flags of the shell running the tests.
const env = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, GIM_DEBUG: undefined };

describe("the gim command in a child process", () => {
  it("pnpm --silent gim logits --json prints the reference logits", () => {
    const r = spawnSync("pnpm", ["--silent", "gim", "logits", "--model", path.relative(repoRoot, model), "--ids", golden.ids.join(","), "--json"], { cwd: repoRoot, encoding: "utf8", env });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { logits: number[] };
    expect(relativeError(out.logits, golden.logits.at(-1)!)).toBeLessThan(1e-4);
  });

  it("the entry point exits 2 with one stderr line on a usage error, and 1 on a missing folder", () => {
    const main = path.join(repoRoot, "packages/cli/src/main.ts");
    const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
    const usage = spawnSync(tsx, [main, "logits", "--model", model, "--ids", "1,x"], { cwd: repoRoot, encoding: "utf8", env });
    expect(usage.stdout).toBe("");
    expect(usage.stderr).toBe('gim: option --ids: "x" is not a token id (ids are integers >= 0, separated by commas)\n');
    expect(usage.status).toBe(2);
    const missing = spawnSync(tsx, [main, "logits", "--model", "/nonexistent/model", "--ids", "1"], { cwd: repoRoot, encoding: "utf8", env });
    expect(missing.stderr).toBe("gim: model folder /nonexistent/model does not exist\n");
    expect(missing.status).toBe(1);
  });
});
