/**
 * Stochastic gradient descent with momentum and weight decay (PyTorch's `SGD` without
 * dampening or Nesterov). For each parameter p with gradient g, per step:
 *
 *   d = g + weightDecay * p                 (L2 weight decay, added to the gradient)
 *   b = d on the first step, else momentum * b + d
 *   p = p - lr * b                          (b = d when momentum is 0)
 *
 * Parameters are updated in place (see `params.ts` for why this is the one place tensors are
 * mutated); the momentum buffers are float64 whatever the parameters' dtype.
 */
import type { Tensor } from "@gim/tensor";
import type { Var } from "../var.js";
import { checkNonNegative, checkParams, copyArrays, loadArrays, readGrads } from "./params.js";
import { InputError } from "@gim/tensor";

/** Settings of {@link SGD}. */
export interface SgdOptions {
  /** Learning rate (settable later through `lr` or per step, for schedules). */
  lr: number;
  /** Momentum factor in [0, 1) (default 0: plain gradient descent). */
  momentum?: number;
  /** L2 weight decay added to the gradient (default 0). */
  weightDecay?: number;
}

/** Everything SGD needs to continue exactly where it stopped. */
export interface SgdState {
  /** Steps taken so far. */
  step: number;
  /** One momentum buffer per parameter (empty before the first step or when momentum is 0). */
  momentum: Float64Array[];
}

/**
 * SGD over a fixed list of leaf parameter Vars:
 *
 * ```ts
 * const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
 * for (...) {
 *   const loss = model(params);              // a fresh forward each step
 *   opt.step(grad(loss, params));
 * }
 * ```
 */
export class SGD {
  /** The parameters, in the order gradients are passed to `step`. */
  readonly params: readonly Var[];
  /** Momentum factor (0: none). */
  readonly momentum: number;
  /** L2 weight decay added to the gradient. */
  readonly weightDecay: number;
  private learningRate: number;
  private steps = 0;
  private buffers: Float64Array[] = [];

  /** Checks the parameters (contiguous leaf Vars, no shared storage) and the settings. */
  constructor(params: readonly Var[], options: SgdOptions) {
    checkParams(params, "SGD");
    this.params = [...params];
    this.learningRate = checkNonNegative(options.lr, "lr", "SGD");
    this.momentum = checkNonNegative(options.momentum ?? 0, "momentum", "SGD");
    if (this.momentum >= 1) throw new InputError(`SGD: momentum must be < 1, got ${this.momentum}`);
    this.weightDecay = checkNonNegative(options.weightDecay ?? 0, "weightDecay", "SGD");
  }

  /** The learning rate of the next step; assign to it to follow a schedule. */
  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    this.learningRate = checkNonNegative(value, "lr", "SGD");
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Updates every parameter in place from its gradient (`grads[i]` for `params[i]`, of its
   * shape). `options.lr` sets the learning rate from this step on. Gradients are all checked
   * (shapes, finite values) before any parameter changes.
   */
  step(grads: readonly Tensor[], options: { lr?: number } = {}): void {
    const g = readGrads(this.params, grads, "SGD");
    if (options.lr !== undefined) this.lr = options.lr;
    const { learningRate: lr, momentum, weightDecay } = this;
    const first = this.buffers.length === 0;
    if (momentum > 0 && first) this.buffers = this.params.map((p) => new Float64Array(p.value.size));
    this.params.forEach((p, i) => {
      const data = p.value.data;
      const offset = p.value.offset;
      const gi = g[i]!;
      const buffer = momentum > 0 ? this.buffers[i]! : undefined;
      for (let k = 0; k < gi.length; k++) {
        const at = offset + k;
        const d = gi[k]! + weightDecay * data[at]!;
        let update = d;
        if (buffer) {
          update = first ? d : momentum * buffer[k]! + d;
          buffer[k] = update;
        }
        data[at] = data[at]! - lr * update;
      }
    });
    this.steps++;
  }

  /** A copy of the optimizer's state (for checkpoints and reproducible runs). */
  stateDict(): SgdState {
    return { step: this.steps, momentum: copyArrays(this.buffers) };
  }

  /** Restores a state from `stateDict()` (copied, checked against the parameters). */
  loadStateDict(state: SgdState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new InputError(`SGD.loadStateDict: step must be a non-negative integer, got ${state.step}`);
    this.buffers = state.momentum.length === 0 ? [] : loadArrays(state.momentum, this.params, "SGD", "momentum");
    this.steps = state.step;
  }

  /** Forgets the momentum and the step count, as if no step had been taken (parameters are unchanged). */
  zeroState(): void {
    this.buffers = [];
    this.steps = 0;
  }
}
