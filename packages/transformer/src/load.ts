/**
 * Loading a Hugging Face model folder: `config.json` plus `model.safetensors` (or a sharded
 * `model.safetensors.index.json` and its shards), from any {@link ModelFolder} (on disk with
 * `loadModel` from `@gim/transformer/node`, or in memory with {@link memoryFolder}). Tensors
 * are read one at a time straight into the model's own storage, so a checkpoint is never held
 * twice in memory.
 */
import type { DType, Tensor } from "@gim/tensor";
import { FileFormatError, formatShape, sameShape } from "@gim/tensor";
import { ConfigError, parseConfig, type ModelConfig } from "./config.js";
import { readText, type ModelFolder } from "./folder.js";
import type { CausalLM, ParamShapes, RandomInitOptions } from "./model.js";
import { Gpt2Model, gpt2ParamShapes } from "./models/gpt2.js";
import { LlamaModel, llamaParamShapes } from "./models/llama.js";
import { SafetensorsError } from "./safetensors/error.js";
import type { SafetensorsReader } from "./safetensors/reader.js";
import { openCheckpoint } from "./safetensors/sharded.js";

/** The config file of a model folder. */
export const CONFIG_FILE_NAME = "config.json";

// Real configs are a few kB; anything near this is not a config.
const MAX_CONFIG_BYTES = 10_000_000;

/** Options of `loadModel`. */
export interface LoadOptions {
  /** Element type of the model's weights (default float32; float64 for precise gradient checks). */
  dtype?: DType;
}

/** Reads and checks `config.json` of a model folder. */
export function readConfigFrom(folder: ModelFolder): ModelConfig {
  const file = folder.pathOf(CONFIG_FILE_NAME);
  if (!folder.has(CONFIG_FILE_NAME)) throw new ConfigError(file, "no config.json in the model folder");
  let text: string;
  try {
    text = readText(folder, CONFIG_FILE_NAME, MAX_CONFIG_BYTES);
  } catch (e) {
    throw new ConfigError(file, e instanceof FileFormatError ? e.problem : (e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(json, file);
}

/** A model of any supported family with seeded random weights (see `Gpt2Model.random`, `LlamaModel.random`). */
export function randomModel(config: ModelConfig, options: RandomInitOptions = {}): CausalLM {
  return config.modelType === "gpt2" ? Gpt2Model.random(config, options) : LlamaModel.random(config, options);
}

/** Builds a model from a config and tensors keyed by checkpoint name. */
export function buildModel(config: ModelConfig, weights: Map<string, Tensor>, source = "weights"): CausalLM {
  return config.modelType === "gpt2" ? new Gpt2Model(config, weights, source) : new LlamaModel(config, weights, source);
}

/** The parameter shapes a config needs, by checkpoint name. */
export function paramShapes(config: ModelConfig): ParamShapes {
  return config.modelType === "gpt2" ? gpt2ParamShapes(config) : llamaParamShapes(config);
}

/**
 * Where a parameter is stored: GPT-2 checkpoints name it with or without the `transformer.`
 * prefix (the official `gpt2` has none); Llama uses the names as they are.
 */
function storedName(reader: SafetensorsReader, config: ModelConfig, name: string): string | undefined {
  if (reader.has(name)) return name;
  if (config.modelType === "gpt2" && reader.has(`transformer.${name}`)) return `transformer.${name}`;
  return undefined;
}

/**
 * Loads a Hugging Face model folder (in Node, `loadModel(dir)` from `@gim/transformer/node`
 * reads one from disk). Refuses, with one line naming the file and the problem:
 * a missing or malformed config, an unknown `model_type`, a tensor the model needs that is
 * missing or has the wrong shape for the config, and every kind of malformed safetensors file.
 */
export function loadModelFrom(folder: ModelFolder, options: LoadOptions = {}): CausalLM {
  const config = readConfigFrom(folder);
  const reader = openCheckpoint(folder);
  try {
    const weights = new Map<string, Tensor>();
    for (const [name, shape] of paramShapes(config)) {
      const stored = storedName(reader, config, name);
      if (stored === undefined) {
        throw new SafetensorsError(reader.file, `tensor "${name}" is missing (a ${config.modelType} model with this config needs it)`);
      }
      const entry = reader.entry(stored);
      if (!sameShape(entry.shape, shape)) {
        throw new SafetensorsError(reader.file, `tensor "${stored}" has shape ${formatShape(entry.shape)}, but the config needs ${formatShape(shape)}`);
      }
      weights.set(name, reader.read(stored, { dtype: options.dtype ?? "float32" }));
    }
    return buildModel(config, weights, reader.file);
  } finally {
    reader.close();
  }
}
