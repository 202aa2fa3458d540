/**
 * A model folder on disk, read with Node's synchronous file API; and the one place that decides
 * what on disk may be read: regular files only (a FIFO would block, a device reads without end),
 * symbolic links followed with a clear message when they are broken or loop, and every read
 * capped at a byte limit that is checked before reading and enforced while reading (a file can
 * grow, and /proc files report size 0).
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { FileFormatError } from "@gim/tensor";
import { normalizeFileName, type ModelFolder } from "../folder.js";
import { describeError } from "../safetensors/error.js";
import { openFileSource } from "./open-safetensors.js";

/** A subclass of FileFormatError to throw (ConfigError, SafetensorsError, ...). */
export type FileErrorClass = new (file: string, problem: string) => FileFormatError;

/** What kind of thing a stat describes, for messages: "a FIFO", "a folder", ... */
function kindOf(stat: fs.Stats): string {
  if (stat.isFile()) return "a regular file";
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

/** What is at `path`, following symbolic links; `link` is the link's own target when it is one. */
type Found = { stat: fs.Stats; link: string | undefined } | { problem: string; missing: boolean };

/** Looks at `path` without opening it; a problem (missing, broken link, link loop) as a message. */
function look(path: string): Found {
  let own: fs.Stats | undefined;
  try {
    own = fs.lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    return { problem: `cannot be read: ${describeError(error)}`, missing: false };
  }
  if (own === undefined) return { problem: "does not exist", missing: true };
  if (!own.isSymbolicLink()) return { stat: own, link: undefined };
  let target = "";
  try {
    target = fs.readlinkSync(path);
  } catch {
    // the link vanished; statSync below says so
  }
  try {
    return { stat: fs.statSync(path), link: target };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") return { problem: `is a symbolic link loop (it links to ${target}, which leads back to itself)`, missing: false };
    if (code === "ENOENT" || code === "ENOTDIR") return { problem: `is a broken symbolic link (to ${target}, which does not exist)`, missing: false };
    return { problem: `is a symbolic link to ${target}, which cannot be followed: ${describeError(error)}`, missing: false };
  }
}

/**
 * What is wrong with `dir` as a folder to read from, as a phrase (`"does not exist"`, `"is a
 * broken symbolic link (to x, which does not exist)"`, `"is a FIFO, not a folder"`), or
 * undefined when it is a folder (or a link to one).
 */
export function folderProblem(dir: string): string | undefined {
  const found = look(dir);
  if ("problem" in found) return found.problem;
  if (found.stat.isDirectory()) return undefined;
  return `is ${kindOf(found.stat)}${found.link !== undefined ? ` (reached through a symbolic link to ${found.link})` : ""}, not a folder`;
}

/**
 * Opens the regular file at `path` for reading, or throws `errorClass(path, problem)`: missing,
 * a broken or looping link, or anything but a regular file (checked before opening, so a FIFO
 * never blocks the open, and again on the open descriptor, in case the path changed).
 * Returns the descriptor and the file's size; the caller closes it.
 */
export function openRegularFile(path: string, errorClass: FileErrorClass): { fd: number; size: number } {
  const found = look(path);
  if ("problem" in found) throw new errorClass(path, found.problem);
  const via = found.link !== undefined ? `, reached through a symbolic link to ${found.link}` : "";
  if (!found.stat.isFile()) throw new errorClass(path, `is not a regular file (${kindOf(found.stat)}${via})`);
  let fd: number;
  try {
    // Non-blocking: were a FIFO swapped in after the check, opening it must not wait for a writer.
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (error) {
    throw new errorClass(path, `cannot be opened: ${describeError(error)}`);
  }
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    fs.closeSync(fd);
    throw new errorClass(path, `is not a regular file (${kindOf(stat)}${via})`);
  }
  return { fd, size: stat.size };
}

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them: a larger file is refused
 * before it is read, and one that turns out larger while it is read (it grew, or its size was
 * not known) is refused as soon as the limit is passed.
 */
export function readRegularFile(path: string, maxBytes: number, errorClass: FileErrorClass): Uint8Array {
  const { fd, size } = openRegularFile(path, errorClass);
  const overLimit = (bytes: string) => new errorClass(path, `is ${bytes} bytes, over the limit of ${maxBytes}`);
  try {
    if (size > maxBytes) throw overLimit(String(size));
    // One byte more than the size, to notice a file that grew; /proc files say size 0, so at least 64 kB.
    let buffer = new Uint8Array(Math.min(maxBytes + 1, Math.max(size + 1, 1 << 16)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw overLimit(`over ${maxBytes}`);
        const grown = new Uint8Array(Math.min(maxBytes + 1, buffer.length * 2));
        grown.set(buffer);
        buffer = grown;
      }
      let n: number;
      try {
        n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      } catch (error) {
        throw new errorClass(path, `cannot be read: ${describeError(error)}`);
      }
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) throw overLimit(`over ${maxBytes}`);
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The model folder at `dir`. Only regular files are read (a FIFO, a device or a folder in the
 * place of a file is refused before it is opened), symbolic links are followed (a broken one
 * or a loop is refused with a message saying so), and a file over the reader's byte limit is
 * refused before it is read. `has` is true for a broken link too, so reading it says what is
 * wrong instead of the file seeming absent.
 */
export function nodeFolder(dir: string): ModelFolder {
  const pathOf = (file: string) => nodePath.join(dir, normalizeFileName(file) ?? file);
  return {
    name: dir,
    pathOf,
    has(file) {
      if (normalizeFileName(file) === undefined) return false;
      const found = look(pathOf(file));
      return !("missing" in found && found.missing);
    },
    readBytes: (file, maxBytes) => readRegularFile(pathOf(file), maxBytes, FileFormatError),
    open: (file) => openFileSource(pathOf(file)),
  };
}
