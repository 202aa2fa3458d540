/**
 * JSON text from files, read strictly: `JSON.parse` keeps the last of two equal keys in an
 * object, so a file that says `"n_layer": 2, "n_layer": 1` or names a tensor twice would be
 * read as one of its two meanings without a word; and it builds an object of any number of
 * keys. {@link parseJsonText} refuses both.
 */
import { quote } from "@gim/tensor";

/** The most keys one JSON object of a file may have (a vocabulary of a million tokens fits). */
export const MAX_OBJECT_KEYS = 2 ** 20;

/** What {@link scanKeys} found: the first key given twice in one object, and the first object with too many keys. */
export interface KeyScan {
  /** Path of the first key that appears twice in one object (`['weight_map', 'lm_head.weight']`; array elements as `[i]`). */
  readonly duplicate: string[] | undefined;
  /** Path of the first object with more than {@link MAX_OBJECT_KEYS} keys (`[]` for the top level). */
  readonly crowded: string[] | undefined;
}

/**
 * Scans JSON `text` for keys given twice in one object and for objects with more than
 * {@link MAX_OBJECT_KEYS} keys, in one pass without recursion (the nesting depth does not
 * matter) and without building the value: it runs before `JSON.parse`, so an object of ten
 * million keys is refused before it costs gigabytes. On text that is not JSON it finds
 * nothing meaningful; `JSON.parse` then says what is wrong.
 */
export function scanKeys(text: string): KeyScan {
  // One frame per open object or array: the keys seen so far (objects), the current key or index.
  const frames: { keys: Set<string> | undefined; at: string }[] = [];
  const path = () => frames.map((f) => (f.keys ? f.at : `[${f.at}]`));
  let duplicate: string[] | undefined;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = closingQuote(text, i);
      const top = frames[frames.length - 1];
      if (expectKey && top?.keys) {
        const key = decodeKey(text.slice(i + 1, end));
        top.at = key;
        if (top.keys.has(key)) duplicate ??= path();
        else if (top.keys.size === MAX_OBJECT_KEYS) return { duplicate, crowded: path().slice(0, -1) };
        else top.keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      frames.push({ keys: new Set(), at: "" });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      frames.push({ keys: undefined, at: "0" });
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
    } else if (c === 0x2c /* , */) {
      const top = frames[frames.length - 1];
      if (top && !top.keys) top.at = String(Number(top.at) + 1);
      expectKey = top?.keys !== undefined;
    }
  }
  return { duplicate, crowded: undefined };
}

/** A key's text without its quotes, with escapes decoded (as it is, if they are not valid). */
function decodeKey(raw: string): string {
  if (!raw.includes("\\")) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** The index of the quote that closes the string opening at `start` (escaped quotes skipped). */
function closingQuote(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const at = text.indexOf('"', from);
    if (at < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
    from = at + 1;
  }
}

/** A duplicate key path as messages show it: `"weight_map"."lm_head.weight"`, `"added_tokens"[3]."id"`. */
export function formatKeyPath(path: readonly string[]): string {
  return path.map((part, i) => (part.startsWith("[") ? part : `${i > 0 ? "." : ""}${quote(part)}`)).join("");
}

/**
 * Parses the JSON `text` of a file strictly: an object with more than {@link MAX_OBJECT_KEYS}
 * keys is refused before parsing, and a key given twice in one object after it (`JSON.parse`
 * would keep the last). `fail` gets the problem (`the file names "n_layer" twice`) and must
 * throw; `syntax` words a `JSON.parse` error and must throw; `what` says what the text is
 * ("the file", "the header").
 */
export function parseJsonText(text: string, fail: (problem: string) => never, syntax: (error: Error) => never, what = "the file"): unknown {
  const scan = scanKeys(text);
  if (scan.crowded) {
    const where = scan.crowded.length === 0 ? "its top-level object" : `the object at ${formatKeyPath(scan.crowded)}`;
    fail(`${what} has more than ${MAX_OBJECT_KEYS} keys in ${where}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    syntax(error as Error);
  }
  if (scan.duplicate) fail(`${what} names ${formatKeyPath(scan.duplicate)} twice`);
  return value;
}
