/**
 * The recording context of the forward pass: the module path (`scope`), tags for the ops
 * recorded inside `tagged`, whether nodes are recorded at all (`noGrad`), and forward hooks.
 * Each is dynamically scoped: set for the duration of a callback and restored afterwards,
 * even when the callback throws, so nothing leaks between forward passes.
 */
import type { Tensor } from "@gim/tensor";
import type { NodeInfo, TagName } from "./types.js";
import { InputError } from "@gim/tensor";

/**
 * Called for every op that carries at least one tag, as it runs. It may return a tensor of
 * the same shape and dtype to use instead of the op's output (activation patching); the
 * result then has no gradient path back into the op.
 */
export type ForwardHook = (site: NodeInfo, output: Tensor) => Tensor | undefined | void;

interface RecordingState {
  path: string[];
  tags: string[];
  recording: boolean;
  hooks: ForwardHook[];
}

const state: RecordingState = { path: [], tags: [], recording: true, hooks: [] };

function withState<T>(change: () => () => void, fn: () => T): T {
  const restore = change();
  try {
    return fn();
  } finally {
    restore();
  }
}

/**
 * Runs `fn` with `name` appended to the module path of every op it records
 * (`scope("h.3", () => scope("attn", ...))` stamps `h.3.attn`).
 */
export function scope<T>(name: string, fn: () => T): T {
  if (name === "" || name.startsWith(".") || name.endsWith(".")) {
    throw new InputError(`scope name '${name}' must be non-empty and must not start or end with '.'`);
  }
  return withState(() => {
    state.path.push(name);
    return () => void state.path.pop();
  }, fn);
}

/** The module path ops recorded now receive (`""` at the top level). */
export function currentPath(): string {
  return state.path.join(".");
}

/** Runs `fn` with `tag` added to the tags of every op it records. */
export function tagged<T>(tag: TagName, fn: () => T): T {
  if (tag === "") throw new InputError("a tag must be a non-empty string");
  return withState(() => {
    state.tags.push(tag);
    return () => void state.tags.pop();
  }, fn);
}

/** The tags ops recorded now receive. */
export function currentTags(): readonly string[] {
  return state.tags;
}

/**
 * Runs `fn` without recording a graph: results are plain values with no path back to
 * their inputs, so intermediate tensors are freed at once. For inference-only passes.
 */
export function noGrad<T>(fn: () => T): T {
  return withState(() => {
    const previous = state.recording;
    state.recording = false;
    return () => void (state.recording = previous);
  }, fn);
}

/** Whether ops record nodes now (false inside `noGrad`). */
export function isRecording(): boolean {
  return state.recording;
}

/**
 * Runs `fn` with a forward hook that sees every tagged op as it runs (recorded or inside
 * `noGrad`). Hooks nest; the outermost runs first and each sees the previous one's result.
 */
export function withForwardHook<T>(hook: ForwardHook, fn: () => T): T {
  return withState(() => {
    state.hooks.push(hook);
    return () => void state.hooks.pop();
  }, fn);
}

/** The forward hooks active now, outermost first. */
export function activeHooks(): readonly ForwardHook[] {
  return state.hooks;
}

/**
 * Runs `fn` as at the top level, whatever encloses the call: recording on, no module path, no
 * tags, no forward hooks. For a probe pass whose graph must describe the model itself, not the
 * caller's context (`CausalLM.places()` runs its forward this way).
 */
export function withDefaultContext<T>(fn: () => T): T {
  return withState(() => {
    const saved = { ...state };
    Object.assign(state, { path: [], tags: [], recording: true, hooks: [] });
    return () => void Object.assign(state, saved);
  }, fn);
}
