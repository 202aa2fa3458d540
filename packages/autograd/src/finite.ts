/**
 * Where NaN or ±Infinity first appeared in a recorded forward pass. Checking a result is one
 * scan; this walk runs only when that scan found something, to name the place for the user:
 * the first parameter or input (in the order the pass used them) that holds non-finite
 * values, else the first op whose output holds them although its inputs did not (an
 * overflow, 0 / 0, log of a negative number).
 */
import { describeNonFinite, firstNonFinite, formatShape, type Tensor } from "@gim/tensor";
import { describeNode, graphNodes, type Node, type Var } from "./var.js";

/**
 * Where the non-finite values in `y` come from, as a phrase for a message (`parameter
 * "h.0.mlp.c_fc.weight" holds NaN (element 5 of [32, 128])`), or undefined when `y` is finite
 * or the graph shows no place (a value computed without recording, in `noGrad`).
 */
export function locateNonFinite(y: Var): string | undefined {
  const seen = new Set<Var>();
  // A named leaf is a parameter (or a caller's named input); an unnamed one a constant or input, described by the op it feeds.
  const leaf = (v: Var, user?: { node: Node; input: number }): string | undefined => {
    if (v.node !== null || seen.has(v)) return undefined;
    seen.add(v);
    const bad = firstNonFinite(v.value);
    const what = v.name !== undefined ? `parameter "${v.name}"` : user ? `input '${user.node.def.inputs[user.input]}' ${formatShape(v.shape)} of ${describeNode(user.node)}` : `an input ${formatShape(v.shape)}`;
    return bad && `${what} holds ${describeNonFinite(bad.value)} (${elementOf(bad.index, v.value)})`;
  };
  for (const node of graphNodes(y)) {
    for (const [i, input] of node.inputs.entries()) {
      const found = leaf(input, { node, input: i });
      if (found !== undefined) return found;
    }
    const bad = firstNonFinite(node.output.value);
    if (bad) return `${describeNonFinite(bad.value)} first appears in the output of ${describeNode(node)} (${elementOf(bad.index, node.output.value)}), whose inputs are finite`;
  }
  return leaf(y);
}

/** `element 5 of [32, 128]`. */
export function elementOf(index: number, t: Tensor): string {
  return `element ${index} of ${formatShape(t.shape)}`;
}
