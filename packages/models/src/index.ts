/**
 * `@gim/models`: small transformers trained here, with the project's own autograd, on tasks
 * whose mechanism and evidence tokens are known, shipped as Hugging Face folders; the seeded
 * task generators; and the recipes that reproduce every shipped model (trained in Node with
 * `trainRecipe` from `@gim/models/node`, which also finds the shipped folders).
 *
 * ```ts
 * import { loadModel, loadTokenizer } from "@gim/transformer/node";
 * import { ioiExamples } from "@gim/models";
 * import { modelDir } from "@gim/models/node";
 *
 * const model = loadModel(modelDir("ioi-gpt2"));
 * const tokenizer = await loadTokenizer(modelDir("ioi-gpt2"));
 * const [example] = ioiExamples("heldout", 1, 0, tokenizer);   // text, ids, target, positions, corruptions
 * ```
 *
 * @packageDocumentation
 */
export * from "./tasks/ioi.js";
export * from "./tasks/induction.js";
export { END_OF_TEXT, ioiTokenizer, inductionTokenizer } from "./tokenizers.js";
export { shippedModels, defaultModel, type ShippedModel } from "./shipped.js";
export { evaluate, type Evaluation, type Scored } from "./evaluate.js";
export { headDropoutScales } from "./headDropout.js";
export {
  VALIDATION_SEED, FINAL_SEED,
  type Recipe, type TrainingTask, type TrainingBatch, type SupervisedSequence, type TrainOptions, type TrainedModel, type TrainingReport, type HistoryPoint,
} from "./training.js";
export { recipes, ioiTrainingTask, inductionTrainingTask, INDUCTION_OPTIONS, INDUCTION_TWICE_OPTIONS, type InductionTaskOptions } from "./recipes.js";
export { toHfConfig, type SpecialTokenIds } from "./hfConfig.js";
export { ProgressBar, type ProgressState } from "./progress.js";
