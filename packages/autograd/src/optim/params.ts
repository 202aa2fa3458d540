/**
 * What the optimizers share: checking the parameter list once, checking each step's gradients
 * before anything is written, and copying state arrays.
 *
 * Optimizers are the one place where tensors are mutated: a parameter's value tensor is updated
 * in place. Models hold their parameter Vars in many places (layers, tied weights, caches of
 * names), so replacing the Vars after every step would mean rewiring all of them; writing the
 * new values into the same storage keeps every reference valid and allocates nothing per step.
 * The price is that graphs recorded before a step hold the new values afterwards: run a fresh
 * forward after each step (which training does anyway).
 */
import * as T from "@gim/tensor";
import { formatShape, Tensor, InputError } from "@gim/tensor";
import { Var } from "../var.js";

/** How an optimizer names a parameter in errors: `parameter 2 ('h.0.attn.c_attn.weight', [4, 12])`. */
export function describeParam(p: Var, i: number): string {
  return `parameter ${i} (${p.name ? `'${p.name}', ` : ""}${formatShape(p.shape)})`;
}

/**
 * Checks a parameter list: leaf Vars (not results of ops), each a contiguous tensor (so each
 * element has its own storage slot to write), no Var twice and no two sharing storage.
 */
export function checkParams(params: readonly Var[], who: string): void {
  if (!Array.isArray(params) || params.length === 0) throw new InputError(`${who}: pass a non-empty array of parameter Vars`);
  params.forEach((p, i) => {
    if (!(p instanceof Var)) throw new InputError(`${who}: parameter ${i} is not a Var`);
    if (p.node !== null) {
      throw new InputError(`${who}: ${describeParam(p, i)} is the result of ${p.node.op}, not a leaf; optimize the leaf Vars (variable(...)) it was computed from`);
    }
    if (!p.value.isContiguous()) {
      throw new InputError(`${who}: ${describeParam(p, i)} is a non-contiguous view (strides [${p.value.strides.join(", ")}]); give the optimizer its own contiguous tensor (T.clone)`);
    }
  });
  for (let i = 0; i < params.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [params[i]!.value, params[j]!.value];
      if (params[i] === params[j]) throw new InputError(`${who}: ${describeParam(params[i]!, i)} is also parameter ${j}`);
      if (a.data === b.data && a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
        throw new InputError(`${who}: ${describeParam(params[i]!, i)} and ${describeParam(params[j]!, j)} share storage; each would be updated twice`);
      }
    }
  }
}

/**
 * Checks one step's gradients against the parameters (count, shapes, finite values) before any
 * parameter is touched, and returns their values as contiguous arrays.
 */
export function readGrads(params: readonly Var[], grads: readonly Tensor[], who: string): ArrayLike<number>[] {
  if (!Array.isArray(grads) || grads.length !== params.length) {
    throw new InputError(`${who}.step: got ${Array.isArray(grads) ? grads.length : "no array of"} gradients for ${params.length} parameters`);
  }
  return grads.map((g, i) => {
    const p = params[i]!;
    if (!(g instanceof Tensor)) throw new InputError(`${who}.step: the gradient of ${describeParam(p, i)} is not a Tensor`);
    if (!T.sameShape(g.shape, p.shape)) {
      throw new InputError(`${who}.step: the gradient of ${describeParam(p, i)} has shape ${formatShape(g.shape)}`);
    }
    const values = T.contiguousData(g);
    for (let k = 0; k < values.length; k++) {
      if (!Number.isFinite(values[k]!)) {
        throw new InputError(`${who}.step: the gradient of ${describeParam(p, i)} is ${values[k]} at flat index ${k}; no parameter was changed`);
      }
    }
    return values;
  });
}

/** Checks a learning rate (or other non-negative hyperparameter). */
export function checkNonNegative(value: number, what: string, who: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new InputError(`${who}: ${what} must be a finite number >= 0, got ${value}`);
  return value;
}

/** Deep copies of state arrays. */
export function copyArrays(arrays: readonly Float64Array[]): Float64Array[] {
  return arrays.map((a) => a.slice());
}

/** Checks that state arrays fit the parameters (one per parameter, of its size) and copies them. */
export function loadArrays(arrays: readonly Float64Array[], params: readonly Var[], who: string, what: string): Float64Array[] {
  if (!Array.isArray(arrays) || arrays.length !== params.length) {
    throw new InputError(`${who}.loadStateDict: ${what} has ${Array.isArray(arrays) ? arrays.length : "no"} entries for ${params.length} parameters`);
  }
  return arrays.map((a, i) => {
    if (!(a instanceof Float64Array) || a.length !== params[i]!.value.size) {
      throw new InputError(`${who}.loadStateDict: ${what}[${i}] does not fit ${describeParam(params[i]!, i)}`);
    }
    return a.slice();
  });
}
