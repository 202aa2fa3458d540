/**
 * The shipped models: Hugging Face folders under `packages/models/models/`, found from this
 * module's location so they resolve wherever the package is installed.
 */
import { fileURLToPath } from "node:url";
import { InputError } from "@gim/tensor";
import { defaultModel, shippedModels, type ShippedModel } from "../shipped.js";

/** The folder holding the shipped model folders. */
export function modelsRoot(): string {
  // src/node/models.ts and dist/node/models.js both sit two levels below the package root.
  return fileURLToPath(new URL("../../models/", import.meta.url));
}

/** The folder of a shipped model (config.json, model.safetensors, tokenizer files, training.json, loss.svg). */
export function modelDir(name: ShippedModel | string = defaultModel): string {
  if (!(shippedModels as readonly string[]).includes(name)) {
    throw new InputError(`no shipped model named ${JSON.stringify(name)}; shipped models: ${shippedModels.join(", ")}`);
  }
  return fileURLToPath(new URL(`../../models/${name}`, import.meta.url));
}
