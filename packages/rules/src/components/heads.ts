/**
 * Per-head contributions to the residual stream. The attention output is
 *
 *   attn.output[b, t] = sum_h z[b, h, t, :] @ W_h + bias,
 *
 * where W_h [dh, d] is head h's share of the output projection: rows h*dh .. (h+1)*dh of
 * GPT-2's Conv1D `c_proj.weight` [H*dh, d], or columns h*dh .. (h+1)*dh of Llama's
 * `o_proj.weight` [d, H*dh], transposed. Edges out of a head carry its contribution z_h @ W_h.
 */
import * as T from "@gim/tensor";
import { formatShape, type Tensor, InputError } from "@gim/tensor";
import { Tags, type CausalLM } from "@gim/transformer";

/** One attention sublayer's output projection, split by head. */
export interface HeadProjection {
  /** W_h for every head, stacked: [H, dh, d]. */
  readonly perHead: Tensor;
  /** The projection's bias [d], or undefined when it has none. */
  readonly bias: Tensor | undefined;
}

/**
 * The output projection of the attention sublayer at `attnPath` (`h.3.attn`,
 * `model.layers.3.self_attn`), split by head. Reads `<path>.c_proj.*` (GPT-2) or
 * `<path>.o_proj.*` (Llama family).
 */
export function headProjection(model: CausalLM, attnPath: string): HeadProjection {
  const d = model.hiddenSize;
  let perHead: Tensor;
  let bias: Tensor | undefined;
  if (model.params.has(`${attnPath}.c_proj.weight`)) {
    const w = model.param(`${attnPath}.c_proj.weight`).value; // [H*dh, d] (Conv1D: in, out)
    const width = w.shape[0]!;
    const heads = headsOf(model, attnPath, width);
    perHead = T.contiguous(T.reshape(w, [heads, width / heads, d])); // [H, dh, d]
    bias = model.params.get(`${attnPath}.c_proj.bias`)?.value;
  } else if (model.params.has(`${attnPath}.o_proj.weight`)) {
    const w = model.param(`${attnPath}.o_proj.weight`).value; // [d, H*dh] (nn.Linear: out, in)
    const width = w.shape[1]!;
    const heads = headsOf(model, attnPath, width);
    perHead = T.contiguous(T.permute(T.reshape(w, [d, heads, width / heads]), [1, 2, 0])); // [H, dh, d]
    bias = model.params.get(`${attnPath}.o_proj.bias`)?.value;
  } else {
    throw new InputError(`no output projection for the attention at "${attnPath}": expected a parameter ${attnPath}.c_proj.weight (GPT-2) or ${attnPath}.o_proj.weight (Llama)`);
  }
  return { perHead, bias }; // not cached: it must follow weights that training updates in place
}

/**
 * Each head's contribution to the residual stream: z [B, H, T, dh] (the `attn.z` activation of
 * the attention at `attnPath`) -> [B, H, T, d], contribution[b, h] = z[b, h] @ W_h. Their sum
 * over heads plus the projection's bias is the sublayer's output (`attn.output`).
 */
export function headContributions(model: CausalLM, attnPath: string, z: Tensor): Tensor {
  const { perHead } = headProjection(model, attnPath);
  const [heads, dh] = perHead.shape as [number, number, number];
  if (z.ndim !== 4 || z.shape[1] !== heads || z.shape[3] !== dh) {
    throw new InputError(`headContributions at "${attnPath}": z has shape ${formatShape(z.shape)}, expected [B, ${heads}, T, ${dh}]`);
  }
  return T.matmul(z, T.astype(perHead, z.dtype)); // [B, H, T, dh] @ [H, dh, d] -> [B, H, T, d]
}

/** The number of heads of the attention at `attnPath`, from its z place; checks it divides the projection width. */
function headsOf(model: CausalLM, attnPath: string, width: number): number {
  const place = model.places().find((p) => p.path === attnPath && p.tags.includes(Tags.z));
  if (!place) throw new InputError(`"${attnPath}" has no attn.z place: it is not an attention sublayer of this model`);
  const heads = place.shape[1]!;
  if (width % heads !== 0 || width / heads !== place.shape[3]) {
    throw new InputError(`the output projection of "${attnPath}" is ${width} wide, which is not ${heads} heads of ${place.shape[3]}`);
  }
  return heads;
}
