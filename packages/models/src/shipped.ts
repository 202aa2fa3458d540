// The models this package ships, by name. In Node, `modelDir` from `@gim/models/node` finds their folders.

/** Names of the shipped models (folders under `models/`). */
export const shippedModels = ["ioi-gpt2", "ioi-llama", "induction-gpt2"] as const;

/** One of {@link shippedModels}. */
export type ShippedModel = (typeof shippedModels)[number];

/** The model the `gim` command uses when no `--model` is given. */
export const defaultModel: ShippedModel = "ioi-gpt2";
