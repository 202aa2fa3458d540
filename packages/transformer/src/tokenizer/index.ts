// Tokenizers: GPT-2 byte-level BPE (vocab.json + merges.txt), Hugging Face tokenizer.json BPE
// (GPT-2, Llama 3, Qwen2, Llama 2 layouts), a byte-level BPE trainer, and writers for model
// folders. No dependencies and no Node APIs: reading and writing folders on disk is in
// `@gim/transformer/node`.
export type { Tokenizer, EncodeOptions, DecodeOptions } from "./types.js";
export type { AddedToken } from "./added-tokens.js";
export { TokenizerError } from "./error.js";
export { BpeTokenizer, type BpeTokenizerOptions, type SpecialTokenRoles } from "./tokenizer.js";
export { BpeModel, type BpeModelOptions } from "./bpe.js";
export { parseTokenizerJson, serializeTokenizerJson, type TokenizerJson, type BpeModelJson, type AddedTokenJson } from "./tokenizer-json.js";
export {
  GPT2_END_OF_TEXT,
  loadGpt2Tokenizer,
  gpt2Tokenizer,
  parseVocabJson,
  parseMergesTxt,
  toGpt2Files,
  isGpt2Compatible,
  type Gpt2TokenizerOptions,
} from "./gpt2.js";
export {
  tokenizerFromFiles,
  tokenizerFromFolder,
  hasTokenizerFiles,
  toTokenizerJson,
  tokenizerConfigFiles,
  tokenizerFolderFiles,
  TOKENIZER_FILE_NAMES,
  type TokenizerFiles,
} from "./files.js";
export { trainByteLevelBpe, type TrainBpeOptions } from "./train.js";
export type { JsonObject } from "./json.js";
export { BYTE_TO_CHAR, CHAR_TO_BYTE, toByteLevel, fromByteLevel, toWellFormed } from "./bytes.js";
export { translateRegex, MAX_PATTERN_LENGTH, GPT2_SPLIT_PATTERN, LLAMA3_SPLIT_PATTERN, QWEN2_SPLIT_PATTERN } from "./regex.js";
