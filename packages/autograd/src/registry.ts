/**
 * The registry: every built-in op, by name. Its type is the source of truth for op names,
 * their input names and attributes, so rules and tests written against an op are checked
 * by the compiler (a table typed over `OpName` does not compile when an op is missing).
 */
import * as opsList from "./ops/index.js";
import type { AnyOpDef, InputNames, OpDef } from "./types.js";

/** The exports of the ops list that are op functions (they carry `.def`), by name; helpers such as `split` or `tag` are not. */
export type OpFunctions = { [K in keyof typeof opsList as (typeof opsList)[K] extends { readonly def: AnyOpDef } ? K : never]: (typeof opsList)[K] };

/** Every built-in op function, keyed by op name: the op functions of `ops/index.ts`, the one list of ops. */
export const ops: OpFunctions = Object.fromEntries(
  Object.entries(opsList).filter(([, value]) => typeof value === "function" && "def" in value),
) as OpFunctions;

/** The name of a built-in op. */
export type OpName = keyof typeof ops;

/** The definition of the built-in op `Name`. */
export type OpDefOf<Name extends OpName> = (typeof ops)[Name]["def"];

/** Input names of the built-in op `Name`. */
export type OpInputs<Name extends OpName> = OpDefOf<Name> extends OpDef<string, infer In, unknown> ? In : InputNames;

/** Attributes of the built-in op `Name`. */
export type OpAttrs<Name extends OpName> = OpDefOf<Name> extends OpDef<string, InputNames, infer A> ? A : unknown;

/** All built-in op names. */
export const opNames = Object.keys(ops) as OpName[];
