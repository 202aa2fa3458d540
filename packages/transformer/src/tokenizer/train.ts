// Training a GPT-2 style byte-level BPE on a list of texts.
//
// 1. Cut special tokens out of each text, split the rest with GPT-2's regex, and count the
//    byte-level words.
// 2. Start from the 256 byte tokens (ids 0..255, ordered by their printable character, as in
//    GPT-2's vocab.json).
// 3. Repeatedly merge the most frequent adjacent pair (a pair occurring k times in a word
//    that occurs c times counts k*c; overlapping occurrences all count). Ties go to the pair
//    with the smaller (left id, right id). A merge whose string already exists reuses that
//    id. Stop at `vocabSize` tokens, when no pair is left, or when the best pair occurs fewer
//    than `minFrequency` times.
// 4. Special tokens take the ids after the merges.
//
// Pair counts are updated only for the words that contain the merged pair, and a lazy
// max-heap finds the best pair, so training costs about O(merges * affected words).

import { AddedTokenMatcher } from "./added-tokens.js";
import { BYTE_TO_CHAR, toByteLevel } from "./bytes.js";
import { GPT2_END_OF_TEXT, gpt2TokenizerJson } from "./gpt2.js";
import { Heap } from "./heap.js";
import { gpt2SplitRegex } from "./pre-tokenizers.js";
import { findMatches } from "./regex.js";
import type { AddedTokenJson } from "./tokenizer-json.js";
import { BpeTokenizer } from "./tokenizer.js";
import { InputError } from "@gim/tensor";

/** Options of {@link trainByteLevelBpe}. */
export interface TrainBpeOptions {
  /** Target number of tokens, counting the 256 byte tokens and the special tokens. */
  vocabSize: number;
  /** Special tokens, given the last ids, in this order. Default none. */
  specialTokens?: string[];
  /** Stop when the best pair occurs fewer times than this. Default 2. */
  minFrequency?: number;
  /** BOS token (one of `specialTokens`). Default "<|endoftext|>" if it is one of them. */
  bosToken?: string;
  /** EOS token (one of `specialTokens`). Default "<|endoftext|>" if it is one of them. */
  eosToken?: string;
  /** Padding token (one of `specialTokens`). Default none. */
  padToken?: string;
}

const PAIR_SHIFT = 2 ** 24;

interface Word {
  symbols: number[];
  count: number;
}

/** Pair heap order: higher count first, then smaller left, then smaller right symbol. */
function betterPair(a: [number, number, number], b: [number, number, number]): boolean {
  if (a[0] !== b[0]) return a[0] > b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  return a[2] < b[2];
}

/**
 * Trains a GPT-2 style byte-level BPE tokenizer on `texts` (see the steps at the top of this
 * file). The result has 256 byte tokens, the learned merges and the special tokens (which
 * are matched as whole tokens in text); it may have fewer than `vocabSize` tokens when the
 * texts run out of pairs occurring `minFrequency` times. Deterministic.
 */
export function trainByteLevelBpe(texts: readonly string[], options: TrainBpeOptions): BpeTokenizer {
  const specialTokens = options.specialTokens ?? [];
  const minFrequency = options.minFrequency ?? 2;
  const { vocabSize } = options;
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) throw new InputError("trainByteLevelBpe: texts must be an array of strings");
  if (new Set(specialTokens).size !== specialTokens.length || specialTokens.some((t) => typeof t !== "string" || t === "")) {
    throw new InputError(`trainByteLevelBpe: specialTokens must be distinct non-empty strings, got ${JSON.stringify(specialTokens)}`);
  }
  if (!Number.isInteger(vocabSize) || vocabSize < 256 + specialTokens.length || vocabSize >= PAIR_SHIFT) {
    throw new InputError(`trainByteLevelBpe: vocabSize must be an integer from ${256 + specialTokens.length} (256 bytes + special tokens) to ${PAIR_SHIFT - 1}, got ${vocabSize}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new InputError(`trainByteLevelBpe: minFrequency must be a positive integer, got ${minFrequency}`);
  for (const [role, token] of [["bosToken", options.bosToken], ["eosToken", options.eosToken], ["padToken", options.padToken]] as const) {
    if (token !== undefined && !specialTokens.includes(token)) {
      throw new InputError(`trainByteLevelBpe: ${role} ${JSON.stringify(token)} is not one of specialTokens`);
    }
  }

  // 1. Count byte-level words.
  const specialMatcher = new AddedTokenMatcher(
    specialTokens.map((text, i) => ({ text, token: { id: i, content: text, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false } })),
  );
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const segment of specialMatcher.split(text, true, true)) {
      if (segment.token) continue;
      for (const range of findMatches(segment.text, gpt2SplitRegex())) {
        const word = toByteLevel(segment.text.slice(range.start, range.end));
        wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      }
    }
  }

  // 2. Byte tokens, ordered by their character.
  const strings = [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const idOf = new Map(strings.map((s, id) => [s, id]));
  const words: Word[] = [...wordCounts].map(([word, count]) => ({ symbols: [...word].map((c) => idOf.get(c)!), count }));

  // Pair statistics.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new Heap<[number, number, number]>(betterPair); // [count, left, right]
  const changed = new Set<number>();
  const addWordPairs = (index: number, sign: 1 | -1) => {
    const { symbols, count } = words[index]!;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = symbols[i]! * PAIR_SHIFT + symbols[i + 1]!;
      const total = (pairCounts.get(key) ?? 0) + sign * count;
      if (total === 0) pairCounts.delete(key);
      else pairCounts.set(key, total);
      changed.add(key);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(index);
      }
    }
  };
  const pushChanged = () => {
    for (const key of changed) {
      const count = pairCounts.get(key);
      if (count !== undefined) heap.push([count, Math.floor(key / PAIR_SHIFT), key % PAIR_SHIFT]);
    }
    changed.clear();
  };
  words.forEach((_, index) => addWordPairs(index, 1));
  pushChanged();

  // 3. Merge.
  const merges: Array<[string, string]> = [];
  const targetSize = vocabSize - specialTokens.length;
  while (strings.length < targetSize && heap.size > 0) {
    const [count, left, right] = heap.pop();
    const key = left * PAIR_SHIFT + right;
    if (pairCounts.get(key) !== count) continue; // stale entry
    if (count < minFrequency) break;
    const merged = strings[left]! + strings[right]!;
    let mergedId = idOf.get(merged);
    if (mergedId === undefined) {
      mergedId = strings.length;
      strings.push(merged);
      idOf.set(merged, mergedId);
    }
    merges.push([strings[left]!, strings[right]!]);
    for (const index of pairWords.get(key) ?? []) {
      const word = words[index]!;
      addWordPairs(index, -1);
      const out: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (i + 1 < word.symbols.length && word.symbols[i] === left && word.symbols[i + 1] === right) {
          out.push(mergedId);
          i++;
        } else {
          out.push(word.symbols[i]!);
        }
      }
      word.symbols = out;
      addWordPairs(index, 1);
    }
    pairWords.delete(key);
    pushChanged();
  }

  // 4. Special tokens after the merges.
  const vocab = new Map(strings.map((s, id) => [s, id]));
  const addedTokens: AddedTokenJson[] = [];
  for (const content of specialTokens) {
    if (vocab.has(content)) {
      throw new InputError(`trainByteLevelBpe: special token ${JSON.stringify(content)} is also a learned token; choose another special token`);
    }
    const id = vocab.size;
    vocab.set(content, id);
    addedTokens.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  const json = gpt2TokenizerJson(vocab, merges, addedTokens);
  const endOfText = specialTokens.includes(GPT2_END_OF_TEXT) ? GPT2_END_OF_TEXT : undefined;
  return new BpeTokenizer(json, {
    source: "trained tokenizer",
    specialTokens: { bos: options.bosToken ?? endOfText, eos: options.eosToken ?? endOfText, pad: options.padToken },
  });
}
