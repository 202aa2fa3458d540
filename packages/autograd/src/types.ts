/**
 * The types that the graph (`var.ts`), the recording context (`context.ts`) and op definitions
 * (`op.ts`) share, in one module that imports none of them, so that those three import each
 * other in one direction only: types <- var, context <- op.
 */
import type { Tensor } from "@gim/tensor";

/**
 * The tags the type checker knows, so editors complete them in rules and places. Empty here:
 * a package that stamps tags declares them by declaration merging (`@gim/transformer` adds
 * every model place), and so can a user's own model:
 *
 *     declare module "@gim/autograd" {
 *       interface KnownTags { "my.place": true }
 *     }
 */
export interface KnownTags {}

/**
 * A tag: a known one ({@link KnownTags}) or any other non-empty string (tags of custom ops and
 * models need no declaration). A misspelled tag in a rule is still caught at run time: `grad`
 * fails on a rule that matches no node.
 */
export type TagName = keyof KnownTags | (string & {});

/** Where a node sits in the model: which op, at which module path, with which tags. */
export interface NodeInfo {
  /** The op's name, e.g. `"softmax"`. */
  readonly op: string;
  /** Module path in checkpoint naming, e.g. `"h.3.attn"` (`""` at top level). */
  readonly path: string;
  /** Tags that mark the place, e.g. `["attn.pattern"]`. */
  readonly tags: readonly string[];
}

/** Input names of an op, e.g. `["a", "b"]`. */
export type InputNames = readonly string[];

/** An object with one entry per input name. */
export type Named<In extends InputNames, V> = { [K in In[number]]: V };

/** Gradients returned by a backward: one per input name; a missing entry means zero. */
export type Grads<In extends InputNames = InputNames> = Partial<Named<In, Tensor | undefined>>;

/** Everything a backward (default or rule) gets. */
export interface BackwardContext<In extends InputNames = InputNames, A = unknown> {
  /** Input values by name. */
  readonly inputs: Named<In, Tensor>;
  /** The op's output value. */
  readonly output: Tensor;
  /** The op's attributes. */
  readonly attrs: A;
  /** The upstream gradient dL/d(output), of the output's shape. */
  readonly grad: Tensor;
  /** Which input gradients are wanted; a backward may skip the others. */
  readonly needs: Named<In, boolean>;
  /** The node being differentiated: op name, module path, tags. */
  readonly node: NodeInfo;
}

/** The definition of an op: name, input names, forward, default backward. */
export interface OpDef<Name extends string = string, In extends InputNames = InputNames, A = unknown> {
  readonly name: Name;
  readonly inputs: In;
  /** Computes the output from the input values. Must not mutate the inputs. */
  forward(inputs: Named<In, Tensor>, attrs: A): Tensor;
  /** The default vector-Jacobian product: gradients of the inputs given `ctx.grad`. */
  backward(ctx: BackwardContext<In, A>): Grads<In>;
}

/** An op definition of any name, inputs and attributes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOpDef = OpDef<string, InputNames, any>;
