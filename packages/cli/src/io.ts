/** What a command writes to and reads from, so tests can run commands in-process. */
import type { CommandSpec, ParsedArgs } from "./args.js";

/** A text output (process.stdout, or a capture in tests). */
export interface OutputStream {
  write(text: string): unknown;
  /** True when the output is a terminal (colors are then on by default). */
  readonly isTTY?: boolean | undefined;
  /** Terminal width in columns, when known. */
  readonly columns?: number | undefined;
}

/** The environment a command runs in. */
export interface CliIO {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Environment variables (NO_COLOR, FORCE_COLOR, COLORTERM, TERM, GIM_DEBUG). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder that relative paths (`--model`) are resolved against. */
  readonly cwd: string;
}

/** A command: its spec (options, help) and what it does with parsed arguments. */
export interface Command {
  readonly spec: CommandSpec;
  run(args: ParsedArgs, io: CliIO): Promise<void>;
}
