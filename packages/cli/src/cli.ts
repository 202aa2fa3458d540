/**
 * The `gim` command in-process: parse, dispatch, and turn every error into one line on
 * stderr and an exit code (2: the command line is wrong; 1: running it failed).
 */
import { createRequire } from "node:module";
import { escapeControl, FileFormatError, InputError, NonFiniteError } from "@gim/tensor";
import { formatHelp, isHelpArg, parseArgs, twoColumns, UsageError } from "./args.js";
import { componentsCommand } from "./commands/components.js";
import { evalCommand } from "./commands/eval.js";
import { explainCommand } from "./commands/explain.js";
import { logitsCommand } from "./commands/logits.js";
import type { CliIO, Command } from "./io.js";
import { closest } from "./args.js";

/** The commands of `gim`, by name. */
export const commands: ReadonlyMap<string, Command> = new Map([explainCommand, logitsCommand, componentsCommand, evalCommand].map((c) => [c.spec.name, c]));

/** Exit codes of `gim`. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** Running the command failed (a model folder that cannot be read, ...). */
  runtime: 1,
  /** The command line is wrong (unknown option, bad value, id out of range, ...). */
  usage: 2,
} as const;

/** The overall help of `gim`. */
export function overallHelp(): string {
  return [
    "gim: explain a language model's predictions with GIM (Gradient Interaction Modifications)",
    "",
    "Usage:",
    "  gim COMMAND [options]",
    "  gim help [COMMAND]",
    "  gim --version",
    "",
    "Commands:",
    ...twoColumns([...commands.values()].map((c) => [c.spec.name, c.spec.summary])),
    "",
    "Run gim COMMAND --help for a command's options and their defaults.",
    "",
    "Environment:",
    ...twoColumns([
      ["NO_COLOR=1", "no colors (also when stdout is not a terminal)"],
      ["FORCE_COLOR=1", "colors even when stdout is not a terminal (3: 24-bit)"],
      ["COLORTERM=truecolor", "24-bit colors instead of the 256-color palette"],
      ["GIM_DEBUG=1", "show the stack trace of an error"],
    ]),
    "",
    "Exit codes: 0 success, 1 the command failed while running, 2 the command line is wrong.",
    "",
  ].join("\n");
}

/** The version of this package (`@gim/cli`'s package.json). */
export function cliVersion(): string {
  // src/cli.ts and dist/cli.js both sit one level below the package root.
  const pkg = createRequire(import.meta.url)("../package.json") as { version: string };
  return pkg.version;
}

/** The IO of the current process (stdout, stderr, environment, working folder). */
export function processIO(): CliIO {
  // Under `pnpm gim`, scripts run in the repo root; INIT_CWD is where the user typed it.
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.env["INIT_CWD"] ?? process.cwd() };
}

/**
 * Runs `gim` with `argv` (the arguments after `gim`) and returns the exit code. Never throws:
 * errors are one line `gim: ...` on stderr (with the stack when `GIM_DEBUG` is set).
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      // Nothing asked: show what can be asked (exit 2, as for any incomplete command line).
      io.stdout.write(overallHelp());
      return ExitCode.usage;
    }
    if (first === "--version" || first === "-V") {
      io.stdout.write(`gim ${cliVersion()}\n`);
      return ExitCode.ok;
    }
    if (isHelpArg(first)) {
      io.stdout.write(overallHelp());
      return ExitCode.ok;
    }
    if (first === "help") {
      if (rest.length === 0) io.stdout.write(overallHelp());
      else io.stdout.write(formatHelp(findCommand(rest[0]!).spec));
      return ExitCode.ok;
    }
    const command = findCommand(first);
    const args = parseArgs(command.spec, rest);
    if (args.help) {
      io.stdout.write(formatHelp(command.spec));
      return ExitCode.ok;
    }
    await command.run(args, io);
    return ExitCode.ok;
  } catch (error) {
    return reportError(error, io);
  }
}

function findCommand(name: string): Command {
  const command = commands.get(name);
  if (command) return command;
  if (name.startsWith("-")) throw new UsageError(`expected a command before options, got ${name} (commands: ${[...commands.keys()].join(", ")}; see gim --help)`);
  const guess = closest(name, [...commands.keys()]);
  throw new UsageError(`unknown command "${name}"${guess !== undefined ? `; did you mean ${guess}?` : ""} (commands: ${[...commands.keys()].join(", ")}; see gim --help)`);
}

function reportError(error: unknown, io: CliIO): number {
  const debug = io.env["GIM_DEBUG"] !== undefined && io.env["GIM_DEBUG"] !== "" && io.env["GIM_DEBUG"] !== "0";
  io.stderr.write(`gim: ${escapeControl(oneLine(describeFailure(error)))}\n`);
  if (debug && error instanceof Error && error.stack) io.stderr.write(error.stack + "\n");
  // The library's InputError is a mistake in what was asked (exit 2), except in a file's content
  // or a result that is not finite (NaN weights, an overflow): running the command failed (exit 1).
  if (error instanceof UsageError || (error instanceof InputError && !(error instanceof FileFormatError) && !(error instanceof NonFiniteError))) return ExitCode.usage;
  return ExitCode.runtime;
}

/**
 * The message of an error. The engine's own failures (a stack overflow, an allocation over
 * its limits) are bugs the packages' checks should have prevented; they read as what they
 * mean rather than as V8's wording alone.
 */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof RangeError) {
    if (/call stack size/i.test(error.message)) return `the input is nested too deeply to process (${error.message}); please report this with GIM_DEBUG=1`;
    if (/allocation failed|invalid (typed )?array length|maximum size exceeded|invalid string length/i.test(error.message)) {
      return `out of memory: the input needs more memory than can be allocated (${error.message})`;
    }
  }
  return error.message;
}

/** A message on one line: line breaks become "; ", runs of blanks one space. */
export function oneLine(message: string): string {
  const s = message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join("; ")
    .replace(/[ \t]+/g, " ");
  return s === "" ? "unknown error" : s;
}
