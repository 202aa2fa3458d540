import { quote } from "@gim/tensor";

/**
 * A small command-line parser driven by a declarative spec per command: long options only
 * (`--name value` or `--name=value`), flags, repeatable options, positional arguments and
 * `--`. Every mistake is a {@link UsageError} with one line naming the option and the
 * problem, so the command can exit 2 without a stack trace.
 */

/** How an option's value is read. */
export type OptionKind =
  /** No value: present or not (`--json`). */
  | "flag"
  /** Any text (`--model DIR`). */
  | "string"
  /** An integer, negative allowed unless `min` says otherwise (`--position -1`). */
  | "int"
  /** A finite decimal number (`--q-scale 0.25`, `--q-scale 2.5e-1`). */
  | "number"
  /** Comma-separated non-negative integers (`--ids 5,17,3`). */
  | "ids";

/** One option of a command. */
export interface OptionSpec {
  /** The long name without dashes (`model` for `--model`). */
  readonly name: string;
  readonly kind: OptionKind;
  /** Placeholder for the value in help and errors (`DIR`, `N`). */
  readonly valueName?: string;
  /** One line for the help. */
  readonly description: string;
  /** The default, as help shows it. */
  readonly defaultText?: string;
  /** May be given several times; values accumulate in order. */
  readonly repeatable?: boolean;
  /** "int" and "number": the smallest value allowed. */
  readonly min?: number;
  /** "int" and "number": the largest value allowed (a bound on the work the option asks for), and why, for the message. */
  readonly max?: { readonly value: number; readonly why: string };
  /** "number": must be greater than 0. */
  readonly positive?: boolean;
}

/** A command: its name, help text and options. */
export interface CommandSpec {
  /** The word after `gim` (`explain`). */
  readonly name: string;
  /** One line for the overall help. */
  readonly summary: string;
  /** Usage lines without the leading `gim NAME` (`[options] TEXT`). */
  readonly usage: readonly string[];
  /** Positional arguments: their help name and how many at most. */
  readonly positionals?: { readonly name: string; readonly description: string; readonly max: number };
  readonly options: readonly OptionSpec[];
  /** Paragraphs of help after the options. */
  readonly notes?: readonly string[];
  /** Example command lines (without the leading `gim`). */
  readonly examples?: readonly string[];
}

/** A parsed option value. */
export type OptionValue = boolean | string | number | number[];

/** A mistake on the command line: the command exits 2 with the message on one line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The options and positional arguments of one command line, with typed accessors. */
export class ParsedArgs {
  /** Whether `--help` or `-h` was given (then nothing else was checked). */
  readonly help: boolean;

  constructor(
    /** The command's spec. */
    readonly spec: CommandSpec,
    private readonly values: ReadonlyMap<string, readonly OptionValue[]>,
    /** Positional arguments, in order. */
    readonly positionals: readonly string[],
    help = false,
  ) {
    this.help = help;
  }

  /** Whether the option was given. */
  has(name: string): boolean {
    this.option(name);
    return this.values.has(name);
  }

  /** A flag: true when given. */
  flag(name: string): boolean {
    this.option(name, "flag");
    return this.values.has(name);
  }

  /** The value of a "string" option, or undefined. */
  string(name: string): string | undefined {
    this.option(name, "string");
    return this.values.get(name)?.[0] as string | undefined;
  }

  /** Every value of a repeatable "string" option, in order. */
  strings(name: string): string[] {
    this.option(name, "string");
    return [...((this.values.get(name) ?? []) as string[])];
  }

  /** The value of an "int" or "number" option, or undefined. */
  number(name: string): number | undefined {
    const spec = this.option(name);
    if (spec.kind !== "int" && spec.kind !== "number") throw new Error(`option --${name} is not numeric`);
    return this.values.get(name)?.[0] as number | undefined;
  }

  /** The value of an "ids" option, or undefined. */
  ids(name: string): number[] | undefined {
    this.option(name, "ids");
    const v = this.values.get(name)?.[0] as number[] | undefined;
    return v ? [...v] : undefined;
  }

  // Asking for an option the spec does not have is a bug in the command, not a usage error.
  private option(name: string, kind?: OptionKind): OptionSpec {
    const spec = this.spec.options.find((o) => o.name === name);
    if (!spec) throw new Error(`command ${this.spec.name} has no option --${name}`);
    if (kind !== undefined && spec.kind !== kind) throw new Error(`option --${name} is ${spec.kind}, not ${kind}`);
    return spec;
  }
}

/** Whether an argument asks for help (`--help`, `-h`). */
export function isHelpArg(arg: string): boolean {
  return arg === "--help" || arg === "-h";
}

/**
 * Parses the arguments after the command name. `--help`/`-h` anywhere before `--` wins over
 * any other mistake. A value is taken from `--name=value` or from the next argument; the
 * next argument is not taken when it is missing or looks like an option (`--json`), so
 * `--model --json` is "needs a value", while `--position -1` works.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const end = argv.indexOf("--");
  if ((end < 0 ? argv : argv.slice(0, end)).some(isHelpArg)) return new ParsedArgs(spec, new Map(), [], true);

  const values = new Map<string, OptionValue[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const option = spec.options.find((o) => o.name === name);
      if (!option) throw unknownOption(spec, `--${name}`);
      let value: OptionValue;
      if (option.kind === "flag") {
        if (inline !== undefined) throw new UsageError(`option --${name} takes no value (got "${inline}")`);
        value = true;
      } else {
        let text = inline;
        if (text === undefined) {
          const next = argv[i + 1];
          if (next === undefined || next.startsWith("--")) {
            throw new UsageError(`option --${name} needs a value (${option.valueName ?? "VALUE"})`);
          }
          text = next;
          i++;
        }
        value = parseValue(option, text);
      }
      if (values.has(name) && !option.repeatable) throw new UsageError(`option --${name} is given more than once`);
      values.set(name, [...(values.get(name) ?? []), value]);
      continue;
    }
    // Single-dash words are options we do not have ("-x"); "-" alone and "-5" are text.
    if (/^-[A-Za-z]/.test(arg)) throw unknownOption(spec, arg);
    positionals.push(arg);
  }

  const max = spec.positionals?.max ?? 0;
  if (positionals.length > max) {
    if (max === 0) throw new UsageError(`gim ${spec.name} takes no positional arguments, got "${positionals[0]}"`);
    throw new UsageError(`gim ${spec.name} takes at most ${max} ${spec.positionals!.name} argument${max === 1 ? "" : "s"}, got ${positionals.length} (quote text that has spaces)`);
  }
  return new ParsedArgs(spec, values, positionals);
}

function unknownOption(spec: CommandSpec, arg: string): UsageError {
  const name = arg.replace(/^-+/, "");
  const guess = closest(name, spec.options.map((o) => o.name));
  const hint = guess !== undefined ? `; did you mean --${guess}?` : "";
  return new UsageError(`unknown option ${arg} for gim ${spec.name}${hint} (see gim ${spec.name} --help)`);
}

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseValue(option: OptionSpec, text: string): OptionValue {
  const flag = `--${option.name}`;
  switch (option.kind) {
    case "flag":
      return true;
    case "string":
      return text;
    case "int": {
      const v = Number(text.trim());
      if (!INT.test(text.trim()) || !Number.isSafeInteger(v)) throw new UsageError(`option ${flag} needs an integer, got "${text}"`);
      return checkMin(option, v);
    }
    case "number": {
      const v = Number(text.trim());
      if (!DECIMAL.test(text.trim()) || !Number.isFinite(v)) throw new UsageError(`option ${flag} needs a number, got "${text}"`);
      if (option.positive && !(v > 0)) throw new UsageError(`option ${flag} must be greater than 0, got ${text}`);
      return checkMin(option, v);
    }
    case "ids": {
      if (text.trim() === "") throw new UsageError(`option ${flag} needs at least one token id`);
      if (/^\s*[[{]/.test(text)) throw new UsageError(`option ${flag} takes integers separated by commas, without brackets; got ${text.trim().startsWith("[") ? "a JSON array" : "a JSON object"} ${quote(text.trim(), 60)}`);
      return text.split(",").map((item) => {
        const s = item.trim();
        const v = Number(s);
        if (!/^\+?\d+$/.test(s) || !Number.isSafeInteger(v)) {
          const what = /^(".*"|'.*')$/.test(s) ? "is a quoted string, not a token id" : /^[+-]?\d+$/.test(s) ? (s.startsWith("-") ? "is negative, not a token id" : "is too large for a token id") : "is not a token id";
          throw new UsageError(`option ${flag}: ${quote(item, 60)} ${what} (ids are integers >= 0, separated by commas)`);
        }
        return v;
      });
    }
  }
}

function checkMin(option: OptionSpec, v: number): number {
  if (option.min !== undefined && v < option.min) throw new UsageError(`option --${option.name} must be at least ${option.min}, got ${v}`);
  if (option.max !== undefined && v > option.max.value) throw new UsageError(`option --${option.name} must be at most ${option.max.value} (${option.max.why}), got ${v}`);
  return v;
}

/** The candidate closest to `word` (a prefix, or edit distance at most 2), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word === "") return undefined;
  const prefixed = candidates.filter((c) => c.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions; each costs 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The help text of a command: usage, options with value names and defaults, notes, examples. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`gim ${spec.name}: ${spec.summary}`, "", "Usage:"];
  for (const u of spec.usage) lines.push(`  gim ${spec.name} ${u}`);
  if (spec.positionals) lines.push("", "Arguments:", ...twoColumns([[spec.positionals.name, spec.positionals.description]]));
  const rows: [string, string][] = spec.options.map((o) => {
    const left = o.kind === "flag" ? `--${o.name}` : `--${o.name} ${o.valueName ?? "VALUE"}`;
    const extras = [o.repeatable ? "repeatable" : "", o.defaultText !== undefined ? `default: ${o.defaultText}` : ""].filter((s) => s !== "");
    return [left, extras.length > 0 ? `${o.description} [${extras.join("; ")}]` : o.description];
  });
  rows.push(["--help, -h", "Show this help"]);
  lines.push("", "Options:", ...twoColumns(rows));
  for (const note of spec.notes ?? []) lines.push("", ...wrap(note, 100));
  if (spec.examples && spec.examples.length > 0) lines.push("", "Examples:", ...spec.examples.map((e) => `  gim ${e}`));
  return lines.join("\n") + "\n";
}

/** Text wrapped at word boundaries into lines of at most `width` columns (long words stay whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/**
 * Rows as two aligned columns, indented by two spaces; the right column is wrapped at word
 * boundaries so lines stay within `width` columns (a word longer than the room stays whole).
 */
export function twoColumns(rows: readonly (readonly [string, string])[], width = 100): string[] {
  const left = Math.max(...rows.map(([l]) => l.length));
  const room = Math.max(20, width - left - 4);
  const lines: string[] = [];
  for (const [l, r] of rows) {
    wrap(r, room).forEach((w, i) => lines.push(`  ${(i === 0 ? l : "").padEnd(left)}  ${w}`.trimEnd()));
  }
  return lines;
}
