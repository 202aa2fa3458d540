/**
 * Reading and replacing activations at a model's places: caching (every activation a run
 * produced at chosen places), activation patching (one place's value taken from another run
 * or set by a function), and ablation (zero or mean). Places are named by their
 * `path:tag` keys, e.g. `h.3.attn:attn.z` (see `CausalLM.places()`).
 */
import { graphNodes, noGrad, withForwardHook, type NodeInfo, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import { formatShape, type Tensor, InputError } from "@gim/tensor";
import { resolvePosition, type CausalLM, type ForwardResult, type ModelInput, type PlacesOptions } from "./model.js";
import { placeKey } from "./places.js";

/** A replacement for the activation at one place. */
export interface Patch {
  /** The place's key, `path:tag`. */
  readonly place: string;
  /** The new value (of the activation's shape), or a function of the current value. */
  readonly value: Tensor | ((current: Tensor) => Tensor);
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Places to cache, by key, or `true` for every tagged place. */
  cache?: readonly string[] | true;
  /** Activations to replace. Every patch must hit its place, or the run fails. */
  patches?: readonly Patch[];
  /** Record the graph for `grad` (default true); false frees intermediates at once. */
  record?: boolean;
  /** Compute logits only at these positions (see `ForwardOptions`). */
  positions?: readonly number[];
  /** Run the split q/k/v forward (see `ForwardOptions.splitQkv`): its places can be cached and patched. */
  splitQkv?: boolean;
}

/** Activations by place key; `require` names a missing key and the cached ones. */
export class ActivationCache extends Map<string, Tensor> {
  /** The activation at `key`, or a clear error. */
  require(key: string): Tensor {
    const t = super.get(key);
    if (!t) throw new InputError(`no cached activation "${key}"; cached: ${[...this.keys()].slice(0, 8).join(", ")}${this.size > 8 ? ", ..." : ""}`);
    return t;
  }
}

/** A forward result with the activations cached at the places asked for. */
export interface RunResult extends ForwardResult {
  readonly cache: ActivationCache;
}

/** Checks keys against the model's places (of a split q/k/v forward with `splitQkv`), suggesting near names for unknown ones. */
export function checkPlaceKeys(model: CausalLM, keys: readonly string[], options: PlacesOptions = {}): void {
  const known = new Set(model.places(options).flatMap((p) => p.keys));
  for (const key of keys) {
    if (known.has(key)) continue;
    const [path = "", tag = ""] = key.split(":");
    const near = [...known].filter((k) => k.startsWith(`${path}:`) || k.endsWith(`:${tag}`)).slice(0, 6);
    const split = options.splitQkv ? " in a split q/k/v forward" : key.includes("_input") ? " (q/k/v input places exist only in a split q/k/v forward: splitQkv)" : "";
    throw new InputError(`"${key}" is not a place of this ${model.config.modelType} model${split}${near.length ? `; places nearby: ${near.join(", ")}` : " (keys look like h.0.attn:attn.z)"}`);
  }
}

/** Runs the model, caching and patching activations at named places. */
export function run(model: CausalLM, input: ModelInput, options: RunOptions = {}): RunResult {
  const patches = new Map<string, Patch>();
  for (const p of options.patches ?? []) {
    if (patches.has(p.place)) throw new InputError(`two patches for place "${p.place}"`);
    patches.set(p.place, p);
  }
  const cacheKeys = options.cache === true ? undefined : new Set(options.cache ?? []);
  const splitQkv = options.splitQkv ?? false;
  checkPlaceKeys(model, [...patches.keys(), ...(cacheKeys ?? [])], { splitQkv });
  const cache = new ActivationCache();
  const hit = new Set<string>();
  const hook = (site: NodeInfo, output: Tensor): Tensor | undefined => {
    let value = output;
    for (const tag of site.tags) {
      const key = placeKey(site.path, tag);
      const patch = patches.get(key);
      if (patch) {
        hit.add(key);
        value = typeof patch.value === "function" ? patch.value(value) : patch.value;
        if (!(value instanceof T.Tensor) || !T.sameShape(value.shape, output.shape)) {
          const got = value instanceof T.Tensor ? formatShape(value.shape) : String(value);
          throw new InputError(`patch for "${key}" gives ${got}, but the activation there has shape ${formatShape(output.shape)}`);
        }
        if (value.dtype !== output.dtype) value = T.astype(value, output.dtype);
      }
      if (cacheKeys === undefined || cacheKeys.has(key)) cache.set(key, value);
    }
    return value === output ? undefined : value;
  };
  const forward = () => withForwardHook(hook, () => model.forward(input, { ...(options.positions ? { positions: options.positions } : {}), splitQkv }));
  const result = options.record === false ? noGrad(forward) : forward();
  for (const key of patches.keys()) {
    if (!hit.has(key)) throw new Error(`patch for "${key}" was never applied (the place did not run)`);
  }
  return { ...result, cache };
}

/** The vars at tagged places of a recorded run (to differentiate with respect to activations). */
export function placeVars(output: Var, keys: readonly string[]): Map<string, Var> {
  const wanted = new Set(keys);
  const found = new Map<string, Var>();
  for (const node of graphNodes(output)) {
    for (const tag of node.tags) {
      const key = placeKey(node.path, tag);
      if (wanted.has(key)) found.set(key, node.output);
    }
  }
  for (const key of keys) {
    if (!found.has(key)) throw new InputError(`place "${key}" is not on the graph of this output`);
  }
  return found;
}

/** A patch that zeroes an activation. */
export function zeroAblation(place: string): Patch {
  return { place, value: (current) => T.zerosLike(current) };
}

/** A patch that replaces an activation by `mean` (broadcast to its shape, e.g. a mean over a reference set). */
export function meanAblation(place: string, mean: Tensor): Patch {
  return { place, value: (current) => T.astype(T.expand(mean, current.shape), current.dtype) };
}

/**
 * A patch that takes one attention head's slice of a per-head place (`attn.q`, `attn.z`, ...,
 * shaped [B, H, T, ...]) from `source`, at all positions or only at `positions` (negative counts
 * from the end).
 */
export function patchHead(place: string, head: number, source: Tensor, positions?: readonly number[]): Patch {
  return {
    place,
    value: (current) => {
      if (!T.sameShape(current.shape, source.shape)) {
        throw new InputError(`patchHead at "${place}": source shape ${formatShape(source.shape)} differs from ${formatShape(current.shape)}`);
      }
      const heads = current.shape[1]!;
      if (!Number.isInteger(head) || head < 0 || head >= heads) throw new InputError(`patchHead at "${place}": head ${head} is out of range [0, ${heads})`);
      return mixAlong(current, source, [1, head], positions);
    },
  };
}

/** A patch that takes an activation [B, T, ...] from `source` at the given positions only (negative counts from the end). */
export function patchPositions(place: string, positions: readonly number[], source: Tensor): Patch {
  return {
    place,
    value: (current) => {
      if (!T.sameShape(current.shape, source.shape)) {
        throw new InputError(`patchPositions at "${place}": source shape ${formatShape(source.shape)} differs from ${formatShape(current.shape)}`);
      }
      return mixAlong(current, source, undefined, positions, 1);
    },
  };
}

/**
 * A copy of `current` with entries from `source` where index[axis] = value (if `fixed`) and the
 * position index (axis `timeAxis`, default 2 for per-head places) is in `positions` (if given).
 */
function mixAlong(current: Tensor, source: Tensor, fixed: [number, number] | undefined, positions: readonly number[] | undefined, timeAxis = 2): Tensor {
  const out = T.clone(current);
  const src = T.contiguousData(source);
  const pos = positions ? new Set(positions.map((p) => resolvePosition(p, current.shape[timeAxis]!))) : undefined;
  const strides = T.contiguousStrides(current.shape);
  for (let i = 0; i < out.size; i++) {
    const at = (axis: number) => Math.floor(i / strides[axis]!) % current.shape[axis]!;
    if (fixed && at(fixed[0]) !== fixed[1]) continue;
    if (pos && !pos.has(at(timeAxis))) continue;
    out.data[i] = src[i]!;
  }
  return out;
}
