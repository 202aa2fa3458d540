/**
 * What training is made of, in types: the sequences and batches a task supplies, the recipe
 * that determines a trained model, and the report a run writes (training.json). The training
 * loop itself runs in Node (`trainRecipe` in `@gim/models/node`).
 */
import type { BpeTokenizer, CausalLM, ModelConfig } from "@gim/transformer";
import type { Scored } from "./evaluate.js";
import type { ProgressStream } from "@gim/report";

/** One training sequence and the positions whose next token is supervised. */
export interface SupervisedSequence {
  readonly ids: readonly number[];
  /** `target` is the token that should follow position `position`. */
  readonly targets: readonly { readonly position: number; readonly target: number }[];
}

/** One step's data: task sequences, and plain sentences for the language-model share (may be empty). */
export interface TrainingBatch {
  readonly task: readonly SupervisedSequence[];
  readonly lm: readonly SupervisedSequence[];
}

/** What training needs of a task. */
export interface TrainingTask {
  readonly tokenizer: BpeTokenizer;
  /** A seeded batch of `size` task sequences and `lmSize` plain sentences. */
  batch(size: number, lmSize: number, seed: number): TrainingBatch;
  /** Held-out prompts scored during training (for early stopping). */
  validation(count: number, seed: number): Scored[];
  /** Fresh samples scored at the end, by name (the first one is the headline held-out figure). */
  finalSets(count: number, seed: number): Record<string, Scored[]>;
}

/** Everything that determines a trained model. */
export interface Recipe {
  /** Folder name of the model, e.g. "ioi-gpt2". */
  readonly name: string;
  /** One line on what the model is. */
  readonly description: string;
  /** Builds the task (and its tokenizer). */
  readonly task: () => TrainingTask;
  /** The model config for a vocabulary size. */
  readonly model: (vocabSize: number) => ModelConfig;
  /** Seeds the initial weights and the batches. */
  readonly seed: number;
  readonly maxSteps: number;
  readonly batchSize: number;
  /** Plain sentences per batch for the language-model loss (0: none). */
  readonly lmBatchSize: number;
  /** Weight of the language-model loss. */
  readonly lmWeight: number;
  /** Peak learning rate (linear warmup, then cosine decay to a tenth of it at `maxSteps`). */
  readonly lr: number;
  readonly warmupSteps: number;
  /** AdamW weight decay on matrices (norm weights and biases are not decayed). */
  readonly weightDecay: number;
  /** Clip the global gradient norm to this. */
  readonly clipNorm: number;
  /** Score the validation set every this many steps. */
  readonly evalEvery: number;
  readonly validationSize: number;
  /** Stop once the validation accuracy reaches this. */
  readonly stopAccuracy: number;
  /** Size of each final evaluation sample. */
  readonly finalSize: number;
  /**
   * Training only: the rate at which each sequence's attention heads are dropped at each step
   * (see `headDropoutScales`); absent or 0: none. The saved model has no dropout.
   */
  readonly headDropout?: number;
}

/** Seeds of the evaluation sets (fixed; training batches draw theirs from the recipe seed). */
export const VALIDATION_SEED = 1_000_001;
/** Seed of the final evaluation samples written to training.json. */
export const FINAL_SEED = 2_000_002;

/** One point of the training history. */
export interface HistoryPoint {
  readonly step: number;
  readonly loss: number;
  /** Training accuracy of this step's batch (answer positions). */
  readonly accuracy: number;
  /** Validation accuracy, at evaluation steps. */
  readonly validation?: number;
}

/** What a run reports (written as training.json). */
export interface TrainingReport {
  readonly model: string;
  readonly description: string;
  readonly command: string;
  readonly seed: number;
  readonly steps: number;
  readonly maxSteps: number;
  readonly stoppedEarly: boolean;
  readonly wallTimeSeconds: number;
  readonly secondsPerStep: number;
  readonly parameters: number;
  readonly hyperparameters: Record<string, number>;
  /** Final accuracies on fresh samples, by set name ("train", "heldout", ...). */
  readonly accuracy: Record<string, number>;
  readonly loss: Record<string, number>;
  readonly evaluation: { readonly seed: number; readonly size: number; readonly validationSeed: number; readonly validationSize: number };
  readonly machine: { readonly cpu: string; readonly cores: number; readonly loadAverageAtStart: number; readonly node: string; readonly platform: string };
  /** SHA-256 of model.safetensors: equal runs give equal hashes. */
  readonly weightsSha256: string;
  readonly history: readonly HistoryPoint[];
}

/** Options of `trainRecipe`. */
export interface TrainOptions {
  /** Override the recipe's step limit (smoke tests). */
  maxSteps?: number;
  /** Where progress goes (default stderr); null for none. */
  progress?: ProgressStream | null;
}

/** A trained model with its tokenizer and report (weights hash not yet known: see `writeModelFolder`). */
export interface TrainedModel {
  readonly model: CausalLM;
  readonly tokenizer: BpeTokenizer;
  readonly report: Omit<TrainingReport, "weightsSha256">;
}

