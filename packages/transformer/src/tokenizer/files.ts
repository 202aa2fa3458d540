// Tokenizers from checkpoint folders and back: which files to read, where special tokens come
// from, and writing a tokenizer into a model folder.
//
// Reading (`tokenizerFromFiles` works on file texts and `tokenizerFromFolder` on any
// `ModelFolder`, so both run in a browser; `loadTokenizer` in `@gim/transformer/node` reads a
// folder on disk):
// - tokenizer.json if present, else vocab.json + merges.txt (GPT-2 style), else an error.
// - Special tokens by role (bos, eos, pad, unk): tokenizer_config.json `<role>_token`, else
//   special_tokens_map.json `<role>_token`, else config.json `<role>_token_id` (the first id
//   if it is a list), else none (unk: the model's `unk_token`). An explicit null in a
//   tokenizer file means "none" and stops the search.
// - tokenizer_config.json `added_tokens_decoder` entries are added tokens too, and a special
//   token named there that is in the vocabulary is matched as a whole token in text.
// - Not read: tokenizer_config.json `add_bos_token` / `add_eos_token` (which transformers uses
//   to rebuild some tokenizers' templates) and chat templates. `encode(text, {
//   addSpecialTokens: true })` runs tokenizer.json's own post_processor only.

import { isObject, parseJson, type JsonObject } from "./json.js";
import { gpt2Tokenizer, isGpt2Compatible, parseMergesTxt, parseVocabJson, toGpt2Files } from "./gpt2.js";
import { parseTokenizerJson, readAddedToken, serializeTokenizerJson, type AddedTokenJson } from "./tokenizer-json.js";
import { BpeTokenizer, type SpecialTokenRoles } from "./tokenizer.js";
import type { Tokenizer } from "./types.js";
import { TokenizerError } from "./error.js";
import { readText, type ModelFolder } from "../folder.js";
import { FileFormatError, quote } from "@gim/tensor";

/** The texts of the tokenizer files of a checkpoint folder, by file name. */
export interface TokenizerFiles {
  /** Hugging Face tokenizers file. */
  "tokenizer.json"?: string | undefined;
  /** GPT-2 vocabulary. */
  "vocab.json"?: string | undefined;
  /** GPT-2 merges. */
  "merges.txt"?: string | undefined;
  /** transformers tokenizer settings (special tokens, added tokens). */
  "tokenizer_config.json"?: string | undefined;
  /** transformers special tokens by role. */
  "special_tokens_map.json"?: string | undefined;
  /** Model config (bos_token_id, eos_token_id, pad_token_id). */
  "config.json"?: string | undefined;
}

/** The file names `loadTokenizer` reads. */
export const TOKENIZER_FILE_NAMES = [
  "tokenizer.json",
  "vocab.json",
  "merges.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "config.json",
] as const;

const ROLES = ["bos", "eos", "pad", "unk"] as const;

function readJsonFile(files: TokenizerFiles, name: keyof TokenizerFiles, folder: string): JsonObject | undefined {
  const text = files[name];
  if (text === undefined) return undefined;
  const source = `${folder}/${name}`;
  const value = parseJson(text, source);
  if (!isObject(value)) throw new TokenizerError(source, `expected a JSON object`);
  return value;
}

// A role's token from tokenizer_config.json / special_tokens_map.json: a string, an
// {"content": ...} object, null (none) or undefined (not said).
function tokenName(obj: JsonObject | undefined, key: string, source: string): string | null | undefined {
  if (obj === undefined || !(key in obj)) return undefined;
  const value = obj[key];
  if (value === null || typeof value === "string") return value;
  if (isObject(value) && typeof value["content"] === "string") return value["content"];
  throw new TokenizerError(source, `${key} must be a string, an object with "content", or null`);
}

function configId(config: JsonObject | undefined, key: string, source: string): number | null | undefined {
  if (config === undefined || !(key in config)) return undefined;
  const value = Array.isArray(config[key]) ? (config[key] as unknown[])[0] : config[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new TokenizerError(source, `${key} must be a non-negative integer (or a list of them), got ${quote(config[key])}`);
  return value;
}

/**
 * A tokenizer from the texts of a checkpoint's tokenizer files (see the rules at the top of
 * this file). `folder` names the folder in error messages.
 */
export function tokenizerFromFiles(files: TokenizerFiles, folder = "tokenizer folder"): BpeTokenizer {
  const tokenizerConfig = readJsonFile(files, "tokenizer_config.json", folder);
  const specialTokensMap = readJsonFile(files, "special_tokens_map.json", folder);
  const config = readJsonFile(files, "config.json", folder);

  const roles: SpecialTokenRoles = {};
  for (const role of ROLES) {
    const fromConfig = tokenName(tokenizerConfig, `${role}_token`, `${folder}/tokenizer_config.json`);
    const fromMap = tokenName(specialTokensMap, `${role}_token`, `${folder}/special_tokens_map.json`);
    roles[role] = fromConfig !== undefined ? fromConfig : fromMap !== undefined ? fromMap : configId(config, `${role}_token_id`, `${folder}/config.json`);
  }

  const configAdded: AddedTokenJson[] = [];
  const decoderEntries = tokenizerConfig?.["added_tokens_decoder"];
  if (isObject(decoderEntries)) {
    for (const [id, entry] of Object.entries(decoderEntries)) {
      const source = `${folder}/tokenizer_config.json`;
      if (!/^\d+$/.test(id)) throw new TokenizerError(source, `added_tokens_decoder key ${quote(id)} is not an id`);
      configAdded.push(readAddedToken(entry, source, `added_tokens_decoder[${id}]`, Number(id)));
    }
  }

  let tokenizer: BpeTokenizer;
  if (files["tokenizer.json"] !== undefined) {
    const source = `${folder}/tokenizer.json`;
    const json = parseTokenizerJson(files["tokenizer.json"], source);
    const known = new Set(json.addedTokens.map((t) => t.id));
    json.addedTokens.push(...configAdded.filter((t) => !known.has(t.id)));
    addNamedSpecialTokens(json.addedTokens, json.model.vocab, roles);
    tokenizer = new BpeTokenizer(json, { source, specialTokens: roles });
  } else if (files["vocab.json"] !== undefined && files["merges.txt"] !== undefined) {
    const vocab = parseVocabJson(files["vocab.json"], `${folder}/vocab.json`);
    const merges = parseMergesTxt(files["merges.txt"], `${folder}/merges.txt`);
    addNamedSpecialTokens(configAdded, vocab, roles);
    tokenizer = gpt2Tokenizer(vocab, merges, { source: `${folder}/vocab.json + merges.txt`, addedTokens: configAdded, specialTokens: roles });
  } else {
    const has = (name: keyof TokenizerFiles) => files[name] !== undefined;
    const detail = has("vocab.json") ? " (vocab.json without merges.txt)" : has("merges.txt") ? " (merges.txt without vocab.json)" : "";
    throw new TokenizerError(folder, `no tokenizer files: expected tokenizer.json, or vocab.json + merges.txt${detail}`);
  }
  return tokenizer;
}

// A special token named by role that is in the vocabulary but not an added token becomes a
// special added token, so it is matched whole in text (as transformers does).
function addNamedSpecialTokens(added: AddedTokenJson[], vocab: ReadonlyMap<string, number>, roles: SpecialTokenRoles): void {
  for (const role of ROLES) {
    const name = roles[role];
    if (typeof name !== "string" || added.some((t) => t.content === name)) continue;
    const id = vocab.get(name);
    if (id === undefined) continue; // the tokenizer reports it as missing
    added.push({ id, content: name, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  added.sort((a, b) => a.id - b.id);
}

/**
 * The largest tokenizer file read, in bytes. Real ones are at most tens of MB (Llama 3's
 * tokenizer.json: 9 MB, Gemma 3's: 33 MB); parsing a file of this size costs up to about
 * 700 MB of memory.
 */
export const MAX_TOKENIZER_FILE_BYTES = 40_000_000;

/**
 * The tokenizer of a model folder (on disk via `loadTokenizer` in `@gim/transformer/node`, or
 * in memory via `memoryFolder`): tokenizer.json if present, else vocab.json + merges.txt, with
 * special tokens from tokenizer_config.json, special_tokens_map.json and config.json (see
 * {@link tokenizerFromFiles}).
 */
export function tokenizerFromFolder(folder: ModelFolder): BpeTokenizer {
  const files: TokenizerFiles = {};
  for (const name of TOKENIZER_FILE_NAMES) {
    if (!folder.has(name)) continue;
    try {
      files[name] = readText(folder, name, MAX_TOKENIZER_FILE_BYTES);
    } catch (error) {
      throw error instanceof FileFormatError && !(error instanceof TokenizerError) ? new TokenizerError(error.file, error.problem) : error;
    }
  }
  return tokenizerFromFiles(files, folder.name);
}

/** Whether a folder has tokenizer files (tokenizer.json, or vocab.json + merges.txt). */
export function hasTokenizerFiles(folder: ModelFolder): boolean {
  return folder.has("tokenizer.json") || (folder.has("vocab.json") && folder.has("merges.txt"));
}

/** The tokenizer as a BpeTokenizer (the only kind the writers can serialize), or an error naming `caller`. */
export function asBpeTokenizer(tokenizer: Tokenizer, caller: string): BpeTokenizer {
  if (!(tokenizer instanceof BpeTokenizer)) throw new TokenizerError(caller, `expected a BpeTokenizer (from loadTokenizer, loadGpt2Tokenizer or trainByteLevelBpe)`);
  return tokenizer;
}

/** tokenizer.json text (Hugging Face tokenizers format) for `tokenizer`. */
export function toTokenizerJson(tokenizer: Tokenizer): string {
  return serializeTokenizerJson(asBpeTokenizer(tokenizer, "toTokenizerJson").json);
}

/**
 * tokenizer_config.json and special_tokens_map.json contents for `tokenizer`, as
 * transformers expects them next to tokenizer.json (with `clean_up_tokenization_spaces`
 * false so transformers decodes exactly as we do).
 */
export function tokenizerConfigFiles(tokenizer: Tokenizer): { tokenizerConfig: JsonObject; specialTokensMap: JsonObject } {
  const bpe = asBpeTokenizer(tokenizer, "tokenizerConfigFiles");
  const name = (id: number | undefined) => (id === undefined ? null : bpe.idToToken(id)!);
  const roles = { bos_token: name(bpe.bosTokenId), eos_token: name(bpe.eosTokenId), pad_token: name(bpe.padTokenId), unk_token: name(bpe.unkTokenId) };
  const addedTokensDecoder: JsonObject = {};
  for (const t of bpe.json.addedTokens) {
    addedTokensDecoder[String(t.id)] = { content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special };
  }
  const specialTokensMap: JsonObject = {};
  for (const [key, value] of Object.entries(roles)) if (value !== null) specialTokensMap[key] = value;
  return {
    tokenizerConfig: {
      tokenizer_class: isGpt2Compatible(bpe.json) ? "GPT2Tokenizer" : "PreTrainedTokenizerFast",
      ...roles,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      added_tokens_decoder: addedTokensDecoder,
    },
    specialTokensMap,
  };
}

/**
 * Every file a Hugging Face model folder needs for `tokenizer`, by name: tokenizer.json,
 * tokenizer_config.json, special_tokens_map.json, and for GPT-2 style byte-level BPEs also
 * vocab.json + merges.txt. `tokenizerFromFiles` and transformers' `AutoTokenizer` read them back.
 */
export function tokenizerFolderFiles(tokenizer: Tokenizer): Record<string, string> {
  const bpe = asBpeTokenizer(tokenizer, "tokenizerFolderFiles");
  const { tokenizerConfig, specialTokensMap } = tokenizerConfigFiles(bpe);
  const files: Record<string, string> = { "tokenizer.json": toTokenizerJson(bpe) };
  if (isGpt2Compatible(bpe.json)) {
    const { vocabJson, mergesTxt } = toGpt2Files(bpe);
    files["vocab.json"] = vocabJson;
    files["merges.txt"] = mergesTxt;
  }
  files["tokenizer_config.json"] = `${JSON.stringify(tokenizerConfig, null, 2)}\n`;
  files["special_tokens_map.json"] = `${JSON.stringify(specialTokensMap, null, 2)}\n`;
  return files;
}
