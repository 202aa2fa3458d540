// A BPE tokenizer assembled from a tokenizer.json description. GPT-2's vocab.json + merges.txt
// and our trainer's output are turned into the same description, so there is one pipeline:
//
//   encode: text -> added tokens cut out -> normalizer -> normalized added tokens cut out
//           -> pre-tokenizer pieces -> BPE ids per piece -> (post-processor if asked)
//   decode: ids -> token strings -> decoder steps -> joined text

import { quote } from "@gim/tensor";
import { AddedTokenMatcher, type AddedToken, type Segment } from "./added-tokens.js";
import { BpeModel } from "./bpe.js";
import { toWellFormed } from "./bytes.js";
import { buildDecoder, type Decoder } from "./decoders.js";
import { buildNormalizer, type Normalizer } from "./normalizers.js";
import { buildPostProcessor, type PostProcessor } from "./post-processors.js";
import { buildPreTokenizer, type PreTokenizer } from "./pre-tokenizers.js";
import type { TokenizerJson } from "./tokenizer-json.js";
import type { DecodeOptions, EncodeOptions, Tokenizer } from "./types.js";
import { TokenizerError } from "./error.js";

/**
 * Special tokens by role. A string names a token (it must be in the vocabulary or an added
 * token), a number is an id, null means "none", undefined means "not said" (the unknown token
 * then defaults to the model's `unk_token`).
 */
export interface SpecialTokenRoles {
  /** Beginning of sequence. */
  bos?: string | number | null | undefined;
  /** End of sequence. */
  eos?: string | number | null | undefined;
  /** Padding. */
  pad?: string | number | null | undefined;
  /** Unknown. */
  unk?: string | number | null | undefined;
}

/** Options for {@link BpeTokenizer}. */
export interface BpeTokenizerOptions {
  /** Names the file or folder in error messages. Default: `json.source`, else "tokenizer.json". */
  source?: string;
  /** Special tokens by role. */
  specialTokens?: SpecialTokenRoles;
}

/** A BPE tokenizer (GPT-2 byte-level, Llama 3, Qwen2, Llama 2 and similar) built from tokenizer.json. */
export class BpeTokenizer implements Tokenizer {
  /** The checked description this tokenizer was built from (used to write it back out). */
  readonly json: TokenizerJson;
  /** Names the file or folder it came from, for error messages. */
  readonly source: string;
  /** The BPE model. */
  readonly model: BpeModel;
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  readonly addedTokens: readonly AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly normalizer: Normalizer | undefined;
  private readonly preTokenizer: PreTokenizer | undefined;
  private readonly postProcessor: PostProcessor | undefined;
  private readonly decoder: Decoder | undefined;

  /** Builds the pipeline; throws a one-line error naming `options.source` on anything unsupported. */
  constructor(json: TokenizerJson, options: BpeTokenizerOptions = {}) {
    const source = options.source ?? json.source ?? "tokenizer.json";
    this.json = json;
    this.source = source;
    const m = json.model;
    this.model = new BpeModel({
      vocab: m.vocab,
      merges: m.merges,
      unkToken: m.unkToken,
      fuseUnk: m.fuseUnk,
      byteFallback: m.byteFallback,
      ignoreMerges: m.ignoreMerges,
      continuingSubwordPrefix: m.continuingSubwordPrefix,
      endOfWordSuffix: m.endOfWordSuffix,
      source,
    });
    this.normalizer = buildNormalizer(json.normalizer, source);
    this.preTokenizer = buildPreTokenizer(json.preTokenizer, source);
    this.postProcessor = buildPostProcessor(json.postProcessor, source);
    this.decoder = buildDecoder(json.decoder, source);

    const added: AddedToken[] = json.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      special: t.special,
      normalized: t.normalized,
      lstrip: t.lstrip,
      rstrip: t.rstrip,
      singleWord: t.single_word,
    }));
    for (const token of added) {
      const other = this.addedById.get(token.id);
      if (other !== undefined && other.content !== token.content) {
        throw new TokenizerError(source, `added tokens ${quote(other.content)} and ${quote(token.content)} both have id ${token.id}`);
      }
      const inVocab = this.model.tokenToId(token.content);
      if (inVocab !== undefined && inVocab !== token.id) {
        throw new TokenizerError(source, `added token ${quote(token.content)} has id ${token.id} but id ${inVocab} in the vocabulary`);
      }
      const vocabToken = this.model.idToToken(token.id);
      if (vocabToken !== undefined && vocabToken !== token.content) {
        throw new TokenizerError(source, `added token ${quote(token.content)} has id ${token.id}, which the vocabulary gives to ${quote(vocabToken)}`);
      }
      this.addedById.set(token.id, token);
      this.addedByContent.set(token.content, token);
    }
    this.addedTokens = [...this.addedById.values()].sort((a, b) => a.id - b.id);
    this.rawMatcher = new AddedTokenMatcher(this.addedTokens.filter((t) => !t.normalized).map((t) => ({ text: t.content, token: t })));
    this.normalizedMatcher = new AddedTokenMatcher(
      this.addedTokens
        .filter((t) => t.normalized)
        .map((t) => ({ text: this.normalizer ? this.normalizer(t.content) : t.content, token: t })),
    );
    let largest = this.model.size - 1;
    for (const token of this.addedTokens) largest = Math.max(largest, token.id);
    this.vocabSize = largest + 1;

    const roles = options.specialTokens ?? {};
    const resolve = (role: string, value: string | number | null | undefined): number | undefined => {
      if (value === null || value === undefined) return undefined;
      if (typeof value === "number") {
        if (!Number.isInteger(value) || value < 0 || value >= this.vocabSize) {
          throw new TokenizerError(source, `${role} token id ${value} is outside the vocabulary (size ${this.vocabSize})`);
        }
        return value;
      }
      const id = this.tokenToId(value);
      if (id === undefined) throw new TokenizerError(source, `${role} token ${quote(value)} is not in the vocabulary`);
      return id;
    };
    this.bosTokenId = resolve("bos", roles.bos);
    this.eosTokenId = resolve("eos", roles.eos);
    this.padTokenId = resolve("pad", roles.pad);
    this.unkTokenId = resolve("unk", roles.unk === undefined ? m.unkToken : roles.unk);
  }

  /**
   * Token ids of `text`. Does not add BOS/EOS unless `options.addSpecialTokens` is true (then
   * the tokenizer.json post-processor runs, e.g. Llama's template adds BOS). Lone surrogates
   * are replaced by U+FFFD first.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TokenizerError(this.source, `encode expects a string, got ${typeof text}`);
    const parseSpecial = options.parseSpecialTokens ?? true;
    const ids: number[] = [];
    const encodePlain = (segment: Segment) => {
      const pieces = this.preTokenizer ? this.preTokenizer([{ text: segment.text, atStart: segment.atStart }]) : [segment];
      for (const piece of pieces) for (const id of this.model.tokenize(piece.text)) ids.push(id);
    };
    for (const raw of this.rawMatcher.split(toWellFormed(text), true, parseSpecial)) {
      if (raw.token) {
        ids.push(raw.token.id);
        continue;
      }
      const normalized = this.normalizer ? this.normalizer(raw.text) : raw.text;
      for (const segment of this.normalizedMatcher.split(normalized, raw.atStart, parseSpecial)) {
        if (segment.token) ids.push(segment.token.id);
        else encodePlain(segment);
      }
    }
    return options.addSpecialTokens && this.postProcessor ? this.postProcessor(ids) : ids;
  }

  /** Text of `ids`; with `skipSpecialTokens`, special added tokens are left out. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const token = this.tokenOf(id, "decode");
      if (options.skipSpecialTokens && this.addedById.get(id)?.special) continue;
      tokens.push(token);
    }
    // Without a decoder, Hugging Face joins tokens with spaces.
    return this.decoder ? this.decoder(tokens, false).join("") : tokens.join(" ");
  }

  /** How token `id` reads on its own (" the" for "Ġthe" or "▁the"; `<0xNN>` for partial UTF-8). */
  decodeToken(id: number): string {
    const token = this.tokenOf(id, "decodeToken");
    if (this.addedById.has(id)) return token;
    return this.decoder ? this.decoder([token], true).join("") : token;
  }

  /** The vocabulary string of `id` (added tokens included), or undefined. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken(id);
  }

  /** The id of vocabulary string `token` (added tokens included), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.tokenToId(token);
  }

  private tokenOf(id: number, caller: string): string {
    const token = Number.isInteger(id) ? this.idToToken(id) : undefined;
    if (token === undefined) {
      throw new TokenizerError(this.source, `${caller}: id ${String(id)} is not in the vocabulary (size ${this.vocabSize})`);
    }
    return token;
  }
}
