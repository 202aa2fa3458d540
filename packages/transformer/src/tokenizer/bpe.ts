// The BPE model: turns one pre-tokenized piece ("word") into token ids.
//
// Start from one symbol per character (with byte fallback or an unknown token for characters
// not in the vocabulary), then repeatedly apply the merge with the lowest rank among the
// adjacent pairs, leftmost first, until no adjacent pair has a merge. This is GPT-2's
// algorithm; we keep the candidate pairs in a min-heap keyed by (rank, position) over a linked
// list of symbols, so a long piece costs O(n log n) rather than O(n^2) (a Llama 2 style
// tokenizer has no pre-tokenizer, so the whole text is one piece).

import { byteFallbackToken, utf8Encode } from "./bytes.js";
import { Heap } from "./heap.js";
import { TokenizerError } from "./error.js";
import { InputError, quote } from "@gim/tensor";

/** Settings of a BPE model, as in the `model` object of tokenizer.json. */
export interface BpeModelOptions {
  /** Token string -> id. */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order (rank 0 first): the two token strings that merge. */
  merges: ReadonlyArray<readonly [string, string]>;
  /** Token used for characters not in the vocabulary (when byte fallback does not apply). */
  unkToken?: string | undefined;
  /** Fuse consecutive unknown characters into one unknown token. */
  fuseUnk?: boolean | undefined;
  /** Spell characters not in the vocabulary as `<0xNN>` byte tokens (SentencePiece / Llama 2). */
  byteFallback?: boolean | undefined;
  /** Look a whole piece up in the vocabulary before merging (Llama 3). */
  ignoreMerges?: boolean | undefined;
  /** Prefix of every symbol that does not start a word (e.g. `"##"`); empty means none. */
  continuingSubwordPrefix?: string | undefined;
  /** Suffix of the last symbol of a word (e.g. `"</w>"`); empty means none. */
  endOfWordSuffix?: string | undefined;
  /** Names the file in error messages. */
  source: string;
}

// Pairs of ids packed into one number: left * 2^24 + right (ids stay below 2^24).
const PAIR_SHIFT = 2 ** 24;
// Heap keys: rank * 2^24 + position.
const POSITION_LIMIT = 2 ** 24;
const CACHE_LIMIT = 50_000;
const CACHEABLE_LENGTH = 256;

/** A byte-pair-encoding model over a fixed vocabulary and merge list. */
export class BpeModel {
  /** Token string -> id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Merges in rank order. */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  /** The options the model was built from. */
  readonly options: Readonly<BpeModelOptions>;
  private readonly idToTokenMap = new Map<number, string>();
  private readonly mergeRank = new Map<number, number>();
  private readonly mergeResult: Int32Array;
  private readonly unkId: number | undefined;
  private readonly cache = new Map<string, number[]>();
  private readonly sizeOfIds: number;

  constructor(options: BpeModelOptions) {
    const { vocab, merges, source } = options;
    this.options = options;
    this.vocab = vocab;
    this.merges = merges;
    for (const [token, id] of vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= PAIR_SHIFT) {
        throw new TokenizerError(source, `token ${quote(token)} has id ${id}, expected an integer in [0, ${PAIR_SHIFT})`);
      }
      const other = this.idToTokenMap.get(id);
      if (other !== undefined) {
        throw new TokenizerError(source, `tokens ${quote(other)} and ${quote(token)} both have id ${id}`);
      }
      this.idToTokenMap.set(id, token);
    }
    let largestId = -1;
    for (const id of this.idToTokenMap.keys()) largestId = Math.max(largestId, id);
    this.sizeOfIds = largestId + 1;
    const prefixLength = options.continuingSubwordPrefix ? options.continuingSubwordPrefix.length : 0;
    this.mergeResult = new Int32Array(merges.length);
    merges.forEach(([left, right], rank) => {
      const leftId = vocab.get(left);
      const rightId = vocab.get(right);
      // With a continuing-subword prefix, "a" + "##b" makes "ab" (the right side loses it).
      const merged = left + right.slice(prefixLength);
      const mergedId = vocab.get(merged);
      const missing = leftId === undefined ? left : rightId === undefined ? right : mergedId === undefined ? merged : undefined;
      if (missing !== undefined) {
        throw new TokenizerError(source, `merge ${rank} (${quote(left)} ${quote(right)}) uses ${quote(missing)}, which is not in the vocabulary`);
      }
      // A repeated pair keeps its last rank, as in GPT-2's encoder and Hugging Face tokenizers.
      this.mergeRank.set(leftId! * PAIR_SHIFT + rightId!, rank);
      this.mergeResult[rank] = mergedId!;
    });
    if (options.unkToken !== undefined) {
      this.unkId = vocab.get(options.unkToken);
      if (this.unkId === undefined) {
        throw new TokenizerError(source, `unk_token ${quote(options.unkToken)} is not in the vocabulary`);
      }
    }
  }

  /** Number of ids: one more than the largest id in the vocabulary. */
  get size(): number {
    return this.sizeOfIds;
  }

  /** The token string of `id`, or undefined. */
  idToToken(id: number): string | undefined {
    return this.idToTokenMap.get(id);
  }

  /** The id of `token`, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /**
   * Token ids of one pre-tokenized piece. Results are cached per piece, so the returned array
   * may be shared: copy it before changing it.
   */
  tokenize(word: string): readonly number[] {
    if (word.length === 0) return [];
    if (this.options.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return [whole];
    }
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const ids = this.mergeWord(this.initialSymbols(word));
    if (word.length <= CACHEABLE_LENGTH) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  private initialSymbols(word: string): number[] {
    const { continuingSubwordPrefix: prefix, endOfWordSuffix: suffix, byteFallback, fuseUnk, source } = this.options;
    const chars = [...word];
    const symbols: number[] = [];
    let pendingUnk = false; // the last symbol is an unknown token that may absorb the next one
    chars.forEach((char, index) => {
      let symbol = char;
      if (index > 0 && prefix) symbol = prefix + symbol;
      if (index === chars.length - 1 && suffix) symbol += suffix;
      const id = this.vocab.get(symbol);
      if (id !== undefined) {
        symbols.push(id);
        pendingUnk = false;
        return;
      }
      if (byteFallback) {
        const byteIds = [...utf8Encode(symbol)].map((byte) => this.vocab.get(byteFallbackToken(byte)));
        if (byteIds.every((byteId) => byteId !== undefined)) {
          symbols.push(...(byteIds as number[]));
          pendingUnk = false;
          return;
        }
      }
      if (this.unkId === undefined) {
        const code = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        throw new InputError(
          `${source}: character ${quote(char)} (U+${code}) is not in the vocabulary and the model has neither byte_fallback nor unk_token`,
        );
      }
      if (!(pendingUnk && fuseUnk)) symbols.push(this.unkId);
      pendingUnk = true;
    });
    return symbols;
  }

  // Applies merges lowest rank first (leftmost among equal ranks) until none applies.
  private mergeWord(symbols: number[]): number[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    if (n >= POSITION_LIMIT) {
      throw new TokenizerError(this.options.source, `a pre-tokenized piece of ${n} symbols is too long for BPE (limit ${POSITION_LIMIT})`);
    }
    const ids = Int32Array.from(symbols);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new Heap<number>((a, b) => a < b); // lowest key (rank, then position) first
    const pushPair = (position: number) => {
      const right = next[position]!;
      if (right < 0) return;
      const rank = this.mergeRank.get(ids[position]! * PAIR_SHIFT + ids[right]!);
      if (rank !== undefined) heap.push(rank * POSITION_LIMIT + position);
    };
    for (let i = 0; i + 1 < n; i++) pushPair(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const position = key % POSITION_LIMIT;
      const rank = (key - position) / POSITION_LIMIT;
      if (!alive[position]) continue;
      const right = next[position]!;
      if (right < 0) continue;
      // Skip entries made stale by an earlier merge next to this position.
      if (this.mergeRank.get(ids[position]! * PAIR_SHIFT + ids[right]!) !== rank) continue;
      ids[position] = this.mergeResult[rank]!;
      alive[right] = 0;
      const after = next[right]!;
      next[position] = after;
      if (after >= 0) prev[after] = position;
      if (prev[position]! >= 0) pushPair(prev[position]!);
      pushPair(position);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(ids[i]!);
    return out;
  }
}
