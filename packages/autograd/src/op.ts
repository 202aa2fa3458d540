/**
 * Defining ops. An op is its forward and its default backward (a vector-Jacobian product)
 * side by side; `defineOp` turns that definition into the function users call, which
 * computes the forward and records a node. Backward rules may later replace or post-process
 * the default backward of any node (see `rules.ts`); the definition itself never changes.
 */
import { formatShape, scalar, Tensor, type DType, InputError } from "@gim/tensor";
import { activeHooks, currentPath, currentTags, isRecording } from "./context.js";
import type { AnyOpDef, InputNames, Named, NodeInfo, OpDef } from "./types.js";
import { describeNode, Var, type Node } from "./var.js";

export type { AnyOpDef, BackwardContext, Grads, InputNames, Named, OpDef } from "./types.js";

/** What op functions accept as inputs: vars, plain tensors (constants) and numbers (0-d constants). */
export type VarLike = Var | Tensor | number;

/** Positional arguments of an op function: one VarLike per input, then the attributes (optional when every attribute is). */
export type OpArgs<In extends InputNames, A> = [...{ [K in keyof In]: VarLike }, ...(Record<string, never> extends A ? [attrs?: A] : [attrs: A])];

/** The function `defineOp` returns: call it to apply the op; `.def` is the definition. */
export type OpFunction<Name extends string, In extends InputNames, A> = ((...args: OpArgs<In, A>) => Var) & {
  readonly def: OpDef<Name, In, A>;
};

/**
 * Defines an op and returns the function that applies it:
 *
 * ```ts
 * // exp: y = e^x; dx = dy * y
 * export const exp = defineOp({
 *   name: "exp",
 *   inputs: ["x"],
 *   forward: ({ x }) => T.exp(x),
 *   backward: ({ output, grad }) => ({ x: T.mul(grad, output) }),
 * });
 * exp(v)   // a Var recorded in the graph
 * ```
 */
export function defineOp<const Name extends string, const In extends InputNames, A = Record<string, never>>(
  def: OpDef<Name, In, A>,
): OpFunction<Name, In, A> {
  const apply = (...args: unknown[]): Var => {
    const inputs = args.slice(0, def.inputs.length) as VarLike[];
    const attrs = (args[def.inputs.length] ?? {}) as A;
    if (inputs.length !== def.inputs.length || inputs.some((x) => x === undefined)) {
      throw new InputError(`${def.name} takes ${def.inputs.length} inputs (${def.inputs.join(", ")}), got ${inputs.filter((x) => x !== undefined).length}`);
    }
    return applyOp(def, inputs, attrs);
  };
  return Object.assign(apply, { def }) as OpFunction<Name, In, A>;
}

let nextNodeId = 0;

/** Turns op inputs into vars: tensors become constant leaves, numbers 0-d constants of `dtype`. */
export function toVar(x: VarLike, dtype: DType): Var {
  if (x instanceof Var) return x;
  if (x instanceof Tensor) return new Var(x);
  if (typeof x === "number") return new Var(scalar(x, { dtype }));
  throw new InputError(`expected a Var, a Tensor or a number, got ${describeValue(x)}`);
}

function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array (wrap it with tensor(...))";
  return typeof x === "object" ? `an object (${(x as object).constructor?.name ?? "Object"})` : typeof x;
}

/** The dtype numbers take in an op: that of the first tensor input (float32 if none). */
function operandDtype(inputs: readonly VarLike[]): DType {
  for (const x of inputs) {
    if (x instanceof Var) return x.value.dtype;
    if (x instanceof Tensor) return x.dtype;
  }
  return "float32";
}

/** Applies an op definition to inputs: runs the forward, records a node, runs forward hooks. */
export function applyOp<A>(def: OpDef<string, InputNames, A>, inputs: readonly VarLike[], attrs: A): Var {
  const dtype = operandDtype(inputs);
  const vars = inputs.map((x) => toVar(x, dtype));
  const values = Object.fromEntries(def.inputs.map((name, i) => [name, vars[i]!.value])) as Named<InputNames, Tensor>;
  const site: NodeInfo = { op: def.name, path: currentPath(), tags: [...currentTags()] };
  let output: Tensor;
  try {
    output = def.forward(values, attrs);
  } catch (e) {
    // Kernels name themselves ("matmul: shapes ..."); the node's description already says the op.
    const message = String((e as Error)?.message ?? e);
    const own = message.startsWith(`${def.name}: `) ? message.slice(def.name.length + 2) : message;
    throw new (e instanceof InputError ? InputError : Error)(`${describeNode(site)}: ${own}`, { cause: e });
  }
  const patched = site.tags.length > 0 ? runHooks(site, output) : output;
  if (patched !== output) return new Var(patched, null, `${describeNode(site)} (patched)`);
  if (!isRecording()) return new Var(output);
  const node: { -readonly [K in keyof Node]: Node[K] } = {
    id: nextNodeId++,
    op: def.name,
    path: site.path,
    tags: site.tags,
    def: def as AnyOpDef,
    inputs: vars,
    attrs,
    output: undefined as unknown as Var,
  };
  const out = new Var(output, node);
  node.output = out;
  return out;
}

function runHooks(site: NodeInfo, output: Tensor): Tensor {
  let value = output;
  for (const hook of activeHooks()) {
    const replaced = hook(site, value);
    if (replaced === undefined) continue;
    if (!(replaced instanceof Tensor)) {
      throw new InputError(`a forward hook at ${describeNode(site)} returned ${describeValue(replaced)} instead of a Tensor`);
    }
    if (replaced.dtype !== value.dtype || replaced.shape.length !== value.shape.length || replaced.shape.some((d, i) => d !== value.shape[i])) {
      throw new InputError(
        `a forward hook at ${describeNode(site)} returned a ${replaced.dtype} tensor of shape ${formatShape(replaced.shape)} for an output of ${value.dtype} shape ${formatShape(value.shape)}`,
      );
    }
    value = replaced;
  }
  return value;
}
