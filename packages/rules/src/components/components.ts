/**
 * The components of a model that attribution patching scores, read from its declared layout
 * (`CausalLM.layout`):
 *
 * - `embed`: the token (+ position) embeddings, i.e. the residual stream entering block 0
 *   (place `<block 0>:resid.pre`);
 * - one per attention head: head h's slice `[:, h, :, :]` of `<attn path>:attn.z`, named
 *   `h.3.attn.head5` (Llama: `model.layers.3.self_attn.head5`);
 * - one per MLP: `<mlp path>:mlp.output`, named `h.3.mlp` (Llama: `model.layers.3.mlp`).
 *
 * and the inputs that edges point into: each sublayer reads the residual stream through its
 * norm, so the attention input of a block is its first norm's `norm.input`, the MLP input
 * its second norm's, and the logits read the final norm's.
 */
import type { CausalLM } from "@gim/transformer";

/** What a component is: the embeddings, one attention head, or one MLP. */
export type ComponentKind = "embed" | "head" | "mlp";

/** A scored unit of the model: its name, where its activation lives, and its layer. */
export interface Component {
  /** `embed`, `h.3.attn.head5`, `h.3.mlp` (module paths as in the checkpoint). */
  readonly name: string;
  readonly kind: ComponentKind;
  /** Block index; -1 for the embeddings. */
  readonly layer: number;
  /** The key of the place holding its activation (`h.3.attn:attn.z`); a head is one slice of it. */
  readonly place: string;
  /** The head's index along axis 1 of `attn.z` (heads only). */
  readonly head?: number;
  /** Module path of the sublayer (`h.3.attn`, `h.3.mlp`; `""` for the embeddings). */
  readonly path: string;
}

/** Where an edge ends: the input of an attention sublayer, of an MLP, or of the logits. */
export type ComponentInputKind = "attn" | "mlp" | "logits";

/** The residual-stream input of one sublayer (or of the logits), read through its norm. */
export interface ComponentInput {
  /** `h.3.attn`, `h.3.mlp` or `logits`. */
  readonly name: string;
  readonly kind: ComponentInputKind;
  /** Block index; the number of blocks for the logits. */
  readonly layer: number;
  /** The `norm.input` place of the norm in front of it (`h.3.ln_1:norm.input`). */
  readonly place: string;
  /** Indices (into `ComponentGraph.components`) of the components written to the residual stream before it. */
  readonly upstream: readonly number[];
}

/** A model's components in forward order, and the inputs edges point into. */
export interface ComponentGraph {
  /** `embed`, then per block its heads (in head order) and its MLP. */
  readonly components: readonly Component[];
  /** Per block its attention input and MLP input, then the logits' input. */
  readonly inputs: readonly ComponentInput[];
  /** Number of blocks. */
  readonly layers: number;
}

const graphs = new WeakMap<CausalLM, ComponentGraph>();

/** The components and component inputs of `model`, read from its declared layout (cached per model). */
export function componentGraph(model: CausalLM): ComponentGraph {
  const known = graphs.get(model);
  if (known) return known;
  const { blocks, finalNorm } = model.layout;
  if (blocks.length === 0) throw new Error(`the ${model.config.modelType} model has no blocks: it has no components to score`);
  const components: Component[] = [{ name: "embed", kind: "embed", layer: -1, place: blocks[0]!.residPre, path: "" }];
  const inputs: ComponentInput[] = [];
  const input = (kind: ComponentInputKind, name: string, layer: number, place: string) => inputs.push({ name, kind, layer, place, upstream: components.map((_, i) => i) });
  for (const b of blocks) {
    const a = b.attention;
    input("attn", a.path, b.index, b.attnNorm.input);
    for (let h = 0; h < a.heads; h++) components.push({ name: `${a.path}.head${h}`, kind: "head", layer: b.index, place: a.z, head: h, path: a.path });
    input("mlp", b.mlp.path, b.index, b.mlpNorm.input);
    components.push({ name: b.mlp.path, kind: "mlp", layer: b.index, place: b.mlp.output, path: b.mlp.path });
  }
  input("logits", "logits", blocks.length, finalNorm.input);
  const graph: ComponentGraph = { components, inputs, layers: blocks.length };
  graphs.set(model, graph);
  return graph;
}

/** The components of `model`: `embed`, then every attention head and MLP in forward order. */
export function listComponents(model: CausalLM): readonly Component[] {
  return componentGraph(model).components;
}
