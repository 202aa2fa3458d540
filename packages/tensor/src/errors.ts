/**
 * The errors the packages throw on purpose. An {@link InputError} means the caller gave
 * something the library cannot use (a shape, an id, a position, an option, a file's content);
 * its message says what, on one line. Anything else that escapes a package is a bug.
 *
 * Every package of the monorepo throws these (they live here, in the lowest package, so
 * each one can import them), and a program can tell its user's mistakes from bugs with one
 * `instanceof InputError`.
 */

/** A caller's input the library cannot use; the message names the problem on one line. */
export class InputError extends Error {
  override name = "InputError";
}

/**
 * An {@link InputError} in the content of a file (or folder, or in-memory file): the message
 * is `<file>: <problem>`, so the bad file is named first.
 */
export class FileFormatError extends InputError {
  override name = "FileFormatError";
  /** The file, folder or buffer the problem is in, as the caller named it. */
  readonly file: string;
  /** The problem, without the file name. */
  readonly problem: string;

  constructor(file: string, problem: string) {
    const oneLine = problem.replace(/\s*[\r\n]+\s*/g, " ");
    super(`${file}: ${oneLine}`);
    this.file = file;
    this.problem = oneLine;
  }
}
