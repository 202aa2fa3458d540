/**
 * A progress bar for training runs on stderr: steps, loss, accuracy, held-out accuracy and an
 * estimate of the time left. On a terminal it redraws one line; otherwise (a log file, CI) it
 * prints a plain line every `every` steps and at each evaluation.
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

/** A progress display for a run of at most `total` steps. */
export class ProgressBar {
  private readonly started = performance.now();
  private lastLine = "";

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly every = 50,
  ) {}

  /** Shows the state after a step; `force` prints a plain line even between intervals (evaluations). */
  update(state: ProgressState, force = false): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = state.step > 0 ? (elapsed / state.step) * (this.total - state.step) : NaN;
    const held = state.heldOut === undefined ? "" : ` held-out ${(100 * state.heldOut).toFixed(1)}%`;
    const text = `step ${state.step}/${this.total} loss ${state.loss.toFixed(4)} acc ${(100 * state.accuracy).toFixed(1)}%${held} ${formatDuration(elapsed)} elapsed, ETA ${formatDuration(eta)} (at most)`;
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round((state.step / this.total) * width);
      const line = `\r${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}`;
      this.stream.write(line.padEnd(this.lastLine.length));
      this.lastLine = line;
    } else if (force || state.step % this.every === 0) {
      this.stream.write(`${this.label} ${text}\n`);
    }
  }

  /** Ends the bar (a newline on terminals) and prints a closing message. */
  finish(message: string): void {
    if (this.stream.isTTY && this.lastLine) this.stream.write("\n");
    this.stream.write(`${this.label} ${message}\n`);
  }
}
