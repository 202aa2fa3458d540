// The models this package ships, by name. In Node, `modelDir` from `@gim/models/node` finds their folders.

/** Names of the shipped models (folders under `models/`): the quick 2-3-layer ones first, then the wider ones of issue 11 (`-d128l4`). */
export const shippedModels = ["ioi-gpt2", "ioi-llama", "induction-gpt2", "ioi-gpt2-d128l4", "ioi-llama-d128l4", "induction-gpt2-d128l4"] as const;

/** One of {@link shippedModels}. */
export type ShippedModel = (typeof shippedModels)[number];

/** The model the `gim` command uses when no `--model` is given. */
export const defaultModel: ShippedModel = "ioi-gpt2";
