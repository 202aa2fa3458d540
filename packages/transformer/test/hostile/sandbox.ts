/**
 * A sandbox for hostile-input tests: jobs run in a child process with a time limit and a heap
 * limit, so a hang, a runaway allocation or even a V8 fatal error fails the one test case (the
 * child is killed or dies, and is replaced) instead of hanging or crashing the test run. The
 * child's resident memory is sampled while a job runs, so a case can assert what it took.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The `gim` command's in-process entry (cli.ts), for CLI jobs. */
export const CLI_MODULE = path.resolve(here, "../../../cli/src/cli.ts");

/** A job for the child. */
export type Job =
  | { kind: "cli"; cliModule: string; argv: readonly string[]; cwd: string; env?: Record<string, string> }
  | { kind: "call"; module: string; export: string; args: readonly unknown[] };

/** How a job ended inside the child. */
export type Outcome =
  | { kind: "cli"; code: number; stdout: string; stderr: string; ms: number }
  | { kind: "call"; ok: true; summary: unknown; ms: number }
  | { kind: "call"; ok: false; classes: string[]; name: string; message: string; ms: number }
  | { kind: "crash"; message: string };

/** A job's result as the test sees it. */
export interface Ended<O extends Outcome = Outcome> {
  /** How it ended, unless the child was killed or died. */
  readonly outcome: O | undefined;
  /** Killed after the time limit. */
  readonly timedOut: boolean;
  /** The child died during the job (a V8 fatal error such as heap out of memory): its exit and last stderr. */
  readonly died: string | undefined;
  /** Wall time in the parent, ms (child start-up excluded). */
  readonly ms: number;
  /** Largest growth of the child's resident memory while the job ran, MB. */
  readonly peakRssMb: number;
}

/** Options of {@link Sandbox}. */
export interface SandboxOptions {
  /** V8 heap limit of the child, MB (`--max-old-space-size`; typed-array data is outside it). */
  maxHeapMb?: number;
  /** Modules the child imports before its first job (so import time is not counted). */
  preload?: readonly string[];
}

/** One child process, replaced after a job that timed out or killed it. */
export class Sandbox {
  private child: ChildProcess | undefined;
  private starting: Promise<ChildProcess> | undefined;
  private stderrTail = "";

  constructor(private readonly options: SandboxOptions = {}) {}

  /** Runs `gim ...argv` in the child. */
  cli(argv: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): Promise<Ended<Extract<Outcome, { kind: "cli" }>>> {
    const job: Job = { kind: "cli", cliModule: CLI_MODULE, argv, cwd: options.cwd, ...(options.env ? { env: options.env } : {}) };
    return this.run(job, options.timeoutMs) as Promise<Ended<Extract<Outcome, { kind: "cli" }>>>;
  }

  /** Calls `module`'s export `name` with `args` (structured-cloneable) in the child. */
  call(module: string, name: string, args: readonly unknown[], timeoutMs: number): Promise<Ended<Extract<Outcome, { kind: "call" }>>> {
    return this.run({ kind: "call", module, export: name, args }, timeoutMs) as Promise<Ended<Extract<Outcome, { kind: "call" }>>>;
  }

  /** Runs one job; never rejects because of the job. */
  async run(job: Job, timeoutMs: number): Promise<Ended> {
    const child = await this.start();
    const rss = () => residentBytes(child.pid!);
    const baseline = rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
    this.stderrTail = "";
    const start = performance.now();
    const ended = await new Promise<Pick<Ended, "outcome" | "timedOut" | "died">>((resolve) => {
      const timer = setTimeout(() => finish({ outcome: undefined, timedOut: true, died: undefined }), timeoutMs);
      const onMessage = (outcome: Outcome) => finish({ outcome, timedOut: false, died: undefined });
      const onExit = (code: number | null, signal: string | null) =>
        finish({ outcome: undefined, timedOut: false, died: `exit ${code ?? signal}: ${this.stderrTail.slice(-600)}` });
      function finish(result: Pick<Ended, "outcome" | "timedOut" | "died">) {
        clearTimeout(timer);
        child.off("message", onMessage).off("exit", onExit);
        resolve(result);
      }
      child.on("message", onMessage).on("exit", onExit);
      child.send(job);
    });
    const ms = performance.now() - start;
    clearInterval(sampler);
    if (ended.outcome === undefined) this.stop(); // timed out or died: a fresh child next time
    return { ...ended, ms, peakRssMb: (peak - baseline) / 2 ** 20 };
  }

  /** Stops the child. */
  stop(): void {
    const child = this.child;
    this.child = undefined;
    this.starting = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }

  private start(): Promise<ChildProcess> {
    if (this.child) return Promise.resolve(this.child);
    this.starting ??= new Promise<ChildProcess>((resolve, reject) => {
      const child = fork(path.join(here, "sandbox-boot.mjs"), [], {
        execArgv: [`--max-old-space-size=${this.options.maxHeapMb ?? 1024}`],
        stdio: ["ignore", "ignore", "pipe", "ipc"],
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: undefined, GIM_DEBUG: undefined },
      });
      child.stderr!.on("data", (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000)));
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`sandbox child exited (${code}) before it was ready: ${this.stderrTail}`)));
      child.once("message", async (message: { kind: string }) => {
        if (message.kind !== "ready") return reject(new Error(`sandbox child said ${JSON.stringify(message)} before ready`));
        for (const module of this.options.preload ?? []) {
          // A call to a missing export loads the module and fails harmlessly.
          await new Promise((done) => {
            child.once("message", done);
            child.send({ kind: "call", module, export: "\0preload", args: [] } satisfies Job);
          });
        }
        child.removeAllListeners("exit");
        this.child = child;
        resolve(child);
      });
    });
    return this.starting;
  }
}

/** Resident memory of a process, bytes (Linux /proc; 0 elsewhere). */
function residentBytes(pid: number): number {
  try {
    const pages = Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return pages * 4096;
  } catch {
    return 0;
  }
}
