/**
 * What every causal language model here shares: parameters by checkpoint name, input
 * checking, embeddings in or ids in, and the list of its places.
 */
import { grad, graphNodes, indexSelect, isRecording, locateNonFinite, narrow, reshape, scope, Var, variable, withDefaultContext, type Node } from "@gim/autograd";
import * as T from "@gim/tensor";
import { describeNonFinite, formatShape, kindOfValue, quote, type DType, type Tensor, InputError, NonFiniteError } from "@gim/tensor";
import type { ModelConfig } from "./config.js";
import type { ModelLayout } from "./layout.js";
import { placeKey, type Place } from "./places.js";

/** A model input: token ids (one sequence, or a batch of equal-length sequences), or token embeddings. */
export type ModelInput =
  | { readonly ids: readonly number[] | readonly (readonly number[])[] }
  /** Token embeddings before position embeddings are added: [T, d] or [B, T, d]. */
  | { readonly embeds: Var | Tensor };

/** Options of `CausalLM.forward`. */
export interface ForwardOptions {
  /** Compute logits only at these positions (negative counts from the end); all by default. */
  readonly positions?: readonly number[];
  /**
   * Give every attention head its own copy of the residual stream for its queries, keys and
   * values (TransformerLens' split q/k/v input, with grouped kv heads ungrouped per query head):
   * places `attn.q_input`, `attn.k_input`, `attn.v_input` [B, H, T, d] before the norm, and k, v
   * per query head. The result is the fused forward's up to rounding; it exists so that an edge
   * into one head's q, k or v has a place of its own (for a gradient or a patch). Default false.
   */
  readonly splitQkv?: boolean;
  /**
   * Return logits that hold NaN or ±Infinity instead of failing. By default such logits are a
   * `NonFiniteError` naming where the non-finite values first appeared (a parameter that holds
   * them, or the first op whose output does), so they never reach a result unnoticed. Loading
   * weights that hold NaN is not an error; running them is. Default false.
   */
  readonly allowNonFinite?: boolean;
  /**
   * Training only (head dropout): one [B, H] tensor per layer that multiplies each sequence's
   * query heads' outputs (`attn.z`, which keeps the unscaled value) before the heads are
   * merged. Never part of a saved model; omit it for the model itself.
   */
  readonly headScales?: readonly Tensor[];
}

/** How the blocks run (see {@link ForwardOptions}). */
export interface BlockOptions {
  readonly splitQkv: boolean;
  /** See {@link ForwardOptions.headScales} (checked against the batch and the heads). */
  readonly headScales?: readonly Tensor[];
}

/** Options of {@link CausalLM.places}: the forward mode whose places to list. */
export interface PlacesOptions {
  /** The places of a split q/k/v forward (see {@link ForwardOptions.splitQkv}). */
  readonly splitQkv?: boolean;
}

/** The result of a forward pass. */
export interface ForwardResult {
  /** [P, V] for one sequence, [B, P, V] for a batch, P = the number of positions with logits (all T by default). */
  readonly logits: Var;
  /** The positions the rows of `logits` belong to (0..T-1 by default). */
  readonly positions: readonly number[];
  /** The token embeddings the pass started from ([T, d] or [B, T, d]). */
  readonly embeds: Var;
  /** The scalar logit of `tokenId` at `position` (negative counts from the end) of sequence `batch`. */
  logit(position: number, tokenId: number, batch?: number): Var;
}

/** Shapes of the parameters a config needs, by checkpoint name. */
export type ParamShapes = Map<string, readonly number[]>;

/** A causal language model: parameters by checkpoint name, `forward` on ids or embeddings, and its places. */
export abstract class CausalLM {
  abstract readonly config: ModelConfig;
  /** Parameters by checkpoint name (leaf vars; optimizers update their tensors in place). */
  readonly params: Map<string, Var>;
  readonly dtype: DType;
  private readonly placeLists = new Map<boolean, Place[]>();
  /** The module path the forward pass is in, as the model itself names it (a caller's scope is not part of it). */
  private readonly modulePath: string[] = [];

  /** Wraps `weights` as leaf parameter vars, after checking them against the shapes the config needs. */
  protected constructor(weights: Map<string, Tensor>, shapes: ParamShapes, source: string) {
    checkParamShapes(weights, shapes, source);
    this.params = new Map([...shapes.keys()].map((name) => [name, variable(weights.get(name)!, name)]));
    const first = this.params.values().next().value as Var | undefined;
    this.dtype = first?.dtype ?? "float32";
  }

  /** The model's structure: blocks, norms, attention heads and MLPs, with their module paths and place keys. */
  abstract get layout(): ModelLayout;
  /** Model width (size of the token embeddings). */
  abstract get hiddenSize(): number;
  abstract get vocabSize(): number;
  /** Longest sequence the model accepts. */
  abstract get maxPositions(): number;
  /** The token embedding matrix [V, d]. */
  protected abstract get tokenEmbeddingWeight(): Var;
  /** Runs the blocks on token embeddings [B, T, d]: the residual stream after the last block, [B, T, d]. */
  protected abstract blocks(embeds: Var, options: BlockOptions): Var;
  /** The final norm and the unembedding: [B, P, d] -> logits [B, P, V]. */
  protected abstract head(x: Var): Var;
  /** Embeds a flat list of ids with the model's own embedding op: [N, d]. */
  protected abstract embedIds(ids: readonly number[]): Var;

  /** A parameter by checkpoint name. */
  param(name: string): Var {
    const p = this.params.get(name);
    if (!p) throw new InputError(`${this.config.modelType} model has no parameter "${name}"`);
    return p;
  }

  /**
   * Runs `fn` inside module `name` (`h.3`, `ln_1`): its ops are recorded under that module
   * path, and {@link own} resolves parameter names against it. The path and the parameter
   * names so have one source, the checkpoint's module names.
   */
  protected module<R>(name: string, fn: () => R): R {
    this.modulePath.push(name);
    try {
      return scope(name, fn);
    } finally {
      this.modulePath.pop();
    }
  }

  /** The parameter `name` of the current module: `own("weight")` inside `h.3` > `ln_1` is `h.3.ln_1.weight`. */
  protected own(name: string): Var {
    return this.param(this.ownName(name));
  }

  /** {@link own} for a parameter the config may leave out (a bias): undefined when the model has none. */
  protected ownOptional(name: string): Var | undefined {
    return this.params.get(this.ownName(name));
  }

  private ownName(name: string): string {
    return [...this.modulePath, name].join(".");
  }

  /**
   * Runs the model. Ids are checked: integers in [0, vocab), non-empty, at most `maxPositions`
   * long. With `positions`, logits are computed only there (the final norm and unembedding are
   * the costliest part of a small model's pass; attributions need one position).
   */
  forward(input: ModelInput, options: ForwardOptions = {}): ForwardResult {
    let embeds: Var; // [T, d] or [B, T, d]: what the caller may differentiate with respect to
    if ("ids" in input) {
      const rows = this.checkIds(input.ids);
      const batched = Array.isArray(input.ids[0]);
      const flat = this.embedIds(rows.flat()); // [B*T, d]
      const d = this.hiddenSize;
      embeds = reshape(flat, { shape: batched ? [rows.length, rows[0]!.length, d] : [rows[0]!.length, d] });
    } else {
      if (!(input.embeds instanceof Var || input.embeds instanceof T.Tensor)) throw new InputError("the model input needs { ids } or { embeds } (a Var or Tensor)");
      embeds = input.embeds instanceof Var ? input.embeds : variable(input.embeds);
      this.checkEmbeds(embeds);
    }
    const batched = embeds.ndim === 3;
    const seqLen = embeds.shape[embeds.ndim - 2]!;
    if (options.positions?.length === 0) throw new InputError("forward: positions is empty; omit it for logits at every position");
    const kept = options.positions?.map((p) => resolvePosition(p, seqLen));
    const blockInput = batched ? embeds : reshape(embeds, { shape: [1, ...embeds.shape] }); // [B, T, d]
    if (options.headScales) this.checkHeadScales(options.headScales, blockInput.shape[0]!);
    let hidden = this.blocks(blockInput, { splitQkv: options.splitQkv ?? false, ...(options.headScales ? { headScales: options.headScales } : {}) }); // [B, T, d]
    if (kept) hidden = indexSelect(hidden, { axis: 1, ids: kept }); // [B, P, d]
    const logits3 = this.head(hidden); // [B, P, V]
    const logits = batched ? logits3 : reshape(logits3, { shape: logits3.shape.slice(1) });
    if (options.allowNonFinite !== true) this.checkFiniteLogits(input, options, logits);
    const batchSize = logits3.shape[0]!;
    return {
      logits,
      embeds,
      positions: kept ?? Array.from({ length: seqLen }, (_, i) => i),
      logit: (position, tokenId, batch = 0) => {
        const p = resolvePosition(position, seqLen);
        const row = kept ? kept.indexOf(p) : p;
        if (row < 0) throw new InputError(`position ${position} has no logits: the forward computed them only at positions [${kept!.join(", ")}]`);
        this.checkTokenId(tokenId);
        if (!Number.isInteger(batch) || batch < 0 || batch >= batchSize) throw new InputError(`batch index ${batch} is out of range for a batch of ${batchSize}`);
        const one = narrow(narrow(narrow(logits3, { axis: 0, start: batch, length: 1 }), { axis: 1, start: row, length: 1 }), { axis: 2, start: tokenId, length: 1 });
        return reshape(one, { shape: [] });
      },
    };
  }

  /** Checks head scales: one [B, H] tensor per layer. */
  private checkHeadScales(scales: readonly Tensor[], batch: number): void {
    const blocks = this.layout.blocks;
    if (scales.length !== blocks.length) throw new InputError(`headScales has ${scales.length} tensors for a model of ${blocks.length} layers`);
    scales.forEach((s, layer) => {
      const heads = blocks[layer]!.attention.heads;
      if (!(s instanceof T.Tensor) || s.ndim !== 2 || s.shape[0] !== batch || s.shape[1] !== heads) {
        throw new InputError(`headScales[${layer}] has shape ${s instanceof T.Tensor ? formatShape(s.shape) : kindOfValue(s)}; expected [${batch}, ${heads}] (batch, heads)`);
      }
    });
  }

  /**
   * Fails with a {@link NonFiniteError} when `logits` hold NaN or ±Infinity, naming where they
   * first appeared: found on this pass's graph, or (after a pass in `noGrad`, which records
   * none) on the graph of the same pass run again with recording on. Only the failing case pays
   * for the walk.
   */
  private checkFiniteLogits(input: ModelInput, options: ForwardOptions, logits: Var): void {
    const bad = T.firstNonFinite(logits.value);
    if (bad === undefined) return;
    const origin = isRecording() ? locateNonFinite(logits) : withDefaultContext(() => locateNonFinite(this.forward(input, { ...options, allowNonFinite: true }).logits));
    const row = Math.floor(bad.index / this.vocabSize);
    const fallback = `${describeNonFinite(bad.value)} in row ${row}, token id ${bad.index % this.vocabSize} (no op of the pass could be blamed; a forward hook may have put it there)`;
    throw new NonFiniteError("the logits", origin ?? fallback);
  }

  /** The token embeddings of `ids` ([T, d]), as a plain tensor (a copy of the rows). */
  embedTokens(ids: readonly number[]): Tensor {
    this.checkIds(ids);
    return T.indexSelect(this.tokenEmbeddingWeight.value, 0, ids);
  }

  /**
   * Every op of a forward pass, in order: op name, module path, tags, and (for tagged ones)
   * the `path:tag` keys that caches and patches use. Shapes are those of a one-token input.
   * With `splitQkv`, those of a split q/k/v forward.
   */
  places(options: PlacesOptions = {}): Place[] {
    const splitQkv = options.splitQkv ?? false;
    let list = this.placeLists.get(splitQkv);
    if (!list) {
      // Recorded at the top level, so a caller's noGrad, scope, tags or hooks cannot change (or empty) the cached list.
      list = graphNodes(withDefaultContext(() => this.forward({ ids: [0] }, { splitQkv, allowNonFinite: true })).logits).map(toPlace);
      this.placeLists.set(splitQkv, list);
    }
    return list;
  }

  /** d logit / d token embeddings, plain: a convenience over `forward` + `grad`. */
  inputGradient(ids: readonly number[], position: number, tokenId: number): Tensor {
    const e = variable(this.embedTokens(ids));
    const out = this.forward({ embeds: e }, { positions: [position] });
    return grad(out.logit(position, tokenId), [e])[0]!;
  }

  /** Checks one token id against the vocabulary: an {@link InputError} naming it (as `role`) if it is not in [0, vocab). */
  checkTokenId(id: number, role = "token id"): number {
    if (typeof id !== "number" || !Number.isInteger(id)) throw new InputError(`${role} ${quote(id)} is ${kindOfValue(id)}, not an integer`);
    if (id < 0 || id >= this.vocabSize) throw new InputError(`${role} ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    return id;
  }

  /**
   * Checks the ids `forward` would run (one sequence, or a batch of equal-length ones): integers
   * in [0, vocab), non-empty, at most `maxPositions` long. Returns them as rows.
   */
  checkIds(ids: readonly number[] | readonly (readonly number[])[]): (readonly number[])[] {
    if (!Array.isArray(ids)) throw new InputError(`token ids must be an array of integers (or of arrays, for a batch), got ${kindOfValue(ids)} ${quote(ids, 40)}`);
    if (ids.length === 0) throw new InputError("the input has no tokens (an empty sequence)");
    const rows = (Array.isArray(ids[0]) ? ids : [ids]) as (readonly number[])[];
    const len = rows[0]!.length;
    rows.forEach((row, b) => {
      if (!Array.isArray(row)) throw new InputError(`sequence ${b} of the batch is ${kindOfValue(row)} ${quote(row, 40)}, not an array of token ids (a batch is an array of equal-length arrays)`);
      if (row.length === 0) throw new InputError("the input has no tokens (an empty sequence)");
      if (row.length !== len) throw new InputError(`sequences of a batch must have equal lengths; sequence ${b} has ${row.length} tokens, sequence 0 has ${len}`);
      if (row.length > this.maxPositions) {
        throw new InputError(`the sequence has ${row.length} tokens; this model accepts at most ${this.maxPositions}`);
      }
      row.forEach((id, t) => {
        if (typeof id !== "number" || !Number.isInteger(id)) {
          const where = rows.length > 1 ? `at position ${t} of sequence ${b}` : `at position ${t}`;
          throw new InputError(`token id ${quote(id, 40)} ${where} is ${kindOfValue(id)}, not an integer${Array.isArray(id) && rows.length === 1 ? " (a batch must be an array of arrays from its first element on)" : ""}`);
        }
        if (id < 0 || id >= this.vocabSize) {
          throw new InputError(`token id ${id} at position ${t} is outside the vocabulary [0, ${this.vocabSize})`);
        }
      });
    });
    return rows;
  }

  private checkEmbeds(e: Var): void {
    const d = this.hiddenSize;
    if ((e.ndim !== 2 && e.ndim !== 3) || e.shape[e.ndim - 1] !== d) {
      throw new InputError(`input embeddings must be [T, ${d}] or [B, T, ${d}], got ${formatShape(e.shape)}`);
    }
    const len = e.shape[e.ndim - 2]!;
    if (len === 0) throw new InputError("the input has no tokens (an empty sequence)");
    if (len > this.maxPositions) throw new InputError(`the sequence has ${len} tokens; this model accepts at most ${this.maxPositions}`);
    if (e.dtype !== this.dtype) throw new InputError(`input embeddings are ${e.dtype} but the model is ${this.dtype}`);
  }
}

/** A position (negative counts from the end) as an index in `[0, length)`, or a one-line error. */
export function resolvePosition(position: number, length: number): number {
  const p = position < 0 ? position + length : position;
  if (!Number.isInteger(position) || p < 0 || p >= length) {
    const tokens = length === 1 ? "1 token" : `${length} tokens`;
    throw new InputError(`position ${position} is out of range for ${tokens} (use 0..${length - 1}, or -1..-${length} from the end)`);
  }
  return p;
}

function toPlace(node: Node): Place {
  return { op: node.op, path: node.path, tags: node.tags, keys: node.tags.map((t) => placeKey(node.path, t)), shape: node.output.shape };
}

/** Checks a parameter map against the shapes a config needs: a missing or mis-shaped name is an error; extra names are ignored. */
function checkParamShapes(params: Map<string, Tensor>, shapes: ParamShapes, source: string): void {
  for (const [name, shape] of shapes) {
    const t = params.get(name);
    if (!t) throw new InputError(`${source}: tensor "${name}" is missing`);
    if (!T.sameShape(t.shape, shape)) {
      throw new InputError(`${source}: tensor "${name}" has shape ${formatShape(t.shape)}, but the config needs ${formatShape(shape)}`);
    }
  }
}

/** Options of the families' `random` constructors. */
export interface RandomInitOptions {
  /** Seeds the normal draws (default 0). */
  seed?: number;
  /** Element type (default float32). */
  dtype?: DType;
  /** Standard deviation of the matrices (default 0.02, as GPT-2 and Llama initialise). */
  std?: number;
}

/**
 * Random weights for the parameter shapes of a config, as GPT-2 and Llama initialise: norm
 * weights 1, biases 0, every other tensor normal with std 0.02. `isNormWeight` names the norm
 * weights (by checkpoint name).
 */
export function randomWeights(shapes: ParamShapes, isNormWeight: (name: string) => boolean, options: RandomInitOptions = {}): Map<string, Tensor> {
  const rng = new T.Rng(options.seed ?? 0);
  const dtype = options.dtype ?? "float32";
  const weights = new Map<string, Tensor>();
  for (const [name, shape] of shapes) {
    const init = isNormWeight(name) ? T.ones(shape, { dtype }) : name.endsWith(".bias") ? T.zeros(shape, { dtype }) : T.randNormal(shape, { rng, std: options.std ?? 0.02, dtype });
    weights.set(name, init);
  }
  return weights;
}
