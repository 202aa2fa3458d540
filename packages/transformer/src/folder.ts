/**
 * A model folder's files, wherever they live: on disk (Node, `nodeFolder` in
 * `@gim/transformer/node`), or in memory, fetched from URLs or dropped into a browser page
 * ({@link memoryFolder}). The loaders (`loadModelFrom`, `tokenizerFromFolder`) read through
 * this interface only, so one parser serves every place a checkpoint comes from.
 */
import { FileFormatError } from "@gim/tensor";
import type { ByteSource } from "./safetensors/read-tensor.js";

/** The files of a model folder (a Hugging Face checkpoint: config.json, safetensors, tokenizer files). */
export interface ModelFolder {
  /** How messages name the folder: a path, a URL, "dropped files". */
  readonly name: string;
  /** How messages name one of its files: `<folder>/config.json`. */
  pathOf(file: string): string;
  /** True when the folder holds `file` (a relative, `/`-separated name). */
  has(file: string): boolean;
  /** The whole file; a {@link FileFormatError} naming it if it is missing, unreadable or over `maxBytes`. */
  readBytes(file: string, maxBytes: number): Uint8Array;
  /** The file opened for reads of byte ranges (safetensors tensors are read one at a time). */
  open(file: string): ByteSource;
}

/** The bytes of files by name, as a browser gets them (fetch, drag and drop, `<input type=file>`). */
export type FileBytes = ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;

/**
 * A model folder held in memory: `files` by name (`config.json`, `model.safetensors`, ...).
 * `name` is how messages name the folder (a URL, or "dropped files").
 */
export function memoryFolder(files: FileBytes, name = "files"): ModelFolder {
  const byName = new Map(files instanceof Map ? files : Object.entries(files));
  for (const [file, bytes] of byName) {
    if (!(bytes instanceof Uint8Array)) throw new FileFormatError(`${name}/${file}`, "is not a Uint8Array of the file's bytes");
  }
  const pathOf = (file: string) => `${name}/${file}`;
  const get = (file: string): Uint8Array => {
    const bytes = byName.get(normalizeFileName(file) ?? file);
    if (!bytes) throw new FileFormatError(pathOf(file), "is missing");
    return bytes;
  };
  return {
    name,
    pathOf,
    has: (file) => byName.has(normalizeFileName(file) ?? file),
    readBytes(file, maxBytes) {
      const bytes = get(file);
      if (bytes.length > maxBytes) throw new FileFormatError(pathOf(file), `is ${bytes.length} bytes, over the limit of ${maxBytes}`);
      return bytes;
    },
    open: (file) => memorySource(get(file)),
  };
}

/** A byte source over bytes in memory (reads of aligned F32 tensors are views, not copies). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    readInto: (target, position) => target.set(bytes.subarray(position, position + target.length)),
    view: (position, length) => bytes.subarray(position, position + length),
    close: () => {},
  };
}

/** The text of a UTF-8 file of a folder (a BOM is dropped; invalid UTF-8 is an error naming the file). */
export function readText(folder: ModelFolder, file: string, maxBytes: number): string {
  const bytes = folder.readBytes(file, maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new FileFormatError(folder.pathOf(file), "is not valid UTF-8 text");
  }
}

/**
 * A relative file name inside a folder, normalized (`./a//b` -> `a/b`, `a/../b` -> `b`), or
 * undefined when it is empty, absolute or leaves the folder (`../x`), or holds a NUL.
 */
export function normalizeFileName(name: string): string | undefined {
  if (name.length === 0 || name.includes("\0") || name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name)) return undefined;
  const parts: string[] = [];
  for (const part of name.split(/[/\\]/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.length === 0 ? undefined : parts.join("/");
}
