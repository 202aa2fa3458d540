/**
 * The shipped models: Hugging Face folders under `packages/models/models/`, found from this
 * module's location so they resolve wherever the package is installed.
 */
import { fileURLToPath } from "node:url";
import { InputError } from "@gim/tensor";

/** Names of the shipped models (folders under `models/`). */
export const shippedModels = ["ioi-gpt2", "ioi-llama", "induction-gpt2"] as const;

/** One of {@link shippedModels}. */
export type ShippedModel = (typeof shippedModels)[number];

/** The model the `gim` command uses when no `--model` is given. */
export const defaultModel: ShippedModel = "ioi-gpt2";

/** The folder holding the shipped model folders. */
export function modelsRoot(): string {
  // src/models.ts and dist/models.js both sit one level below the package root.
  return fileURLToPath(new URL("../models/", import.meta.url));
}

/** The folder of a shipped model (config.json, model.safetensors, tokenizer files, training.json, loss.svg). */
export function modelDir(name: ShippedModel | string = defaultModel): string {
  if (!(shippedModels as readonly string[]).includes(name)) {
    throw new InputError(`no shipped model named ${JSON.stringify(name)}; shipped models: ${shippedModels.join(", ")}`);
  }
  return fileURLToPath(new URL(`../models/${name}`, import.meta.url));
}
