/**
 * `grad(y, xs, { rules, seed, trace })`: gradients of `y` with respect to `xs`, by walking
 * the recorded graph backwards once. Functional: it returns new tensors and changes nothing,
 * so one forward can be differentiated many times with different rule sets.
 *
 * Only nodes on a path from some x to y are visited, and each backward is told which of its
 * inputs lead to an x (`ctx.needs`), so no weight gradient is computed when only an input's
 * gradient is asked for.
 */
import * as T from "@gim/tensor";
import { describeNonFinite, firstNonFinite, formatShape, type Tensor, InputError, NonFiniteError } from "@gim/tensor";
import { elementOf } from "./finite.js";
import type { BackwardContext, Grads, InputNames } from "./op.js";
import { describeMatch, type Rule } from "./rules.js";
import { describeNode, graphNodes, Var, type Node } from "./var.js";

/** Options of {@link grad}. */
export interface GradOptions {
  /** Backward rules, in order; the first rule that matches a node handles it. */
  rules?: readonly Rule[];
  /** dL/dy for a non-scalar `y` (of y's shape). Defaults to 1 for a one-element `y`. */
  seed?: Tensor;
  /** Also return which rule handled which node. */
  trace?: boolean;
  /**
   * What to do with a rule that matches no node of the recorded graph at all (a misspelled
   * tag, op or path, or a rule for places this model does not have): `"error"` (default)
   * fails with a message naming the rule; `"ignore"` lets it pass. Rules made with
   * `{ optional: true }` (GIM's gated-MLP scales, which GPT-2 has no place for) always pass,
   * and a rule that matches nodes which are merely not on the path from `xs` to `y` is fine.
   * `bindRules` from `@gim/rules` checks a rule set against a model's places before any
   * forward, and reports the rules that have no place there.
   */
  unmatched?: "error" | "ignore";
  /**
   * Check every gradient as it is computed and fail with a `NonFiniteError` at the first
   * backward (or sum of gradients) that makes one hold NaN or ±Infinity, naming the node and
   * the rule. A scan per gradient: for finding where a non-finite result came from, after a
   * cheap check of the result found one (default false).
   */
  checkFinite?: boolean;
}

/** One line of a trace: a node and the rule that computed its backward. */
export interface TraceEntry {
  readonly id: number;
  readonly op: string;
  readonly path: string;
  readonly tags: readonly string[];
  /** The rule's name, or `"default"` for the op's own backward. */
  readonly rule: string;
}

/** Gradients and the trace, as returned with `{ trace: true }`. */
export interface TracedGrads {
  readonly grads: Tensor[];
  readonly trace: TraceEntry[];
}

/**
 * Gradients of `y` with respect to each of `xs` (leaves or intermediate vars), one backward
 * walk over the recorded graph with the given rules; a var `y` does not depend on gets zeros.
 * With `{ trace: true }`, also which rule handled which node.
 */
export function grad(y: Var, xs: readonly Var[], options: GradOptions & { trace: true }): TracedGrads;
export function grad(y: Var, xs: readonly Var[], options?: GradOptions): Tensor[];
export function grad(y: Var, xs: readonly Var[], options: GradOptions = {}): Tensor[] | TracedGrads {
  if (!(y instanceof Var)) throw new InputError("grad: the output must be a Var");
  xs.forEach((x, i) => {
    if (!(x instanceof Var)) throw new InputError(`grad: input ${i} is not a Var`);
  });
  const rules = options.rules ?? [];
  const seed = seedFor(y, options.seed);
  if (options.checkFinite) checkFinite(seed, (bad) => `the seed (dL/dy) holds ${bad}`);
  const nodes = nodesBetween(y, xs);
  if (options.unmatched !== "ignore") checkRulesMatch(rules, nodes.all);
  const wanted = new Set(xs);
  const grads = new Map<Var, Tensor>([[y, seed]]);
  const used = new Set<Rule>();
  const trace: TraceEntry[] = [];

  for (const node of nodes) {
    const g = grads.get(node.output);
    if (g === undefined) continue; // no gradient reached this node
    if (!wanted.has(node.output)) grads.delete(node.output); // free it early
    const rule = rules.find((r) => r.matches(node));
    const inputGrads = backwardOf(node, g, rule, nodes.leadsToX);
    if (options.checkFinite) {
      inputGrads.forEach((gi, i) => {
        if (gi !== undefined) checkFinite(gi, (bad) => `the gradient first became ${bad} in the backward of ${describeNode(node)} (${rule ? `rule '${rule.name}'` : "the default backward"}), for its input '${node.def.inputs[i]}'`);
      });
    }
    if (rule) used.add(rule);
    if (options.trace) trace.push({ id: node.id, op: node.op, path: node.path, tags: node.tags, rule: rule?.name ?? "default" });
    node.inputs.forEach((input, i) => {
      const gi = inputGrads[i];
      if (gi === undefined || !nodes.leadsToX.has(input)) return;
      const previous = grads.get(input);
      const sum = previous === undefined ? gi : T.add(previous, gi);
      if (options.checkFinite && previous !== undefined) checkFinite(sum, (bad) => `the gradient first became ${bad} where the gradients into input '${node.def.inputs[i]}' of ${describeNode(node)} add up`);
      grads.set(input, sum);
    });
  }

  for (const r of rules) {
    if (r.required && !used.has(r)) {
      throw new Error(`rule '${r.name}' (${describeMatch(r.match)}) matched no node on the path from the inputs to the output`);
    }
  }
  const result = xs.map((x) => grads.get(x) ?? T.zeros(x.shape, { dtype: x.dtype }));
  return options.trace ? { grads: result, trace } : result;
}

/**
 * Where the gradients of `y` with respect to `xs` first became NaN or ±Infinity: `grad` run
 * again with `checkFinite`, its first finding as a phrase for a message (undefined when every
 * gradient is finite). For after a cheap check of a result found a non-finite value.
 */
export function locateNonFiniteGradient(y: Var, xs: readonly Var[], options: GradOptions = {}): string | undefined {
  try {
    grad(y, xs, { ...options, trace: false, checkFinite: true });
  } catch (error) {
    if (error instanceof NonFiniteError) return error.origin;
    throw error;
  }
  return undefined;
}

/** Throws a {@link NonFiniteError} for the gradients when `g` holds NaN or ±Infinity; `where` describes the place. */
function checkFinite(g: Tensor, where: (bad: string) => string): void {
  const bad = firstNonFinite(g);
  if (bad) throw new NonFiniteError("the gradients", `${where(describeNonFinite(bad.value))} (${elementOf(bad.index, g)})`);
}

function seedFor(y: Var, seed: Tensor | undefined): Tensor {
  if (seed === undefined) {
    if (y.value.size !== 1) {
      throw new InputError(`grad: the output has shape ${formatShape(y.shape)}; pass { seed } (dL/dy of that shape) for a non-scalar output`);
    }
    return T.ones(y.shape, { dtype: y.dtype });
  }
  if (!T.sameShape(seed.shape, y.shape) || seed.dtype !== y.dtype) {
    throw new InputError(`grad: the seed is a ${seed.dtype} tensor of shape ${formatShape(seed.shape)}, the output a ${y.dtype} one of shape ${formatShape(y.shape)}`);
  }
  return seed;
}

/** Fails on the first rule that matches no node of the graph (see `GradOptions.unmatched`). */
function checkRulesMatch(rules: readonly Rule[], all: readonly Node[]): void {
  for (const r of rules) {
    if (r.optional || all.some((node) => r.matches(node))) continue;
    const seen = [...new Set(all.flatMap((n) => n.tags))].slice(0, 12);
    throw new InputError(
      `rule '${r.name}' (${describeMatch(r.match)}) matches no node of this graph${seen.length ? ` (its tags: ${seen.join(", ")}${seen.length === 12 ? ", ..." : ""})` : ""}; check the rule's op, tag and path, bind a general rule set to the model with bindRules, or pass { unmatched: "ignore" }`,
    );
  }
}

/** Nodes that lie on a path from some x to y, latest first, the vars that lead to an x, and every node of the graph. */
function nodesBetween(y: Var, xs: readonly Var[]): Node[] & { leadsToX: Set<Var>; all: readonly Node[] } {
  // In creation order, a var leads to an x if it is one or an input of its node does.
  const ordered = graphNodes(y);
  const leadsToX = new Set<Var>(xs);
  for (const node of ordered) {
    if (node.inputs.some((v) => leadsToX.has(v))) leadsToX.add(node.output);
  }
  const onPath = ordered.filter((n) => leadsToX.has(n.output)).reverse();
  return Object.assign(onPath, { leadsToX, all: ordered });
}

/** Runs the default backward or the rule for one node and checks what comes back. */
function backwardOf(node: Node, g: Tensor, rule: Rule | undefined, leadsToX: Set<Var>): (Tensor | undefined)[] {
  const names = node.def.inputs;
  const ctx: BackwardContext<InputNames, unknown> = {
    inputs: Object.fromEntries(names.map((n, i) => [n, node.inputs[i]!.value])),
    output: node.output.value,
    attrs: node.attrs,
    grad: g,
    needs: Object.fromEntries(names.map((n, i) => [n, leadsToX.has(node.inputs[i]!)])),
    node: { op: node.op, path: node.path, tags: node.tags },
  };
  const defaultBackward = (): Grads => node.def.backward(ctx);
  const who = rule ? `rule '${rule.name}'` : "the default backward";
  let result: Grads;
  try {
    result = rule ? rule.backward(ctx, defaultBackward) : defaultBackward();
  } catch (e) {
    throw new Error(`backward of ${describeNode(node)} (${who}) failed: ${(e as Error).message}`, { cause: e });
  }
  if (result === null || typeof result !== "object") {
    throw new InputError(`${who} for ${describeNode(node)} returned ${String(result)} instead of an object of gradients`);
  }
  for (const key of Object.keys(result)) {
    if (!names.includes(key)) {
      throw new InputError(`${who} for ${describeNode(node)} returned a gradient for '${key}', which is not an input (inputs: ${names.join(", ")})`);
    }
  }
  return names.map((name, i) => {
    const gi = (result as Record<string, Tensor | undefined>)[name];
    if (gi === undefined || !ctx.needs[name]) return undefined;
    const x = node.inputs[i]!.value;
    if (!(gi instanceof T.Tensor)) {
      throw new InputError(`${who} for ${describeNode(node)} returned a non-tensor gradient for input '${name}'`);
    }
    if (!T.sameShape(gi.shape, x.shape) || gi.dtype !== x.dtype) {
      throw new InputError(
        `${who} for ${describeNode(node)} returned a gradient of ${gi.dtype} shape ${formatShape(gi.shape)} for input '${name}' of ${x.dtype} shape ${formatShape(x.shape)}`,
      );
    }
    return gi;
  });
}
