/**
 * Progress on stderr. {@link ProgressLine} is the display: on a terminal a bar and a text
 * redrawn in place on one line; otherwise (a log file, CI) a plain line whenever the caller
 * asks for one. {@link ProgressBar} shows a training run on it: steps, loss, accuracy,
 * held-out accuracy and an estimate of the time left, with a plain line every `every` steps
 * and at each evaluation. (`gim eval` shows its progress on a ProgressLine too.)
 */
import { formatDuration } from "@gim/rules";

/** What one update shows. */
export interface ProgressState {
  readonly step: number;
  readonly loss: number;
  /** Training accuracy over recent steps. */
  readonly accuracy: number;
  /** The last held-out accuracy, if one was measured. */
  readonly heldOut?: number | undefined;
}

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

/** A progress display for a training run of at most `total` steps. */
export class ProgressBar {
  private readonly line: ProgressLine;

  constructor(
    label: string,
    private readonly total: number,
    stream: ProgressStream = process.stderr,
    private readonly every = 50,
  ) {
    this.line = new ProgressLine(label, stream);
  }

  /** Shows the state after a step; `force` prints a plain line even between intervals (evaluations). */
  update(state: ProgressState, force = false): void {
    const held = state.heldOut === undefined ? "" : ` held-out ${(100 * state.heldOut).toFixed(1)}%`;
    const eta = this.line.eta(state.step, this.total);
    const text = `step ${state.step}/${this.total} loss ${state.loss.toFixed(4)} acc ${(100 * state.accuracy).toFixed(1)}%${held} ${formatDuration(this.line.elapsed())} elapsed, ETA ${formatDuration(eta)} (at most)`;
    this.line.show(state.step / this.total, text, force || state.step % this.every === 0);
  }

  /** Ends the bar (a newline on terminals) and prints a closing message. */
  finish(message: string): void {
    this.line.finish(message);
  }
}
