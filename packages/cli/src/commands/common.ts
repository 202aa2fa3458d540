/** Options and output pieces that several commands share. */
import { defaultModel, shippedModels } from "@gim/models";
import { describeLayout } from "@gim/transformer";
import type { OptionSpec } from "../args.js";
import { DEFAULT_MODEL_DIR, type OpenedModel } from "../model.js";

/** `--model DIR`. */
export const modelOption: OptionSpec = {
  name: "model",
  kind: "string",
  valueName: "DIR|NAME|ID",
  description: `A Hugging Face model folder (config.json, *.safetensors, tokenizer files), a shipped model (${shippedModels.join(", ")}), or a hub id already in the local Hugging Face cache (gpt2, org/name@revision; nothing is downloaded)`,
  defaultText: `the shipped ${defaultModel} model (${DEFAULT_MODEL_DIR})`,
};

/** `--allow-unused-tensors`. */
export const allowUnusedTensorsOption: OptionSpec = {
  name: "allow-unused-tensors",
  kind: "flag",
  description: "Load a checkpoint that holds tensors the config does not use, ignoring them (they are an error otherwise)",
};

/** `--allow-nonfinite`. */
export const allowNonFiniteOption: OptionSpec = {
  name: "allow-nonfinite",
  kind: "flag",
  description: "Print logits and attributions that hold NaN or Infinity (flagged by a warning on stderr) instead of failing with where they first appeared",
};

/** The warning `--allow-nonfinite` prints when a result holds NaN or ±Infinity: `what` and how many values. */
export function nonFiniteWarning(what: string, values: readonly number[]): string | undefined {
  const bad = values.filter((v) => !Number.isFinite(v)).length;
  return bad === 0 ? undefined : `gim: warning: ${what} hold ${bad} non-finite value${bad === 1 ? "" : "s"} (NaN or Infinity; null in JSON); printed because of --allow-nonfinite\n`;
}

/** `--ids 5,17,3`. */
export const idsOption: OptionSpec = {
  name: "ids",
  kind: "ids",
  valueName: "5,17,3",
  description: "Token ids to run instead of TEXT (comma-separated)",
};

/** `--no-special-tokens`. */
export const noSpecialTokensOption: OptionSpec = {
  name: "no-special-tokens",
  kind: "flag",
  description: "Encode TEXT without the special tokens the tokenizer adds (e.g. Llama's BOS)",
};

/** `--position N`. */
export const positionOption: OptionSpec = {
  name: "position",
  kind: "int",
  valueName: "N",
  description: "Position whose logits are used; negative counts from the end",
  defaultText: "-1, the last token",
};

/** `--json`. */
export const jsonOption: OptionSpec = { name: "json", kind: "flag", description: "Print JSON instead of the human-readable report" };

/** `gpt2, 2 layers, 4 heads, width 64, vocab 96`: what kind of model a folder holds. */
export function describeModel(opened: OpenedModel): string {
  const tokenizer = opened.tokenizer ? "" : ", no tokenizer";
  return `${opened.model.config.modelType}, ${describeLayout(opened.model.layout)}, vocab ${opened.model.vocabSize}${tokenizer}`;
}

/** `position 7 (the last of 8 tokens)`. */
export function describePosition(position: number, length: number): string {
  return position === length - 1 ? `position ${position} (the last of ${length} tokens)` : `position ${position} of 0..${length - 1}`;
}
