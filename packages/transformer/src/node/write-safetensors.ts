/** Writing safetensors files with Node's synchronous file API, tensor by tensor. */
import * as fs from "node:fs";
import { SafetensorsError, describeError } from "../safetensors/error.js";
import { encodeTensor, planFile, type TensorsToWrite, type WriteOptions } from "../safetensors/writer.js";

/**
 * Writes `tensors` to a safetensors file at `path`, one tensor at a time. On failure the
 * partial file is removed and a {@link SafetensorsError} naming `path` is thrown.
 */
export function writeSafetensors(path: string, tensors: TensorsToWrite, options: WriteOptions = {}): void {
  const plan = planFile(path, tensors, options);
  let fd: number;
  try {
    fd = fs.openSync(path, "w");
  } catch (error) {
    throw new SafetensorsError(path, `cannot create: ${describeError(error)}`);
  }
  let position = 0;
  const write = (bytes: Uint8Array): void => {
    let done = 0;
    while (done < bytes.length) {
      done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
    }
    position += bytes.length;
  };
  try {
    write(plan.head);
    for (const item of plan.items) encodeTensor(item, write);
    fs.closeSync(fd);
  } catch (error) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed, or the close failed: the unlink below still tidies up
    }
    fs.rmSync(path, { force: true });
    throw new SafetensorsError(path, `cannot write: ${describeError(error)}`);
  }
}
