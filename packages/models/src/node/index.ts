/**
 * `@gim/models/node`: the shipped model folders on disk, and training (which writes model
 * folders). The tasks, tokenizers and recipes are in `@gim/models`, which runs in browsers too.
 *
 * ```ts
 * import { loadModel } from "@gim/transformer/node";
 * import { modelDir } from "@gim/models/node";
 * const model = loadModel(modelDir("ioi-gpt2"));
 * ```
 *
 * @packageDocumentation
 */
export { modelDir, modelsRoot } from "./models.js";
export { trainRecipe, writeModelFolder, reportSvg, initialModel } from "./train.js";
