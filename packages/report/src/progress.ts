/**
 * A progress display for long runs: on a terminal a bar and a text redrawn in place on one
 * line; otherwise (a log file, CI) a plain line whenever the caller asks for one. Training
 * (`@gim/models`) and `gim eval` show their progress on it.
 */

/** Where progress goes: a stream with `write` and, on terminals, `isTTY`. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

/** One progress display on a stream, with the time since it was made. */
export class ProgressLine {
  private readonly started = performance.now();
  private lastLine = "";

  constructor(
    private readonly label: string,
    private readonly stream: ProgressStream,
  ) {}

  /** Seconds since the display was made. */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Seconds left at the pace so far, with `done` of `total` units done (NaN before the first). */
  eta(done: number, total: number): number {
    return done > 0 ? (this.elapsed() / done) * (total - done) : Number.NaN;
  }

  /** Shows `text` with `fraction` (0..1) done: redrawn in place on a terminal; elsewhere a plain line when `print`. */
  show(fraction: number, text: string, print: boolean): void {
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
      const line = `\r${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}`;
      this.stream.write(line.padEnd(this.lastLine.length));
      this.lastLine = line;
    } else if (print) {
      this.stream.write(`${this.label} ${text}\n`);
    }
  }

  /** Ends the display (a newline on terminals) and prints a closing message. */
  finish(message: string): void {
    if (this.stream.isTTY && this.lastLine) this.stream.write("\n");
    this.stream.write(`${this.label} ${message}\n`);
  }
}
