import { FileFormatError, joinLines } from "@gim/tensor";

/**
 * The one error type of the safetensors reader and writer.
 *
 * Every problem with a file (or folder, or index) is reported as `<file>: <problem>` on one
 * line, so a user sees at once which file is bad and why, and callers can catch this type
 * alone: anything else escaping the reader is a bug. It is a `FileFormatError` (so an
 * `InputError`), as the config and tokenizer errors are.
 */
export class SafetensorsError extends FileFormatError {
  override name = "SafetensorsError";
}

/** The message of an unknown thrown value, on one line (for wrapping I/O and JSON errors). */
export function describeError(error: unknown): string {
  return joinLines(error instanceof Error ? error.message : String(error));
}
