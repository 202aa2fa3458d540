import type { AddedToken } from "./added-tokens.js";

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Run the tokenizer's post-processor, which adds the model's special tokens around the text
   * (Llama's BOS, for example). Default false: `encode` returns the ids of the text alone, so
   * prompts can be built by concatenation without a BOS in the middle. GPT-2 style tokenizers
   * add nothing either way.
   */
  addSpecialTokens?: boolean;
  /**
   * Recognise special added tokens (such as `"<|endoftext|>"`) written in the text. Default
   * true, as in Hugging Face. Pass false for untrusted text: the characters are then encoded
   * as ordinary text. Non-special added tokens are always recognised.
   */
  parseSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out special added tokens (BOS, EOS, chat markers). Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * A text tokenizer: text to token ids and back.
 *
 * Text is taken as a sequence of Unicode scalar values: a lone surrogate (a UTF-16 code unit
 * that is not half of a valid pair) is replaced by U+FFFD before encoding, as any UTF-8
 * encoder does. For a byte-level BPE, `decode(encode(s))` is `s` with lone surrogates
 * replaced by U+FFFD (except where the tokenizer's own rules drop text, e.g. an `lstrip`
 * added token swallows the whitespace before it).
 */
export interface Tokenizer {
  /** Number of ids: one more than the largest id of the vocabulary or of an added token. */
  readonly vocabSize: number;
  /** Beginning-of-sequence token id, if the tokenizer has one. */
  readonly bosTokenId: number | undefined;
  /** End-of-sequence token id, if known. */
  readonly eosTokenId: number | undefined;
  /** Padding token id, if known. */
  readonly padTokenId: number | undefined;
  /** Unknown-token id, if the tokenizer has one. */
  readonly unkTokenId: number | undefined;
  /** Tokens matched in the text before the model runs (special and not), in id order. */
  readonly addedTokens: readonly AddedToken[];
  /** Token ids of `text`. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Text of `ids`. Throws on an id that is not in the vocabulary. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /**
   * How token `id` reads on its own, for showing tokens to people: "Ġthe" shows as " the",
   * "▁the" as " the", and bytes that are not complete UTF-8 as `<0xNN>`.
   */
  decodeToken(id: number): string;
  /** The vocabulary string of `id` (e.g. "Ġthe"), or undefined. */
  idToToken(id: number): string | undefined;
  /** The id of vocabulary string `token`, or undefined. */
  tokenToId(token: string): number | undefined;
}
