// Added tokens (tokenizer.json `added_tokens`): strings such as "<|endoftext|>" that are cut out
// of the text before the normalizer and the model see it, and map straight to their id.
//
// As in Hugging Face tokenizers: tokens with `normalized: false` are found in the raw text;
// the rest of the text is normalized piece by piece, then tokens with `normalized: true` are
// found in the normalized pieces (matching their own normalized form). Matching is
// leftmost-longest: the earliest match wins, and among matches starting there the longest.
// `lstrip`/`rstrip` make a match swallow the whitespace before/after it; `single_word` only
// accepts a match with no word character right before or after it.

/** A token matched in the text before the model runs. */
export interface AddedToken {
  /** The token id. */
  readonly id: number;
  /** The exact text of the token. */
  readonly content: string;
  /** Special tokens (BOS, EOS, chat markers) can be skipped when decoding. */
  readonly special: boolean;
  /** Match in the normalized text (true) or in the raw text (false). */
  readonly normalized: boolean;
  /** Also take the whitespace just before a match. */
  readonly lstrip: boolean;
  /** Also take the whitespace just after a match. */
  readonly rstrip: boolean;
  /** Match only with no word character right before or after. */
  readonly singleWord: boolean;
}

/** A stretch of text, or an added token found in it. */
export interface Segment {
  /** The text of the stretch (for a token: what it matched, including stripped whitespace). */
  text: string;
  /** True if the stretch starts at the very beginning of the input. */
  atStart: boolean;
  /** The token, when the stretch is an added token. */
  token?: AddedToken;
}

const WORD_CHAR = /[\p{L}\p{M}\p{Nd}\p{Pc}]/u;
const WHITE_SPACE = /\p{White_Space}/u;

interface Pattern {
  text: string;
  token: AddedToken;
}

/** Finds a fixed set of added tokens in text (one pattern string per token). */
export class AddedTokenMatcher {
  // Patterns by their first UTF-16 code unit, longest first.
  private readonly byFirstUnit = new Map<string, Pattern[]>();

  /** `patterns`: the text to look for and the token it stands for. Empty patterns are ignored. */
  constructor(patterns: ReadonlyArray<{ text: string; token: AddedToken }>) {
    for (const pattern of patterns) {
      if (pattern.text.length === 0) continue;
      const first = pattern.text[0]!;
      const list = this.byFirstUnit.get(first) ?? [];
      list.push(pattern);
      this.byFirstUnit.set(first, list);
    }
    for (const list of this.byFirstUnit.values()) list.sort((a, b) => b.text.length - a.text.length);
  }

  /** True when there is nothing to match. */
  get isEmpty(): boolean {
    return this.byFirstUnit.size === 0;
  }

  /**
   * Cuts `text` into plain stretches and added tokens. `atStart` says whether `text` starts
   * the input; with `parseSpecial` false, special tokens are left in the text.
   */
  split(text: string, atStart: boolean, parseSpecial: boolean): Segment[] {
    if (this.isEmpty || text.length === 0) return text.length === 0 ? [] : [{ text, atStart }];
    const segments: Segment[] = [];
    let previousEnd = 0; // end of the last accepted match
    let i = 0;
    while (i < text.length) {
      const candidates = this.byFirstUnit.get(text[i]!);
      const pattern = candidates?.find((p) => text.startsWith(p.text, i));
      if (pattern === undefined) {
        i += 1;
        continue;
      }
      const token = pattern.token;
      let start = i;
      let end = i + pattern.text.length;
      i = end; // a rejected match is not searched again, as with an Aho-Corasick iterator
      if (token.special && !parseSpecial) continue;
      if (token.singleWord) {
        const wordBefore = start > 0 && WORD_CHAR.test(charBefore(text, start));
        const wordAfter = end < text.length && WORD_CHAR.test(charAt(text, end));
        if (wordBefore || wordAfter) continue;
      }
      if (token.lstrip) {
        while (start > previousEnd && WHITE_SPACE.test(charBefore(text, start))) start -= charBefore(text, start).length;
      }
      if (token.rstrip) {
        while (end < text.length && WHITE_SPACE.test(charAt(text, end))) end += charAt(text, end).length;
        i = end;
      }
      if (start > previousEnd) segments.push({ text: text.slice(previousEnd, start), atStart: atStart && previousEnd === 0 });
      segments.push({ text: text.slice(start, end), atStart: atStart && start === 0, token });
      previousEnd = end;
    }
    if (previousEnd < text.length) segments.push({ text: text.slice(previousEnd), atStart: atStart && previousEnd === 0 });
    return segments;
  }
}

function charAt(text: string, index: number): string {
  return String.fromCodePoint(text.codePointAt(index)!);
}

function charBefore(text: string, index: number): string {
  const low = text.charCodeAt(index - 1);
  if (index >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(index - 2, index);
  }
  return text.slice(index - 1, index);
}
