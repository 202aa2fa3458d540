/**
 * Per-head contributions to the residual stream. The attention output is
 *
 *   attn.output[b, t] = sum_h z[b, h, t, :] @ W_h + bias,
 *
 * where W_h [dh, d] is head h's share of the output projection, as the model's layout splits
 * it (`AttentionLayout.outputProjection`). Edges out of a head carry its contribution z_h @ W_h.
 */
import * as T from "@gim/tensor";
import { formatShape, InputError, type Tensor } from "@gim/tensor";
import type { AttentionLayout, CausalLM } from "@gim/transformer";

/** The attention sublayer at module path `attnPath` (`h.3.attn`, `model.layers.3.self_attn`) of the model's layout. */
export function attentionAt(model: CausalLM, attnPath: string): AttentionLayout {
  const block = model.layout.blocks.find((b) => b.attention.path === attnPath);
  if (!block) throw new InputError(`"${attnPath}" is not an attention sublayer of this ${model.config.modelType} model (they are ${model.layout.blocks[0]?.attention.path ?? "none"}, ...)`);
  return block.attention;
}

/**
 * Each head's contribution to the residual stream: z [B, H, T, dh] (the `attn.z` activation of
 * the attention at `attnPath`) -> [B, H, T, d], contribution[b, h] = z[b, h] @ W_h. Their sum
 * over heads plus the projection's bias is the sublayer's output (`attn.output`).
 */
export function headContributions(model: CausalLM, attnPath: string, z: Tensor): Tensor {
  const attention = attentionAt(model, attnPath);
  if (z.ndim !== 4 || z.shape[1] !== attention.heads || z.shape[3] !== attention.headDim) {
    throw new InputError(`headContributions at "${attnPath}": z has shape ${formatShape(z.shape)}, expected [B, ${attention.heads}, T, ${attention.headDim}]`);
  }
  const { perHead } = attention.outputProjection(); // not cached: it must follow weights that training updates in place
  return T.matmul(z, T.astype(perHead, z.dtype)); // [B, H, T, dh] @ [H, dh, d] -> [B, H, T, d]
}
