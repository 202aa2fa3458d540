/** A model folder on disk, read with Node's synchronous file API. */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { FileFormatError } from "@gim/tensor";
import { normalizeFileName, type ModelFolder } from "../folder.js";
import { describeError } from "../safetensors/error.js";
import { openFileSource } from "./open-safetensors.js";

/**
 * The model folder at `dir`. Only regular files are read (a FIFO or a device in the place of
 * a file is refused before it is opened), and a file over the reader's byte limit is refused
 * before it is read.
 */
export function nodeFolder(dir: string): ModelFolder {
  const pathOf = (file: string) => nodePath.join(dir, normalizeFileName(file) ?? file);
  return {
    name: dir,
    pathOf,
    has: (file) => normalizeFileName(file) !== undefined && fs.existsSync(pathOf(file)),
    readBytes(file, maxBytes) {
      const path = pathOf(file);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(path);
      } catch (error) {
        throw new FileFormatError(path, (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot read: ${describeError(error)}`);
      }
      if (!stat.isFile()) throw new FileFormatError(path, "is not a regular file");
      if (stat.size > maxBytes) throw new FileFormatError(path, `is ${stat.size} bytes, over the limit of ${maxBytes}`);
      try {
        return fs.readFileSync(path);
      } catch (error) {
        throw new FileFormatError(path, `cannot read: ${describeError(error)}`);
      }
    },
    open: (file) => openFileSource(pathOf(file)),
  };
}
