/** Opening safetensors files and checkpoint folders on disk lazily, with Node's synchronous file API. */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { SafetensorsError, describeError } from "../safetensors/error.js";
import type { ByteSource } from "../safetensors/read-tensor.js";
import { openSource, type SafetensorsFile, type SafetensorsReader } from "../safetensors/reader.js";
import { openCheckpoint, openShardedIn, type ShardedSafetensors } from "../safetensors/sharded.js";
import { folderProblem, nodeFolder, openRegularFile } from "./folder.js";

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
 * A regular file at `path` opened for reading byte ranges. Refuses anything else (a folder, a
 * FIFO, a device, a broken or looping link) before opening it: opening a FIFO for reading
 * would block until a writer comes (see `openRegularFile`).
 */
export function openFileSource(path: string): ByteSource {
  const { fd, size } = openRegularFile(path, SafetensorsError);
  return new FileSource(path, fd, size);
}

/**
 * Opens the safetensors file at `path`: reads the 8-byte header length and the header only,
 * validates the whole header, and returns a reader that reads each tensor from disk on demand.
 * The file stays open until `close()`.
 *
 * Every problem with the file is a {@link SafetensorsError} reading `<path>: <problem>`.
 */
export function openSafetensors(path: string): SafetensorsFile {
  return openSource(path, openFileSource(path));
}

/**
 * Opens a sharded checkpoint from its index file (see `openShardedIn`): the index and its
 * shards, which must lie in the index's folder.
 */
export function openShardedSafetensors(indexPath: string): ShardedSafetensors {
  return openShardedIn(nodeFolder(nodePath.dirname(indexPath)), nodePath.basename(indexPath));
}

/**
 * Opens the checkpoint in the model folder `dir`: the sharded checkpoint described by
 * `model.safetensors.index.json` if there is one, else `model.safetensors`.
 */
export function openSafetensorsFolder(dir: string): SafetensorsReader {
  const problem = folderProblem(dir);
  if (problem !== undefined) throw new SafetensorsError(dir, `the model folder ${problem}`);
  return openCheckpoint(nodeFolder(dir));
}
