/**
 * Progress of a training run on a {@link ProgressLine}: steps, loss, accuracy, held-out
 * accuracy and an estimate of the time left, with a plain line every `every` steps and at
 * each evaluation.
 */
import { formatDuration, ProgressLine, type ProgressStream } from "@gim/report";

/** What one update shows. */
export interface ProgressState {
  readonly step: number;
  readonly loss: number;
  /** Training accuracy over recent steps. */
  readonly accuracy: number;
  /** The last held-out accuracy, if one was measured. */
  readonly heldOut?: number | undefined;
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
