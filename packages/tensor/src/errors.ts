/**
 * The errors the packages throw on purpose. An {@link InputError} means the caller gave
 * something the library cannot use (a shape, an id, a position, an option, a file's content);
 * its message says what, on one line. Anything else that escapes a package is a bug.
 *
 * Every package of the monorepo throws these (they live here, in the lowest package, so
 * each one can import them), and a program can tell its user's mistakes from bugs with one
 * `instanceof InputError`.
 */

/** A caller's input the library cannot use; the message names the problem on one line. */
export class InputError extends Error {
  override name = "InputError";

  /** `message` on one line, with control characters escaped (see {@link escapeControl}). */
  constructor(message: string, options?: ErrorOptions) {
    super(escapeControl(joinLines(message)), options);
  }
}

/**
 * An {@link InputError} in the content of a file (or folder, or in-memory file): the message
 * is `<file>: <problem>`, so the bad file is named first.
 */
export class FileFormatError extends InputError {
  override name = "FileFormatError";
  /** The file, folder or buffer the problem is in, as the caller named it. */
  readonly file: string;
  /** The problem, without the file name. */
  readonly problem: string;

  constructor(file: string, problem: string, options?: ErrorOptions) {
    const safeFile = escapeControl(joinLines(file));
    const safeProblem = escapeControl(joinLines(problem));
    super(`${safeFile}: ${safeProblem}`, options);
    this.file = safeFile;
    this.problem = safeProblem;
  }
}

/**
 * A result that holds NaN or ±Infinity (logits, attributions, gradients): an error rather than
 * a number that prints as a ranked table or `null`. The message names the result and, when it
 * could be found, the first place the non-finite values appeared (a parameter, or the first op
 * of the forward or backward pass whose output holds them). Loading NaN or Infinity is not an
 * error; computing a result from them is.
 */
export class NonFiniteError extends InputError {
  override name = "NonFiniteError";
  /** The result that is not finite (`the logits`, `the gim attributions`). */
  readonly result: string;
  /** Where the non-finite values first appeared, when known (`matmul at h.0.mlp.c_fc`). */
  readonly origin: string | undefined;

  constructor(result: string, origin: string | undefined, options?: ErrorOptions) {
    super(`${result} are not finite${origin !== undefined ? `: ${origin}` : ""}`, options);
    this.result = result;
    this.origin = origin;
  }
}

/**
 * `text` on one line: each line break, with the blanks around it, becomes one space. Linear
 * time (a regex like `\s*\n+\s*` backtracks quadratically over a long run of blanks).
 */
export function joinLines(text: string): string {
  const lines = text.split(/[\r\n\u2028\u2029]+/);
  if (lines.length === 1) return text;
  return lines.map((line, i) => (i === 0 ? line.trimEnd() : i === lines.length - 1 ? line.trimStart() : line.trim())).join(" ");
}

// C0 and C1 controls, DEL, format characters (bidi overrides, zero-width ones), line and
// paragraph separators, and lone surrogates: anything that can move the cursor, recolour
// or reorder a terminal's text, or hide what a message says.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * `text` safe to print on a terminal: every control or format character (ESC, CSI, bidi
 * overrides, zero-width characters, line separators, lone surrogates) becomes a visible
 * escape (`\n`, `\t`, `\u001b`, `\u202e`); everything else is kept. The one helper every
 * message that quotes a file's content goes through ({@link quote}, the error classes here,
 * the `gim` command's error line).
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    const code = ch.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * A value from a file (a JSON value, a token, a name), as a message quotes it: JSON-like
 * (strings in double quotes, so `"1"` and `1` differ), at most `maxChars` characters (longer
 * ones end in `...`), nested at most a few levels deep, with control characters escaped.
 * Bounded work whatever the value: a 100 MB string or an array nested 100,000 deep is cut,
 * not rendered and then cut.
 */
export function quote(value: unknown, maxChars = 100): string {
  const text = preview(value, maxChars + 1, 0);
  return escapeControl(text.length > maxChars ? `${text.slice(0, Math.max(0, maxChars - 3))}...` : text);
}

/**
 * What kind of value `value` is, for a message that says why it was refused: `a string`,
 * `an array`, `an object`, `null`, `undefined`, `a boolean`, `NaN`, `a fraction`, `a number`.
 * So `"3"` given as an id reads as a string, not as the number 3.
 */
export function kindOfValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : !Number.isFinite(value) ? "not finite" : Number.isInteger(value) ? "a number" : "a fraction";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

const MAX_QUOTE_DEPTH = 4;

function preview(value: unknown, budget: number, depth: number): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > budget ? value.slice(0, budget) : value) ?? "";
    case "number":
    case "boolean":
      return String(value); // NaN and Infinity as they are (JSON.stringify would say null)
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "function":
    case "symbol":
      return `a ${typeof value}`;
  }
  if (value === null) return "null";
  if (depth >= MAX_QUOTE_DEPTH) return Array.isArray(value) ? "[...]" : "{...}";
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  let out = open;
  let first = true;
  const items: Iterable<unknown> = Array.isArray(value) ? value : Object.keys(value as object);
  for (const item of items) {
    if (out.length > budget) return out; // the caller cuts it and adds "..."
    const text = Array.isArray(value)
      ? preview(item, budget - out.length, depth + 1)
      : `${JSON.stringify((item as string).slice(0, budget))}:${preview((value as Record<string, unknown>)[item as string], budget - out.length, depth + 1)}`;
    out += (first ? "" : ",") + text;
    first = false;
  }
  return out + close;
}
