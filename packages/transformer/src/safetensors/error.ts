/**
 * The one error type of the safetensors reader and writer.
 *
 * Every problem with a file (or folder, or index) is reported as `<file>: <problem>` on one
 * line, so a user sees at once which file is bad and why, and callers can catch this type
 * alone: anything else escaping the reader is a bug.
 */
export class SafetensorsError extends Error {
  /** The file, folder or index the problem is in (as the caller named it). */
  readonly file: string;
  /** The problem, without the file name. */
  readonly problem: string;

  constructor(file: string, problem: string) {
    const oneLine = problem.replace(/\s*[\r\n]+\s*/g, " ");
    super(`${file}: ${oneLine}`);
    this.name = "SafetensorsError";
    this.file = file;
    this.problem = oneLine;
  }
}

/** The message of an unknown thrown value, on one line (for wrapping I/O and JSON errors). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*[\r\n]+\s*/g, " ");
}
