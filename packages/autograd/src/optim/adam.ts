/**
 * Adam with decoupled weight decay (AdamW, Loshchilov and Hutter). For each parameter p with
 * gradient g, at step t = 1, 2, ...:
 *
 *   p = p - lr * weightDecay * p            (decay applied to the weights, not added to g)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 *
 * Decoupled decay is used because with Adam an L2 term added to g is divided by sqrt(v) like
 * the rest of the gradient, so weights with large gradients would be decayed less; AdamW's
 * decay shrinks every weight by the same factor (1 - lr * weightDecay) per step. With
 * `weightDecay: 0` (the default) this is plain Adam.
 *
 * Parameters are updated in place (see `params.ts` for why); the moments are float64.
 */
import type { Tensor } from "@gim/tensor";
import type { Var } from "../var.js";
import { checkNonNegative, checkParams, copyArrays, loadArrays, readGrads } from "./params.js";
import { InputError } from "@gim/tensor";

/** Settings of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate (default 1e-3; settable later through `lr` or per step, for schedules). */
  lr?: number;
  /** Decay rates of the first and second moment estimates, each in [0, 1) (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to sqrt of the second moment (default 1e-8). */
  eps?: number;
  /** Decoupled (AdamW) weight decay (default 0). */
  weightDecay?: number;
}

/** Everything Adam needs to continue exactly where it stopped. */
export interface AdamState {
  /** Steps taken so far (t of the last step). */
  step: number;
  /** First moments, one per parameter (empty before the first step). */
  m: Float64Array[];
  /** Second moments, one per parameter (empty before the first step). */
  v: Float64Array[];
}

/**
 * Adam / AdamW over a fixed list of leaf parameter Vars:
 *
 * ```ts
 * const opt = new Adam(params, { lr: 1e-2, weightDecay: 0.01 });
 * opt.step(grad(loss, params));
 * ```
 */
export class Adam {
  /** The parameters, in the order gradients are passed to `step`. */
  readonly params: readonly Var[];
  /** Decay rate of the first moment estimate. */
  readonly beta1: number;
  /** Decay rate of the second moment estimate. */
  readonly beta2: number;
  /** Added to the square root of the second moment. */
  readonly eps: number;
  /** Decoupled weight decay: each step multiplies weights by (1 - lr * weightDecay). */
  readonly weightDecay: number;
  private learningRate: number;
  private steps = 0;
  private m: Float64Array[] = [];
  private v: Float64Array[] = [];

  /** Checks the parameters (contiguous leaf Vars, no shared storage) and the settings. */
  constructor(params: readonly Var[], options: AdamOptions = {}) {
    checkParams(params, "Adam");
    this.params = [...params];
    this.learningRate = checkNonNegative(options.lr ?? 1e-3, "lr", "Adam");
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    for (const [name, b] of [["beta1", beta1], ["beta2", beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new InputError(`Adam: ${name} must be in [0, 1), got ${b}`);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = checkNonNegative(options.eps ?? 1e-8, "eps", "Adam");
    this.weightDecay = checkNonNegative(options.weightDecay ?? 0, "weightDecay", "Adam");
  }

  /** The learning rate of the next step; assign to it to follow a schedule. */
  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    this.learningRate = checkNonNegative(value, "lr", "Adam");
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
    const g = readGrads(this.params, grads, "Adam");
    if (options.lr !== undefined) this.lr = options.lr;
    if (this.m.length === 0) {
      this.m = this.params.map((p) => new Float64Array(p.value.size));
      this.v = this.params.map((p) => new Float64Array(p.value.size));
    }
    const t = this.steps + 1;
    const { learningRate: lr, beta1, beta2, eps, weightDecay } = this;
    const correction1 = 1 - beta1 ** t;
    const correction2 = 1 - beta2 ** t;
    const decay = 1 - lr * weightDecay;
    this.params.forEach((p, i) => {
      const data = p.value.data;
      const offset = p.value.offset;
      const gi = g[i]!;
      const m = this.m[i]!;
      const v = this.v[i]!;
      for (let k = 0; k < gi.length; k++) {
        const at = offset + k;
        const gk = gi[k]!;
        m[k] = beta1 * m[k]! + (1 - beta1) * gk;
        v[k] = beta2 * v[k]! + (1 - beta2) * gk * gk;
        const mHat = m[k]! / correction1;
        const vHat = v[k]! / correction2;
        data[at] = data[at]! * decay - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    });
    this.steps = t;
  }

  /** A copy of the optimizer's state (for checkpoints and reproducible runs). */
  stateDict(): AdamState {
    return { step: this.steps, m: copyArrays(this.m), v: copyArrays(this.v) };
  }

  /** Restores a state from `stateDict()` (copied, checked against the parameters). */
  loadStateDict(state: AdamState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new InputError(`Adam.loadStateDict: step must be a non-negative integer, got ${state.step}`);
    const empty = state.m.length === 0 && state.v.length === 0;
    this.m = empty ? [] : loadArrays(state.m, this.params, "Adam", "m");
    this.v = empty ? [] : loadArrays(state.v, this.params, "Adam", "v");
    this.steps = state.step;
  }

  /** Forgets the moments and the step count, as if no step had been taken (parameters are unchanged). */
  zeroState(): void {
    this.m = [];
    this.v = [];
    this.steps = 0;
  }
}
