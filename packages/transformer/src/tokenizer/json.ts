// Small checked accessors for JSON read from tokenizer files. Every failure names the file
// (`source`) and the path of the offending value, on one line.
import { TokenizerError } from "./error.js";

/** A parsed JSON object. */
export type JsonObject = { [key: string]: unknown };

/** Parses `text` as JSON, or throws `"<source>: malformed JSON (<reason>)"`. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TokenizerError(source, `malformed JSON (${(error as Error).message})`);
  }
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
  return new TokenizerError(source, `unsupported ${kind} type ${JSON.stringify(type)}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
