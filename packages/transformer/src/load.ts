/**
 * Loading a Hugging Face model folder: `config.json` plus `model.safetensors` (or a sharded
 * `model.safetensors.index.json` and its shards), from any {@link ModelFolder} (on disk with
 * `loadModel` from `@gim/transformer/node`, or in memory with {@link memoryFolder}). Tensors
 * are read one at a time straight into the model's own storage, so a checkpoint is never held
 * twice in memory.
 */
import type { DType, Tensor } from "@gim/tensor";
import { FileFormatError, formatShape, quote, sameShape } from "@gim/tensor";
import { ConfigError, parseConfig, type ModelConfig } from "./config.js";
import { readText, type ModelFolder } from "./folder.js";
import { parseJsonText } from "./json-text.js";
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
  /**
   * Load even when the checkpoint holds tensors the config does not use (they are ignored).
   * By default they are an error: a checkpoint with more layers than its config says, or an
   * own `lm_head.weight` that a tied config would ignore, is read wrongly without a word.
   * Buffers transformers itself ignores (GPT-2's `attn.bias` and `attn.masked_bias`, Llama's
   * `rotary_emb.inv_freq`) are always allowed.
   */
  allowUnusedTensors?: boolean;
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
  const json = parseJsonText(
    text,
    (problem) => {
      throw new ConfigError(file, problem);
    },
    (error) => {
      throw new ConfigError(file, `not valid JSON (${error.message})`);
    },
  );
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
 * prefix (the official `gpt2` has none); Llama uses the names as they are. Both copies at
 * once are ambiguous (which one is the model?) and refused.
 */
function storedName(reader: SafetensorsReader, config: ModelConfig, name: string): string | undefined {
  const prefixed = config.modelType === "gpt2" ? `transformer.${name}` : undefined;
  if (prefixed !== undefined && reader.has(name) && reader.has(prefixed)) {
    throw new SafetensorsError(reader.file, `holds both ${quote(name)} and ${quote(prefixed)}; which one the model uses is ambiguous`);
  }
  if (reader.has(name)) return name;
  if (prefixed !== undefined && reader.has(prefixed)) return prefixed;
  return undefined;
}

// Buffers transformers writes into some checkpoints and ignores when loading: GPT-2's causal
// mask (`attn.bias`, `attn.masked_bias`) and Llama's rotary frequencies (`rotary_emb.inv_freq`).
const IGNORED_BUFFER = /^(?:transformer\.)?h\.\d+\.attn\.(?:bias|masked_bias)$|^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/** The layer blocks of a checkpoint, as the config counts them: the largest layer index stored, plus one. */
function storedLayers(reader: SafetensorsReader, config: ModelConfig): number {
  const layer = config.modelType === "gpt2" ? /^(?:transformer\.)?h\.(\d{1,9})\./ : /^model\.layers\.(\d{1,9})\./;
  let count = 0;
  for (const name of reader.names()) {
    const index = layer.exec(name)?.[1];
    if (index !== undefined) count = Math.max(count, Number(index) + 1);
  }
  return count;
}

/**
 * The config's layer count against the layers the checkpoint holds, before anything is built
 * per layer: a config that claims a billion layers fails here, at once, not after the loader
 * has built a billion layers' worth of names; one that claims fewer than are stored would
 * silently drop the rest.
 */
function checkLayerCount(config: ModelConfig, reader: SafetensorsReader, configFile: string): void {
  const [key, claimed] = config.modelType === "gpt2" ? ["n_layer", config.nLayer] : ["num_hidden_layers", config.numHiddenLayers];
  const stored = storedLayers(reader, config);
  if (claimed !== stored) {
    throw new ConfigError(configFile, `"${key}" is ${claimed}, but ${reader.file} holds ${stored} layer${stored === 1 ? "" : "s"}`);
  }
}

/** The embedding a tied model uses as its unembedding. */
function tiedEmbeddingName(config: ModelConfig): string | undefined {
  if (config.modelType === "gpt2") return config.tieWordEmbeddings === false ? undefined : "wte.weight";
  return config.tieWordEmbeddings ? "model.embed_tokens.weight" : undefined;
}

/** True when two tensors have the same shape and the same values. */
function sameTensor(a: Tensor, b: Tensor): boolean {
  if (!sameShape(a.shape, b.shape)) return false;
  const x = a.toFlat();
  const y = b.toFlat();
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i]) && x[i] !== y[i]) return false;
  return true;
}

/**
 * Loads a Hugging Face model folder (in Node, `loadModel(dir)` from `@gim/transformer/node`
 * reads one from disk). Refuses, with one line naming the file and the problem: a missing or
 * malformed config, an unknown `model_type`, a layer count other than the checkpoint's, a
 * tensor the model needs that is missing or has the wrong shape for the config, a tensor
 * stored both with and without GPT-2's `transformer.` prefix, tensors the config does not use
 * (unless `allowUnusedTensors`), and every kind of malformed safetensors file. Every size is
 * compared with the tensors present before a tensor is read.
 */
export function loadModelFrom(folder: ModelFolder, options: LoadOptions = {}): CausalLM {
  const config = readConfigFrom(folder);
  const reader = openCheckpoint(folder);
  const dtype = options.dtype ?? "float32";
  try {
    checkLayerCount(config, reader, folder.pathOf(CONFIG_FILE_NAME));
    const stored = new Map<string, string>(); // parameter -> stored name
    for (const [name, shape] of paramShapes(config)) {
      const where = storedName(reader, config, name);
      if (where === undefined) {
        throw new SafetensorsError(reader.file, `tensor "${name}" is missing (a ${config.modelType} model with this config needs it)`);
      }
      const entry = reader.entry(where);
      if (!sameShape(entry.shape, shape)) {
        throw new SafetensorsError(reader.file, `tensor ${quote(where)} has shape ${formatShape(entry.shape)}, but the config needs ${formatShape(shape)}`);
      }
      stored.set(name, where);
    }
    const used = new Set(stored.values());
    const unused = reader.names().filter((name) => !used.has(name) && !IGNORED_BUFFER.test(name));
    const weights = new Map<string, Tensor>();
    for (const [name, where] of stored) weights.set(name, reader.read(where, { dtype }));

    // A tied model's own copy of the unembedding is fine when it is the embedding itself.
    const tied = tiedEmbeddingName(config);
    const head = unused.indexOf("lm_head.weight");
    if (tied !== undefined && head >= 0 && !options.allowUnusedTensors) {
      if (!sameTensor(reader.read("lm_head.weight", { dtype }), weights.get(tied)!)) {
        throw new SafetensorsError(
          reader.file,
          `tie_word_embeddings is true but the checkpoint's "lm_head.weight" differs from ${quote(tied)}; set tie_word_embeddings to false to use it, or allow unused tensors to ignore it`,
        );
      }
      unused.splice(head, 1);
    }
    if (unused.length > 0 && !options.allowUnusedTensors) {
      const listed = unused.slice(0, 3).map((name) => quote(name)).join(", ");
      const more = unused.length > 3 ? ` and ${unused.length - 3} more` : "";
      throw new SafetensorsError(
        reader.file,
        `${unused.length} tensor${unused.length === 1 ? " is" : "s are"} not used by this ${config.modelType} config: ${listed}${more} (check the config, or allow unused tensors to ignore them)`,
      );
    }
    return buildModel(config, weights, reader.file);
  } finally {
    reader.close();
  }
}
