/**
 * An induction (copy) task: a random sequence of symbols in which the last token occurred
 * exactly once before; the next token is the one that followed that earlier occurrence.
 *
 *   " q W e R t Y u I o P" ... " e R"   ->   " t"  (the tail " e R" repeats the segment at positions 2-3)
 *
 * The mechanism is known (Olsson et al., 2022): a previous-token head writes "the token before
 * me" into each position, and an induction head at the last position attends to the position
 * after the earlier occurrence of the current token and copies it. The evidence tokens are the
 * earlier occurrence (position s) and the token after it (position s + 1).
 *
 * With `occurrences: 2` the segment and its answer occur twice before the tail
 * (" q W e R t Y e R t u I" ... " e R" -> " t"): the induction head then has two keys that carry
 * the answer, and either alone suffices, the redundancy within one attention row that
 * self-repair (and TSG) is about.
 */
import { Rng, InputError } from "@gim/tensor";
import { singleTokenId, type TaskTokenizer } from "./ioi.js";

/** The symbols: 30 letters, each a single token with a leading space in the shipped tokenizer. */
export const INDUCTION_SYMBOLS: readonly string[] = [..."abcdefghijklmnopqrstuvwxyzABCD"];

/** Options of {@link inductionSequences}. */
export interface InductionOptions {
  /** Tokens per sequence (default 24). At most the number of symbols plus the repeat. */
  length?: number;
  /** The tail repeats 1 to `maxRepeat` tokens of the earlier segment (default 3). */
  maxRepeat?: number;
  /**
   * How often the segment, with the answer after it, occurs before the tail (default 1; at
   * most {@link MAX_OCCURRENCES}). The copies follow the first occurrence at random places
   * among the other symbols, which stay distinct.
   */
  occurrences?: number;
}

/** The largest {@link InductionOptions.occurrences}. */
export const MAX_OCCURRENCES = 3;

/** A sequence of symbols, before tokenization. */
export interface InductionSequence {
  /** The symbols, in order. */
  readonly symbols: readonly string[];
  /** The answer: the symbol after the earlier occurrence of the last one. */
  readonly answer: string;
  /** Position of the (first) earlier occurrence of the last symbol. */
  readonly s: number;
  /** Positions of every earlier occurrence of the last symbol, ascending (`[s]` unless `occurrences` > 1); each is followed by the answer. */
  readonly earlier: readonly number[];
  /** How many tokens at the end repeat the segment ending at `s` (the last of them is the query). */
  readonly repeat: number;
  /** A symbol that occurs nowhere in the sequence, used by the corruptions. */
  readonly unused: string;
}

/** The text of a symbol sequence: each symbol after a space (" a b c"). */
export function inductionText(symbols: readonly string[]): string {
  return symbols.map((s) => ` ${s}`).join("");
}

/**
 * `count` seeded sequences. Each has `length - repeat` distinct random symbols, followed by a
 * copy of `repeat` consecutive ones among them (the segment ending at `s`, with `s + 1` still
 * in the first part), so the last symbol occurred exactly once before, at `s`. With
 * `occurrences` k > 1, k - 1 more copies of the segment and its answer stand among the symbols
 * after the first one, so the last symbol occurred k times before, each time followed by the answer.
 */
export function inductionSequences(count: number, seed: number, options: InductionOptions = {}): InductionSequence[] {
  const length = options.length ?? 24;
  const maxRepeat = options.maxRepeat ?? 3;
  const occurrences = options.occurrences ?? 1;
  if (!Number.isInteger(count) || count < 0) throw new InputError(`the number of induction sequences must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(maxRepeat) || maxRepeat < 1) throw new InputError(`maxRepeat must be a positive integer, got ${maxRepeat}`);
  if (!Number.isInteger(occurrences) || occurrences < 1 || occurrences > MAX_OCCURRENCES) throw new InputError(`occurrences must be an integer from 1 to ${MAX_OCCURRENCES}, got ${occurrences}`);
  // The shortest sequence: the segment and its answer `occurrences` times, one more symbol, the tail.
  const shortest = occurrences * (maxRepeat + 1) + 1 + maxRepeat;
  if (!Number.isInteger(length) || length < shortest || length - 1 >= INDUCTION_SYMBOLS.length) {
    throw new InputError(`induction sequence length must be an integer from ${shortest} to ${INDUCTION_SYMBOLS.length}${occurrences > 1 ? ` with ${occurrences} occurrences` : ""}, got ${length}`);
  }
  const rng = new Rng(seed);
  const out: InductionSequence[] = [];
  for (let n = 0; n < count; n++) {
    if (occurrences > 1) {
      out.push(repeatedSequence(rng, length, maxRepeat, occurrences));
      continue;
    }
    const repeat = 1 + rng.int(maxRepeat);
    const first = length - repeat; // distinct symbols before the repeated tail
    const shuffled = rng.shuffle([...INDUCTION_SYMBOLS]);
    const symbols = shuffled.slice(0, first);
    // The segment is symbols[s - repeat + 1 .. s]; the answer symbols[s + 1] lies in the first part.
    const s = repeat - 1 + rng.int(first - repeat);
    for (let j = s - repeat + 1; j <= s; j++) symbols.push(symbols[j]!);
    out.push({ symbols, answer: symbols[s + 1]!, s, earlier: [s], repeat, unused: shuffled[first]! });
  }
  return out;
}

/** One sequence whose segment (with its answer) occurs `occurrences` > 1 times before the tail. */
function repeatedSequence(rng: Rng, length: number, maxRepeat: number, occurrences: number): InductionSequence {
  const repeat = 1 + rng.int(maxRepeat);
  const copies = occurrences - 1;
  const distinct = length - repeat - copies * (repeat + 1); // symbols that occur once before the tail
  const shuffled = rng.shuffle([...INDUCTION_SYMBOLS]);
  const base = shuffled.slice(0, distinct);
  // The first occurrence: base[start .. start + repeat - 1], then its answer base[start + repeat].
  const start = rng.int(distinct - repeat);
  const segment = base.slice(start, start + repeat + 1);
  const rest = base.slice(start + repeat + 1);
  // Each copy goes before one of the remaining symbols or after all of them (places may coincide).
  const places = Array.from({ length: copies }, () => rng.int(rest.length + 1)).sort((a, b) => a - b);
  const symbols = base.slice(0, start + repeat + 1);
  let c = 0;
  for (let i = 0; i <= rest.length; i++) {
    while (c < copies && places[c] === i) {
      symbols.push(...segment);
      c++;
    }
    if (i < rest.length) symbols.push(rest[i]!);
  }
  const query = segment[repeat - 1]!;
  const earlier = symbols.flatMap((x, i) => (x === query ? [i] : []));
  symbols.push(...segment.slice(0, repeat));
  return { symbols, answer: segment[repeat]!, s: earlier[0]!, earlier, repeat, unused: shuffled[distinct]! };
}

/** A sequence variant used as the corrupted run of activation or attribution patching. */
export interface InductionVariant {
  readonly ids: readonly number[];
  /** The answer the variant's context supports, or null when the last token has no earlier occurrence. */
  readonly target: number | null;
}

/** A tokenized induction example with its evidence positions and corrupted counterparts. */
export interface InductionExample {
  readonly sequence: InductionSequence;
  readonly text: string;
  readonly ids: readonly number[];
  /** Token id of the answer. */
  readonly target: number;
  readonly positions: {
    /** The (first) earlier occurrence of the last token. */
    readonly s: number;
    /** The token after it: the answer's evidence. */
    readonly next: number;
    /** Every earlier occurrence of the last token (ascending) and the token after each: all the evidence. */
    readonly earlier: readonly { readonly s: number; readonly next: number }[];
    /** The last position, where the answer is predicted. */
    readonly end: number;
  };
  /**
   * The corrupted run: the token at `s + 1` (at every earlier occurrence) replaced by a symbol
   * that occurs nowhere else, so the context no longer supports the clean answer (it supports
   * the replacement). Same length.
   */
  readonly corrupted: InductionVariant;
  /** The repeat broken: every earlier occurrence replaced by an unused symbol, so no answer is supported. */
  readonly broken: InductionVariant;
}

/** Tokenizes a sequence; throws if a symbol is not one token. */
export function toInductionExample(sequence: InductionSequence, tokenizer: TaskTokenizer): InductionExample {
  const ids = sequence.symbols.map((s) => singleTokenId(tokenizer, s));
  const text = inductionText(sequence.symbols);
  const encoded = tokenizer.encode(text);
  if (encoded.length !== ids.length || encoded.some((id, i) => id !== ids[i])) {
    throw new Error(`induction sequence ${JSON.stringify(text)} does not encode symbol by symbol`);
  }
  const unused = singleTokenId(tokenizer, sequence.unused);
  const replace = (at: readonly number[]) => ids.map((id, i) => (at.includes(i) ? unused : id));
  const nexts = sequence.earlier.map((s) => s + 1);
  return {
    sequence,
    text,
    ids,
    target: singleTokenId(tokenizer, sequence.answer),
    positions: { s: sequence.s, next: sequence.s + 1, earlier: sequence.earlier.map((s) => ({ s, next: s + 1 })), end: ids.length - 1 },
    corrupted: { ids: replace(nexts), target: unused },
    broken: { ids: replace(sequence.earlier), target: null },
  };
}

/** `count` tokenized examples (see {@link inductionSequences} and {@link toInductionExample}). */
export function inductionExamples(count: number, seed: number, tokenizer: TaskTokenizer, options: InductionOptions = {}): InductionExample[] {
  return inductionSequences(count, seed, options).map((s) => toInductionExample(s, tokenizer));
}

/** Texts a tokenizer for this task is trained on: every symbol with a leading space, several times. */
export function inductionTokenizerCorpus(): string[] {
  return INDUCTION_SYMBOLS.flatMap((s) => [` ${s}`, ` ${s}`, ` ${s}`]);
}

/** The seed of the fixed rule table of {@link ruleSequences}. */
const RULE_SEED = 31337;

let ruleTable: number[][] | undefined;

/**
 * The fixed second-order rule of {@link ruleSequences}: `next = table[previous][current]`, a
 * random table (seeded once) over symbol indices.
 */
export function inductionRuleTable(): readonly (readonly number[])[] {
  if (!ruleTable) {
    const rng = new Rng(RULE_SEED);
    const n = INDUCTION_SYMBOLS.length;
    ruleTable = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.int(n)));
  }
  return ruleTable;
}

/**
 * `count` seeded sequences of `length` symbols that follow a fixed second-order rule: two random
 * symbols, then each next one is `table[previous][current]` ({@link inductionRuleTable}).
 *
 * Why they exist: predicting them needs the token before the current one, so a language-model
 * loss on them gives layer 0 a direct reason to build a previous-token head. The induction head
 * needs exactly such a head to compose with; without this help a 2-layer model sat on a plateau
 * (loss near log of the context size) for thousands of steps in our trials. The rule is not
 * the induction rule: it never copies from context.
 */
export function ruleSequences(count: number, seed: number, length = 24): string[][] {
  if (!Number.isInteger(count) || count < 0) throw new InputError(`the number of rule sequences must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(length) || length < 3) throw new InputError(`rule sequence length must be an integer >= 3, got ${length}`);
  const table = inductionRuleTable();
  const n = INDUCTION_SYMBOLS.length;
  const rng = new Rng(seed);
  const out: string[][] = [];
  for (let k = 0; k < count; k++) {
    const idx = [rng.int(n), rng.int(n)];
    while (idx.length < length) idx.push(table[idx[idx.length - 2]!]![idx[idx.length - 1]!]!);
    out.push(idx.map((i) => INDUCTION_SYMBOLS[i]!));
  }
  return out;
}
