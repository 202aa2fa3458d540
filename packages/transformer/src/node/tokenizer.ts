/** Tokenizers read from and written to model folders on disk. */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { asBpeTokenizer, tokenizerFolderFiles, tokenizerFromFolder, toTokenizerJson } from "../tokenizer/files.js";
import { toGpt2Files } from "../tokenizer/gpt2.js";
import { TokenizerError } from "../tokenizer/error.js";
import type { BpeTokenizer } from "../tokenizer/tokenizer.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { folderProblem, nodeFolder } from "./folder.js";

/**
 * Loads the tokenizer of a checkpoint folder: tokenizer.json if present, else vocab.json +
 * merges.txt, with special tokens from tokenizer_config.json, special_tokens_map.json and
 * config.json (see `tokenizerFromFiles`).
 */
export async function loadTokenizer(folder: string): Promise<BpeTokenizer> {
  const problem = folderProblem(folder);
  if (problem === "does not exist") throw new TokenizerError(folder, "tokenizer folder not found");
  if (problem !== undefined) throw new TokenizerError(folder, `${problem} (expected a checkpoint folder with tokenizer files)`);
  return tokenizerFromFolder(nodeFolder(folder));
}

/** Writes vocab.json and merges.txt for a GPT-2 style byte-level tokenizer into `folder` (created if needed). */
export async function writeGpt2TokenizerFiles(folder: string, tokenizer: Tokenizer): Promise<void> {
  const { vocabJson, mergesTxt } = toGpt2Files(asBpeTokenizer(tokenizer, "writeGpt2TokenizerFiles"));
  writeFiles(folder, { "vocab.json": vocabJson, "merges.txt": mergesTxt });
}

/** Writes tokenizer.json for `tokenizer` into `folder` (created if needed). */
export async function writeTokenizerJson(folder: string, tokenizer: Tokenizer): Promise<void> {
  writeFiles(folder, { "tokenizer.json": toTokenizerJson(tokenizer) });
}

/**
 * Writes everything a Hugging Face model folder needs for `tokenizer` (see
 * `tokenizerFolderFiles`), replacing existing files of those names. `loadTokenizer` and
 * transformers' `AutoTokenizer` read the folder back.
 */
export async function saveTokenizer(folder: string, tokenizer: Tokenizer): Promise<void> {
  writeFiles(folder, tokenizerFolderFiles(tokenizer));
}

function writeFiles(folder: string, files: Record<string, string>): void {
  fs.mkdirSync(folder, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(nodePath.join(folder, name), text, "utf8");
}
