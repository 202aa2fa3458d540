/**
 * Task tokenizers: GPT-2 style byte-level BPE trained (with `@gim/transformer`'s trainer) on a
 * small corpus in which every name, place, object, template word and symbol occurs several
 * times, so that each ends as one token. Any other text still encodes, byte by byte.
 */
import { trainByteLevelBpe, type BpeTokenizer } from "@gim/transformer";
import { inductionTokenizerCorpus, INDUCTION_SYMBOLS } from "./tasks/induction.js";
import { IOI_NAMES, IOI_OBJECTS, IOI_PLACES, ioiTokenizerCorpus, singleTokenId } from "./tasks/ioi.js";

/** The end-of-text token; also used as padding. */
export const END_OF_TEXT = "<|endoftext|>";

// Large enough that training stops because no pair is left, not because the vocabulary is full.
const VOCAB_LIMIT = 4096;

function train(corpus: string[], words: readonly string[], task: string): BpeTokenizer {
  const tokenizer = trainByteLevelBpe(corpus, { vocabSize: VOCAB_LIMIT, specialTokens: [END_OF_TEXT], padToken: END_OF_TEXT });
  for (const word of words) singleTokenId(tokenizer, word); // throws naming the word if it is split
  if (tokenizer.vocabSize >= VOCAB_LIMIT) throw new Error(`${task} tokenizer reached the vocabulary limit ${VOCAB_LIMIT}; raise it`);
  return tokenizer;
}

/** The tokenizer of the IOI models: every name, place and object is one token (with its leading space). */
export function ioiTokenizer(): BpeTokenizer {
  return train(ioiTokenizerCorpus(), [...IOI_NAMES, ...IOI_PLACES, ...IOI_OBJECTS], "IOI");
}

/** The tokenizer of the induction model: every symbol is one token (with its leading space). */
export function inductionTokenizer(): BpeTokenizer {
  return train(inductionTokenizerCorpus(), INDUCTION_SYMBOLS, "induction");
}
