// GPT-2's tokenizer files: vocab.json ({token: id} over byte-level strings) and merges.txt
// (one "a b" merge per line, in rank order, usually after a "#version: 0.2" line). They
// describe a byte-level BPE: no normalizer, GPT-2's regex pre-tokenizer, the ByteLevel
// decoder. "<|endoftext|>" is GPT-2's only special token (BOS, EOS and unknown at once).

import { quote } from "@gim/tensor";
import { asObject, parseJson, readVocab, tokenizerLimits } from "./json.js";
import { readAddedToken, type AddedTokenJson, type TokenizerJson } from "./tokenizer-json.js";
import { BpeTokenizer, type SpecialTokenRoles } from "./tokenizer.js";
import { TokenizerError } from "./error.js";

/** GPT-2's end-of-text token. */
export const GPT2_END_OF_TEXT = "<|endoftext|>";

/** Reads vocab.json text into token -> id. `source` names the file in errors. */
export function parseVocabJson(text: string, source = "vocab.json"): Map<string, number> {
  return readVocab(asObject(parseJson(text, source), source, "the file"), source, "the vocabulary");
}

/**
 * Reads merges.txt text into merge pairs in rank order. A first line starting with
 * "#version" is skipped, as are empty lines; every other line must be two tokens separated
 * by one space.
 */
export function parseMergesTxt(text: string, source = "merges.txt"): Array<[string, string]> {
  const lines = text.split("\n");
  const merges: Array<[string, string]> = [];
  lines.forEach((rawLine, index) => {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "" || (index === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new TokenizerError(source, `line ${index + 1} must be two tokens separated by one space, got ${quote(line)}`);
    }
    if (merges.length === tokenizerLimits.merges) throw new TokenizerError(source, `has more than ${tokenizerLimits.merges} merges`);
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
}

/** The pipeline components of a GPT-2 style byte-level BPE, as tokenizer.json objects. */
function byteLevelComponents(): Pick<TokenizerJson, "normalizer" | "preTokenizer" | "postProcessor" | "decoder"> {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    normalizer: null,
    preTokenizer: { ...byteLevel },
    postProcessor: { ...byteLevel, trim_offsets: false },
    decoder: { ...byteLevel },
  };
}

/** Options of {@link loadGpt2Tokenizer}. */
export interface Gpt2TokenizerOptions {
  /** Names the files in error messages. Default "vocab.json + merges.txt". */
  source?: string;
  /**
   * Added tokens beyond "<|endoftext|>" (e.g. from tokenizer_config.json's
   * `added_tokens_decoder`). "<|endoftext|>" is added as a special token whenever the
   * vocabulary has it.
   */
  addedTokens?: AddedTokenJson[];
  /**
   * Special tokens by role. Default: "<|endoftext|>" (if in the vocabulary) for BOS, EOS and
   * unknown, as GPT-2's tokenizer does; roles given here replace the default.
   */
  specialTokens?: SpecialTokenRoles;
}

/** The tokenizer.json description of GPT-2 files (vocabulary and merges already parsed). */
export function gpt2TokenizerJson(vocab: Map<string, number>, merges: Array<[string, string]>, addedTokens: AddedTokenJson[] = []): TokenizerJson {
  const added = [...addedTokens];
  const endOfText = vocab.get(GPT2_END_OF_TEXT);
  if (endOfText !== undefined && !added.some((t) => t.content === GPT2_END_OF_TEXT)) {
    added.push(readAddedToken({ id: endOfText, content: GPT2_END_OF_TEXT, special: true, normalized: true }, "", ""));
  }
  added.sort((a, b) => a.id - b.id);
  return {
    addedTokens: added,
    ...byteLevelComponents(),
    model: {
      type: "BPE",
      vocab,
      merges,
      unkToken: undefined,
      fuseUnk: false,
      byteFallback: false,
      ignoreMerges: false,
      continuingSubwordPrefix: undefined,
      endOfWordSuffix: undefined,
    },
  };
}

/**
 * A GPT-2 byte-level BPE tokenizer from the text of vocab.json and merges.txt. For a whole
 * checkpoint folder (with tokenizer_config.json etc.) use `loadTokenizer`.
 */
export function loadGpt2Tokenizer(vocabJsonText: string, mergesText: string, options: Gpt2TokenizerOptions = {}): BpeTokenizer {
  const vocab = parseVocabJson(vocabJsonText, options.source ?? "vocab.json");
  const merges = parseMergesTxt(mergesText, options.source ?? "merges.txt");
  return gpt2Tokenizer(vocab, merges, options);
}

/** A GPT-2 byte-level BPE tokenizer from a parsed vocabulary and merge list. */
export function gpt2Tokenizer(vocab: Map<string, number>, merges: Array<[string, string]>, options: Gpt2TokenizerOptions = {}): BpeTokenizer {
  const json = gpt2TokenizerJson(vocab, merges, options.addedTokens);
  const endOfText = vocab.has(GPT2_END_OF_TEXT) ? GPT2_END_OF_TEXT : undefined;
  const defaults: SpecialTokenRoles = { bos: endOfText, eos: endOfText, unk: endOfText };
  return new BpeTokenizer(json, {
    source: options.source ?? "vocab.json + merges.txt",
    specialTokens: { ...defaults, ...definedRoles(options.specialTokens) },
  });
}

/** `roles` without the keys whose value is undefined (so they do not replace defaults). */
function definedRoles(roles: SpecialTokenRoles | undefined): SpecialTokenRoles {
  const out: SpecialTokenRoles = {};
  for (const key of ["bos", "eos", "pad", "unk"] as const) {
    if (roles?.[key] !== undefined) out[key] = roles[key];
  }
  return out;
}

/**
 * True when `json` is a plain byte-level BPE that vocab.json + merges.txt can describe:
 * no normalizer, GPT-2's ByteLevel pre-tokenizer (regex on, no prefix space), ByteLevel
 * decoder, no byte fallback, prefixes, suffixes, unknown token or ignore_merges.
 */
export function isGpt2Compatible(json: TokenizerJson): boolean {
  const pre = json.preTokenizer;
  const m = json.model;
  return (
    json.normalizer === null &&
    pre !== null &&
    pre["type"] === "ByteLevel" &&
    pre["use_regex"] !== false &&
    pre["add_prefix_space"] === false &&
    json.decoder !== null &&
    json.decoder["type"] === "ByteLevel" &&
    !m.byteFallback &&
    !m.ignoreMerges &&
    m.unkToken === undefined &&
    m.continuingSubwordPrefix === undefined &&
    m.endOfWordSuffix === undefined
  );
}

/**
 * vocab.json and merges.txt text for a GPT-2 style byte-level tokenizer. vocab.json also
 * lists the added tokens (as GPT-2's lists "<|endoftext|>"). Throws for other tokenizers.
 */
export function toGpt2Files(tokenizer: BpeTokenizer): { vocabJson: string; mergesTxt: string } {
  const { json } = tokenizer;
  if (!isGpt2Compatible(json)) {
    throw new TokenizerError(tokenizer.source, `not a GPT-2 style byte-level BPE (ByteLevel pre-tokenizer and decoder, no normalizer), so it cannot be written as vocab.json + merges.txt; write tokenizer.json instead`);
  }
  const entries = new Map(json.model.vocab);
  for (const token of json.addedTokens) entries.set(token.content, token.id);
  const lines = [...entries].sort((a, b) => a[1] - b[1]).map(([token, id]) => `  ${JSON.stringify(token)}: ${id}`);
  const vocabJson = `{\n${lines.join(",\n")}\n}\n`;
  const mergesTxt = `#version: 0.2\n${json.model.merges.map(([a, b]) => `${a} ${b}\n`).join("")}`;
  return { vocabJson, mergesTxt };
}
