/**
 * Backward rules: replacements for the default backward of the nodes they match, chosen
 * at backward time. A rule set is an ordered list; for each node the first matching rule
 * wins; nodes no rule matches use their op's default backward.
 *
 * A rule matches by op name, by tag and/or by module path glob (all given criteria must
 * hold). It receives the same context as the default backward plus the default backward
 * itself, so it can replace it or post-process it.
 */
import * as T from "@gim/tensor";
import { compileGlob, type PathGlob } from "./glob.js";
import type { BackwardContext, Grads, InputNames } from "./op.js";
import type { OpName, OpInputs, OpAttrs } from "./registry.js";
import type { NodeInfo } from "./var.js";
import type { TagName } from "./types.js";
import { InputError } from "@gim/tensor";

/** Which nodes a rule handles. Every given criterion must hold. */
export interface RuleMatch {
  /** Op name(s), e.g. `"softmax"` (custom ops match by their own names). */
  op?: OpName | (string & {}) | readonly (OpName | (string & {}))[];
  /** A tag the node must carry, e.g. `"attn.pattern"` (known tags complete in editors). */
  tag?: TagName;
  /** A module path glob, e.g. `"h.*.attn.**"`. */
  path?: string;
}

/** The backward of a rule: gets the node's context and its default backward. */
export type RuleBackward<In extends InputNames = InputNames, A = unknown> = (
  ctx: BackwardContext<In, A>,
  defaultBackward: () => Grads<In>,
) => Grads<In>;

/** A backward rule. Create with `rule(...)`. */
export interface Rule {
  /** Shown in traces and errors. */
  readonly name: string;
  readonly match: Readonly<RuleMatch>;
  readonly backward: RuleBackward<InputNames, any>;
  /** When true, `grad` fails if the rule handled no node (a rule that silently does nothing is a bug). */
  readonly required: boolean;
  /**
   * When true, the rule may find no node in some graphs (the gated-MLP scales on a GPT-2):
   * `grad` lets it pass instead of failing as for a rule that matches nothing.
   */
  readonly optional: boolean;
  /** True if the rule matches this node. */
  matches(node: NodeInfo): boolean;
}

/** Options of {@link rule}, {@link scaleGrad} and {@link stopGrad}. */
export interface RuleOptions {
  /** Fail in `grad` when the rule handles no node on the differentiated path (default false). */
  required?: boolean;
  /**
   * The rule targets places that some models lack (default false): `grad` does not fail when
   * it matches no node of the graph. Leave it off for rules that should always find a place,
   * so a misspelled tag or path is an error.
   */
  optional?: boolean;
}

/**
 * Creates a rule. With a single op name in `match.op`, the context is typed for that op:
 *
 * ```ts
 * // TSG: evaluate the softmax Jacobian at softmax(s / T)
 * rule("tsg", { op: "softmax", tag: "attn.pattern" }, ({ inputs, attrs, grad }) => ({ x: ... }));
 * ```
 */
export function rule<Name extends OpName>(
  name: string,
  match: RuleMatch & { op: Name },
  backward: RuleBackward<OpInputs<Name>, OpAttrs<Name>>,
  options?: RuleOptions,
): Rule;
export function rule(name: string, match: RuleMatch, backward: RuleBackward, options?: RuleOptions): Rule;
export function rule(name: string, match: RuleMatch, backward: RuleBackward<InputNames, any>, options: RuleOptions = {}): Rule {
  if (match.op === undefined && match.tag === undefined && match.path === undefined) {
    throw new InputError(`rule '${name}' must match by op, tag or path (it would match every node)`);
  }
  const ops = match.op === undefined ? undefined : new Set<string>(typeof match.op === "string" ? [match.op] : match.op);
  const glob: PathGlob | undefined = match.path === undefined ? undefined : compileGlob(match.path);
  return {
    name,
    match: { ...match },
    backward,
    required: options.required ?? false,
    optional: options.optional ?? false,
    matches: (node) =>
      (ops === undefined || ops.has(node.op)) &&
      (match.tag === undefined || node.tags.includes(match.tag)) &&
      (glob === undefined || glob.test(node.path)),
  };
}

/** Describes what a rule matches: `op softmax, tag attn.pattern`. */
export function describeMatch(match: RuleMatch): string {
  const parts: string[] = [];
  if (match.op !== undefined) parts.push(`op ${typeof match.op === "string" ? match.op : match.op.join("|")}`);
  if (match.tag !== undefined) parts.push(`tag ${match.tag}`);
  if (match.path !== undefined) parts.push(`path ${match.path}`);
  return parts.join(", ");
}

/**
 * A rule that multiplies the gradient flowing back through the matched nodes by `factor`
 * (the default backward, scaled). `scaleGrad("q", 0.25, { tag: "q" })` is GIM's q scaling.
 */
export function scaleGrad(name: string, factor: number, match: RuleMatch, options?: RuleOptions): Rule {
  return rule(
    name,
    match,
    (_ctx, defaultBackward) => {
      const grads = defaultBackward();
      return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g === undefined ? undefined : T.mul(g, factor)]));
    },
    options,
  );
}

/** A rule that stops the gradient at the matched nodes (their inputs receive none). */
export function stopGrad(name: string, match: RuleMatch, options?: RuleOptions): Rule {
  return rule(name, match, () => ({}), options);
}
