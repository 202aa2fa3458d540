/** Opening safetensors files lazily with Node's synchronous file API. */
import * as fs from "node:fs";
import { SafetensorsError, describeError } from "./error.js";
import { PREFIX_BYTES, parseHeader, readHeaderLength } from "./header.js";
import type { ByteSource } from "./read-tensor.js";
import { SafetensorsFile } from "./reader.js";

// One readSync call reads at most about 2 GB; bigger tensors are read in several calls.
const MAX_READ_BYTES = 1 << 30;

/** A byte source over an open file descriptor. */
class FileSource implements ByteSource {
  constructor(
    private readonly file: string,
    private fd: number | undefined,
    readonly size: number,
  ) {}

  readInto(target: Uint8Array, position: number, what: string): void {
    if (this.fd === undefined) throw new SafetensorsError(this.file, `is closed; cannot read ${what}`);
    let done = 0;
    while (done < target.length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, target, done, Math.min(target.length - done, MAX_READ_BYTES), position + done);
      } catch (error) {
        throw new SafetensorsError(this.file, `cannot read ${what}: ${describeError(error)}`);
      }
      if (n === 0) {
        throw new SafetensorsError(
          this.file,
          `file ended at byte ${position + done} while reading ${what} (was it changed after it was opened?)`,
        );
      }
      done += n;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }
}

/**
 * Opens the safetensors file at `path`: reads the 8-byte header length and the header only,
 * validates the whole header, and returns a reader that reads each tensor from disk on demand.
 * The file stays open until `close()`.
 *
 * Every problem with the file is a {@link SafetensorsError} reading `<path>: <problem>`.
 */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    // Checked before opening: opening a FIFO for reading would block until a writer comes.
    if (!fs.statSync(path).isFile()) throw new SafetensorsError(path, "is not a regular file");
    fd = fs.openSync(path, "r");
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(path, `cannot open: ${describeError(error)}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new SafetensorsError(path, "is not a regular file");
    const source = new FileSource(path, fd, stat.size);
    const prefix = new Uint8Array(Math.min(PREFIX_BYTES, stat.size));
    source.readInto(prefix, 0, "the header length");
    const headerLength = readHeaderLength(path, prefix, stat.size);
    const dataStart = PREFIX_BYTES + headerLength;
    const headerBytes = new Uint8Array(headerLength);
    source.readInto(headerBytes, PREFIX_BYTES, "the header");
    const header = parseHeader(path, headerBytes, dataStart, stat.size - dataStart);
    return new SafetensorsFile(path, source, header);
  } catch (error) {
    fs.closeSync(fd);
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(path, `cannot read: ${describeError(error)}`);
  }
}
