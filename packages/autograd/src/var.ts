/**
 * The recorded graph: a `Var` is a value, and the `Node` that produced it (if any) is one
 * application of an op to input vars, stamped with its module path and tags.
 */
import { formatShape, type Tensor } from "@gim/tensor";
import type { AnyOpDef, NodeInfo } from "./types.js";

export type { NodeInfo } from "./types.js";

/** One recorded op application. */
export interface Node extends NodeInfo {
  /** Creation order; a node's inputs always have smaller ids (the graph is topologically numbered). */
  readonly id: number;
  readonly def: AnyOpDef;
  readonly inputs: readonly Var[];
  readonly attrs: unknown;
  /** The var this node produced. */
  readonly output: Var;
}

/**
 * A value in the graph. Leaves (inputs, parameters, constants) have no node; every other
 * var was produced by a node. Vars are immutable; gradients are returned by `grad`, never
 * stored on vars.
 */
export class Var {
  readonly value: Tensor;
  readonly node: Node | null;
  /** An optional name, used in error messages and traces. */
  readonly name: string | undefined;

  constructor(value: Tensor, node: Node | null = null, name?: string) {
    this.value = value;
    this.node = node;
    this.name = name;
  }

  get shape(): readonly number[] {
    return this.value.shape;
  }

  get dtype(): Tensor["dtype"] {
    return this.value.dtype;
  }

  get ndim(): number {
    return this.value.ndim;
  }

  /** The single value of a one-element var. */
  item(): number {
    return this.value.item();
  }

  toString(): string {
    const what = this.node ? `${this.node.op}${this.node.path ? ` at ${this.node.path}` : ""}` : (this.name ?? "leaf");
    return `Var(${what}, ${this.value.dtype}, ${formatShape(this.value.shape)})`;
  }

  /** What `console.log` shows: the description above its values. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `${this.toString()}\n${this.value.toString()}`;
  }
}

/** A leaf var (an input or parameter to differentiate with respect to). */
export function variable(value: Tensor, name?: string): Var {
  return new Var(value, null, name);
}

/**
 * Every node `y` depends on (its own included), in creation order, so each node comes after
 * the nodes that produced its inputs. Walked with an explicit stack: graphs can be deep.
 */
export function graphNodes(y: Var): Node[] {
  const seen = new Set<Node>();
  const stack: Var[] = [y];
  while (stack.length > 0) {
    const node = stack.pop()!.node;
    if (node && !seen.has(node)) {
      seen.add(node);
      for (const input of node.inputs) stack.push(input);
    }
  }
  return [...seen].sort((a, b) => a.id - b.id);
}

/** Describes a node for error messages: `softmax at h.3.attn [attn.pattern]`. */
export function describeNode(node: NodeInfo): string {
  const where = node.path ? ` at ${node.path}` : "";
  const tags = node.tags.length ? ` [${node.tags.join(", ")}]` : "";
  return `${node.op}${where}${tags}`;
}
