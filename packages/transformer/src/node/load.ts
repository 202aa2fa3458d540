/** Loading a Hugging Face model folder from disk. */
import { ConfigError, type ModelConfig } from "../config.js";
import { CONFIG_FILE_NAME, loadModelFrom, readConfigFrom, type LoadOptions } from "../load.js";
import type { CausalLM } from "../model.js";
import { folderProblem, nodeFolder } from "./folder.js";

/** Reads and checks `config.json` of the model folder `dir`. */
export function readConfig(dir: string): ModelConfig {
  checkFolder(dir);
  return readConfigFrom(nodeFolder(dir));
}

/**
 * Loads the Hugging Face model folder `dir` (see `loadModelFrom`): config.json and the
 * safetensors checkpoint, with every problem reported on one line naming the file.
 */
export function loadModel(dir: string, options: LoadOptions = {}): CausalLM {
  checkFolder(dir);
  return loadModelFrom(nodeFolder(dir), options);
}

function checkFolder(dir: string): void {
  const problem = folderProblem(dir);
  if (problem !== undefined) throw new ConfigError(`${dir}/${CONFIG_FILE_NAME}`, `the model folder ${problem}`);
}
