// Small checked accessors for JSON read from tokenizer files. Every failure names the file
// (`source`) and the path of the offending value, on one line.
import { quote } from "@gim/tensor";
import { TokenizerError } from "./error.js";
import { parseJsonText } from "../json-text.js";

/** A parsed JSON object. */
export type JsonObject = { [key: string]: unknown };

/** Parses `text` as JSON, or throws `"<source>: malformed JSON (<reason>)"` (or names a key given twice in one object). */
export function parseJson(text: string, source: string): unknown {
  // Refuses a key twice in one object (a token twice in the vocabulary: the last would win).
  return parseJsonText(
    text,
    (problem) => {
      throw new TokenizerError(source, problem);
    },
    (error) => {
      throw new TokenizerError(source, `malformed JSON (${error.message})`);
    },
  );
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value` as an object, or an error naming `where`. */
export function asObject(value: unknown, source: string, where: string): JsonObject {
  if (!isObject(value)) throw new TokenizerError(source, `${where} must be an object, got ${describe(value)}`);
  return value;
}

/** `value` as an array, or an error naming `where`. */
export function asArray(value: unknown, source: string, where: string): unknown[] {
  if (!Array.isArray(value)) throw new TokenizerError(source, `${where} must be an array, got ${describe(value)}`);
  return value;
}

/** `value` as a string, or an error naming `where`. */
export function asString(value: unknown, source: string, where: string): string {
  if (typeof value !== "string") throw new TokenizerError(source, `${where} must be a string, got ${describe(value)}`);
  return value;
}

/** `value` as a non-negative integer, or an error naming `where`. */
export function asIndex(value: unknown, source: string, where: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new TokenizerError(source, `${where} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** `obj[key]` as a string; undefined when missing or null. */
export function optionalString(obj: JsonObject, key: string, source: string, where: string): string | undefined {
  const value = obj[key];
  return value === undefined || value === null ? undefined : asString(value, source, `${where}.${key}`);
}

/** `obj[key]` as a boolean; `fallback` when missing or null. */
export function optionalBoolean(obj: JsonObject, key: string, fallback: boolean, source: string, where: string): boolean {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") throw new TokenizerError(source, `${where}.${key} must be a boolean, got ${describe(value)}`);
  return value;
}

/** `obj[key]` as a non-negative integer; `fallback` when missing or null. */
export function optionalIndex(obj: JsonObject, key: string, fallback: number, source: string, where: string): number {
  const value = obj[key];
  return value === undefined || value === null ? fallback : asIndex(value, source, `${where}.${key}`);
}

/** The `type` field of a pipeline component, or an error naming `where`. */
export function componentType(obj: JsonObject, source: string, where: string): string {
  return asString(obj["type"], source, `${where}.type`);
}

/** A one-line error for a component type we do not implement. */
export function unsupported(source: string, kind: string, type: string): TokenizerError {
  return new TokenizerError(source, `unsupported ${kind} type ${quote(type)}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/**
 * The deepest nesting of `Sequence` components accepted (real files nest one or two). Each
 * level is a recursive call when the pipeline is built and when it runs, so a file nested
 * thousands deep would overflow the stack.
 */
export const MAX_SEQUENCE_DEPTH = 16;

/** A one-line error when a Sequence at `where` is nested `depth` levels deep, past the limit. */
export function checkSequenceDepth(depth: number, source: string, where: string): void {
  if (depth >= MAX_SEQUENCE_DEPTH) throw new TokenizerError(source, `${where}: Sequences nested deeper than ${MAX_SEQUENCE_DEPTH}`);
}

/**
 * The most tokens a vocabulary may have (Gemma's, among the largest, has 262,144) and the
 * most merges a BPE model may list: beyond them a file costs gigabytes to hold, and ids past
 * 2^24 cannot be used anyway.
 */
export const tokenizerLimits = { vocab: 2 ** 20, merges: 2 ** 21 } as const;

/**
 * A vocabulary object (token -> id) as a map, every id checked; `where` names it in errors.
 * Refuses more than {@link tokenizerLimits}.vocab tokens before building anything.
 */
export function readVocab(obj: JsonObject, source: string, where: string): Map<string, number> {
  let count = 0;
  for (const _ in obj) if (++count > tokenizerLimits.vocab) throw new TokenizerError(source, `${where} has more than ${tokenizerLimits.vocab} tokens`);
  const vocab = new Map<string, number>();
  for (const token in obj) {
    const id = obj[token];
    // The message (and its quoting) only when an id is bad: a vocabulary has a million entries.
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) asIndex(id, source, `${where}[${quote(token)}]`);
    vocab.set(token, id as number);
  }
  return vocab;
}
