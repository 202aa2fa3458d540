/**
 * The child-process side of the sandbox (see sandbox.ts): runs one job at a time, either the
 * `gim` command in-process with captured output, or an exported function of a module, and
 * reports how it ended. Errors are reported by class, name and message (they cannot cross
 * processes).
 */
import type { Job, Outcome } from "./sandbox.js";

const send = (message: unknown) => process.send!(message);

async function run(job: Job): Promise<Outcome> {
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  if (job.kind === "cli") {
    const { runCli } = (await import(job.cliModule)) as typeof import("../../../cli/src/cli.js");
    let stdout = "";
    let stderr = "";
    const code = await runCli(job.argv, {
      stdout: { write: (s: string) => (stdout += s), isTTY: false },
      stderr: { write: (s: string) => (stderr += s) },
      env: job.env ?? {},
      cwd: job.cwd,
    });
    return { kind: "cli", code, stdout, stderr, ms: elapsed() };
  }
  const module = (await import(job.module)) as Record<string, (...args: unknown[]) => unknown>;
  const fn = module[job.export];
  if (typeof fn !== "function") throw new Error(`${job.module} exports no function ${job.export}`);
  try {
    const value = await fn(...job.args);
    return { kind: "call", ok: true, summary: summarize(value), ms: elapsed() };
  } catch (error) {
    const classes: string[] = [];
    for (let p = Object.getPrototypeOf(error); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) classes.push(p.constructor.name);
    const e = error as Error;
    return { kind: "call", ok: false, classes, name: String(e?.name), message: String(e?.message ?? e), ms: elapsed() };
  }
}

/** A cloneable summary of a result: primitives and arrays of primitives pass through, objects by constructor name. */
function summarize(value: unknown): unknown {
  if (value === null || ["string", "number", "boolean", "undefined"].includes(typeof value)) return value;
  if (Array.isArray(value) && value.every((v) => typeof v !== "object")) return value;
  return `<${(value as object).constructor?.name ?? typeof value}>`;
}

process.on("message", (job: Job) => {
  run(job).then(send, (error: Error) => send({ kind: "crash", message: String(error?.stack ?? error) }));
});
send({ kind: "ready" });
