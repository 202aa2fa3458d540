// concat: y = [x0, x1, ...] joined along one axis; dx_k = the slice of dy where x_k sits
import * as T from "@gim/tensor";
import { applyOp, type OpDef, type VarLike } from "../op.js";
import type { Var } from "../var.js";
import { InputError } from "@gim/tensor";

export interface ConcatAttrs {
  axis: number;
}

// One definition per number of inputs (all named "concat"), so inputs stay named x0, x1, ...
const defs = new Map<number, OpDef<"concat", readonly string[], ConcatAttrs>>();

function concatDef(n: number): OpDef<"concat", readonly string[], ConcatAttrs> {
  let def = defs.get(n);
  if (!def) {
    const names = Array.from({ length: n }, (_, i) => `x${i}`);
    def = {
      name: "concat",
      inputs: names,
      forward: (inputs, { axis }) => T.concat(names.map((k) => inputs[k]!), axis),
      backward: ({ inputs, attrs: { axis }, grad, needs }) => {
        const sizes = names.map((k) => inputs[k]!.shape[T.normalizeAxis(axis, grad.ndim)]!);
        const pieces = T.split(grad, sizes, axis);
        return Object.fromEntries(names.map((k, i) => [k, needs[k] ? pieces[i] : undefined]));
      },
    };
    defs.set(n, def);
  }
  return def;
}

/** Joins vars along `axis` (all other dims must agree). */
export function concat(xs: readonly VarLike[], attrs: ConcatAttrs = { axis: 0 }): Var {
  if (xs.length === 0) throw new InputError("concat needs at least one input");
  return applyOp(concatDef(xs.length), xs, attrs);
}
concat.def = concatDef(2);
