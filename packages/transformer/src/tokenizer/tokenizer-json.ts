// The Hugging Face tokenizers file format (tokenizer.json), for BPE models: reading it into a
// checked in-memory form, and writing it back out.
//
// {
//   "version": "1.0", "truncation": null, "padding": null,
//   "added_tokens": [{"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"}],
//   "normalizer": {...} | null, "pre_tokenizer": {...} | null,
//   "post_processor": {...} | null, "decoder": {...} | null,
//   "model": {"type": "BPE", "vocab": {token: id}, "merges": ["a b", ...] or [["a", "b"], ...],
//             "unk_token", "byte_fallback", "fuse_unk", "ignore_merges",
//             "continuing_subword_prefix", "end_of_word_suffix", "dropout"}
// }
//
// Pipeline components stay JSON objects here; the tokenizer builds (and so checks) them.
// Not read: `truncation` and `padding` (encode never truncates or pads) and the model's
// `dropout` (encoding is always deterministic, as with dropout null).

import { quote } from "@gim/tensor";
import {
  asArray,
  asIndex,
  asObject,
  asString,
  isObject,
  optionalBoolean,
  optionalString,
  parseJson,
  readVocab,
  tokenizerLimits,
  unsupported,
  type JsonObject,
} from "./json.js";
import { TokenizerError } from "./error.js";

/** The `model` of a BPE tokenizer.json, with merges as pairs and the vocabulary as a map. */
export interface BpeModelJson {
  /** Always "BPE". */
  type: "BPE";
  /** Token string -> id. */
  vocab: Map<string, number>;
  /** Merges in rank order. */
  merges: Array<[string, string]>;
  /** Token for characters the vocabulary cannot spell. */
  unkToken: string | undefined;
  /** Consecutive unknown characters become one unknown token. */
  fuseUnk: boolean;
  /** Characters outside the vocabulary become `<0xNN>` byte tokens. */
  byteFallback: boolean;
  /** A piece that is itself in the vocabulary is not merged (Llama 3). */
  ignoreMerges: boolean;
  /** Prefix of non-initial symbols; undefined for none. */
  continuingSubwordPrefix: string | undefined;
  /** Suffix of word-final symbols; undefined for none. */
  endOfWordSuffix: string | undefined;
}

/** One entry of `added_tokens`. */
export interface AddedTokenJson {
  /** Token id. */
  id: number;
  /** Token text. */
  content: string;
  /** Match only as a whole word. */
  single_word: boolean;
  /** Swallow whitespace on the left. */
  lstrip: boolean;
  /** Swallow whitespace on the right. */
  rstrip: boolean;
  /** Match in normalized text. */
  normalized: boolean;
  /** Special (skippable when decoding). */
  special: boolean;
}

/** A checked tokenizer.json for a BPE model. Pipeline components are kept as JSON. */
export interface TokenizerJson {
  /** Added tokens, as in the file. */
  addedTokens: AddedTokenJson[];
  /** `normalizer` component, or null. */
  normalizer: JsonObject | null;
  /** `pre_tokenizer` component, or null. */
  preTokenizer: JsonObject | null;
  /** `post_processor` component, or null. */
  postProcessor: JsonObject | null;
  /** `decoder` component, or null. */
  decoder: JsonObject | null;
  /** The BPE model. */
  model: BpeModelJson;
  /** The file it was read from (for error messages), if any. */
  source?: string;
}

function component(root: JsonObject, key: string, source: string): JsonObject | null {
  const value = root[key];
  if (value === undefined || value === null) return null;
  return asObject(value, source, key);
}

function readModel(value: unknown, source: string): BpeModelJson {
  const model = asObject(value, source, "model");
  const type = model["type"];
  // Older files leave out the type of a BPE model.
  if (type !== "BPE" && !(type === undefined && "merges" in model)) {
    throw unsupported(source, "model", typeof type === "string" ? type : String(type));
  }
  const vocab = readVocab(asObject(model["vocab"], source, "model.vocab"), source, "model.vocab");
  const mergeList = asArray(model["merges"] ?? [], source, "model.merges");
  if (mergeList.length > tokenizerLimits.merges) throw new TokenizerError(source, `model.merges has ${mergeList.length} merges; at most ${tokenizerLimits.merges}`);
  const merges = mergeList.map((merge, i): [string, string] => {
    if (typeof merge === "string") {
      const parts = merge.split(" ");
      if (parts.length !== 2) throw new TokenizerError(source, `model.merges[${i}] must be two tokens separated by one space, got ${quote(merge)}`);
      return [parts[0]!, parts[1]!];
    }
    const pair = asArray(merge, source, `model.merges[${i}]`);
    if (pair.length !== 2) throw new TokenizerError(source, `model.merges[${i}] must have two tokens, got ${pair.length}`);
    return [asString(pair[0], source, `model.merges[${i}][0]`), asString(pair[1], source, `model.merges[${i}][1]`)];
  });
  const where = "model";
  const emptyIsNone = (s: string | undefined) => (s === "" ? undefined : s);
  return {
    type: "BPE",
    vocab,
    merges,
    unkToken: optionalString(model, "unk_token", source, where),
    fuseUnk: optionalBoolean(model, "fuse_unk", false, source, where),
    byteFallback: optionalBoolean(model, "byte_fallback", false, source, where),
    ignoreMerges: optionalBoolean(model, "ignore_merges", false, source, where),
    continuingSubwordPrefix: emptyIsNone(optionalString(model, "continuing_subword_prefix", source, where)),
    endOfWordSuffix: emptyIsNone(optionalString(model, "end_of_word_suffix", source, where)),
  };
}

/** Reads one added-token description (tokenizer.json `added_tokens`, tokenizer_config.json). */
export function readAddedToken(value: unknown, source: string, where: string, id?: number): AddedTokenJson {
  const obj = asObject(value, source, where);
  const special = optionalBoolean(obj, "special", false, source, where);
  return {
    id: id ?? asIndex(obj["id"], source, `${where}.id`),
    content: asString(obj["content"], source, `${where}.content`),
    single_word: optionalBoolean(obj, "single_word", false, source, where),
    lstrip: optionalBoolean(obj, "lstrip", false, source, where),
    rstrip: optionalBoolean(obj, "rstrip", false, source, where),
    normalized: optionalBoolean(obj, "normalized", !special, source, where),
    special,
  };
}

/**
 * Reads tokenizer.json text (or its parsed value). `source` names the file in errors.
 * Throws a one-line error on malformed JSON, a model other than BPE, or bad fields.
 */
export function parseTokenizerJson(text: string | unknown, source = "tokenizer.json"): TokenizerJson {
  const root = asObject(typeof text === "string" ? parseJson(text, source) : text, source, "the file");
  if (!isObject(root["model"])) throw new TokenizerError(source, `missing "model" object`);
  const addedTokens = asArray(root["added_tokens"] ?? [], source, "added_tokens").map((entry, i) =>
    readAddedToken(entry, source, `added_tokens[${i}]`),
  );
  return {
    addedTokens,
    normalizer: component(root, "normalizer", source),
    preTokenizer: component(root, "pre_tokenizer", source),
    postProcessor: component(root, "post_processor", source),
    decoder: component(root, "decoder", source),
    model: readModel(root["model"], source),
    source,
  };
}

/**
 * tokenizer.json text for `json`, in the layout Hugging Face writes (two-space indent,
 * vocabulary in id order). Merges are written as "a b" strings, which every reader accepts,
 * unless a token contains a space; then as pairs.
 */
export function serializeTokenizerJson(json: TokenizerJson): string {
  const { model } = json;
  const pairs = model.merges.some(([a, b]) => a.includes(" ") || b.includes(" "));
  const vocabPlaceholder = "\u0000VOCAB\u0000";
  const mergesPlaceholder = "\u0000MERGES\u0000";
  const document = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: json.addedTokens,
    normalizer: json.normalizer,
    pre_tokenizer: json.preTokenizer,
    post_processor: json.postProcessor,
    decoder: json.decoder,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: model.unkToken ?? null,
      continuing_subword_prefix: model.continuingSubwordPrefix ?? null,
      end_of_word_suffix: model.endOfWordSuffix ?? null,
      fuse_unk: model.fuseUnk,
      byte_fallback: model.byteFallback,
      ignore_merges: model.ignoreMerges,
      vocab: vocabPlaceholder,
      merges: mergesPlaceholder,
    },
  };
  const indent = "    ";
  const vocab = [...model.vocab].sort((a, b) => a[1] - b[1]).map(([token, id]) => `${indent}  ${JSON.stringify(token)}: ${id}`);
  const merges = model.merges.map(([a, b]) => `${indent}  ${JSON.stringify(pairs ? [a, b] : `${a} ${b}`)}`);
  const block = (lines: string[], open: string, close: string) =>
    lines.length === 0 ? `${open}${close}` : `${open}\n${lines.join(",\n")}\n${indent}${close}`;
  return (
    JSON.stringify(document, null, 2)
      .replace(JSON.stringify(vocabPlaceholder), () => block(vocab, "{", "}"))
      .replace(JSON.stringify(mergesPlaceholder), () => block(merges, "[", "]")) + "\n"
  );
}
