// identity: y = x; dx = dy
// A place in the graph: `tag(x, "q")` records an identity node tagged "q", so a rule can
// act on the gradient flowing through x at that point and hooks can read or replace x.
import { tagged } from "../context.js";
import { defineOp, type VarLike } from "../op.js";
import type { Var } from "../var.js";
import type { TagName } from "../types.js";

export const identity = defineOp({
  name: "identity",
  inputs: ["x"],
  forward: ({ x }) => x,
  backward: ({ grad }) => ({ x: grad }),
});

/** Marks a place: an identity node carrying `tag` (plus any tags of the enclosing `tagged`). */
export function tag(x: VarLike, name: TagName): Var {
  return tagged(name, () => identity(x));
}
