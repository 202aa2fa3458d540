// Pre-tokenizers (tokenizer.json `pre_tokenizer`): cut normalized text into pieces that the
// BPE model encodes one at a time (no token spans two pieces), possibly rewriting them
// (ByteLevel maps bytes to characters, Metaspace turns spaces into "▁").

import { quote } from "@gim/tensor";
import { toByteLevel } from "./bytes.js";
import { asArray, asObject, asString, componentType, optionalBoolean, unsupported, type JsonObject, checkSequenceDepth } from "./json.js";
import { buildPattern } from "./normalizers.js";
import { findMatches, GPT2_SPLIT_PATTERN, translateRegex, type MatchRange } from "./regex.js";
import { TokenizerError } from "./error.js";

/** A piece of text on its way to the model. */
export interface Piece {
  /** The (normalized, possibly rewritten) text. */
  text: string;
  /** True if the piece starts at the very beginning of the input (Metaspace "first"). */
  atStart: boolean;
}

/** A pre-tokenization step: pieces in, finer pieces out. */
export type PreTokenizer = (pieces: Piece[]) => Piece[];

/** How a Split keeps the matches of its pattern. */
export type SplitBehavior = "Isolated" | "Removed" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

const SPLIT_BEHAVIORS: readonly SplitBehavior[] = ["Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"];

/** Metaspace's rule for adding a leading "▁". */
export type PrependScheme = "always" | "first" | "never";

/**
 * Applies a split behavior to ranges from {@link findMatches}: "Isolated" keeps matches as
 * their own pieces, "Removed" drops them, "MergedWithPrevious"/"MergedWithNext" glue each
 * match to the gap before/after it, "Contiguous" joins runs of matches (and runs of gaps).
 */
export function applySplitBehavior(ranges: MatchRange[], behavior: SplitBehavior): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  switch (behavior) {
    case "Isolated":
      return ranges.map(({ start, end }) => ({ start, end }));
    case "Removed":
      return ranges.filter((range) => !range.isMatch).map(({ start, end }) => ({ start, end }));
    case "Contiguous":
    case "MergedWithPrevious": {
      let previousMatch = false;
      for (const range of ranges) {
        const joins = behavior === "Contiguous" ? range.isMatch === previousMatch : range.isMatch && !previousMatch;
        if (joins && out.length > 0) out[out.length - 1]!.end = range.end;
        else out.push({ start: range.start, end: range.end });
        previousMatch = range.isMatch;
      }
      return out;
    }
    case "MergedWithNext": {
      let nextMatch = false;
      for (let i = ranges.length - 1; i >= 0; i--) {
        const range = ranges[i]!;
        if (range.isMatch && !nextMatch && out.length > 0) out[out.length - 1]!.start = range.start;
        else out.push({ start: range.start, end: range.end });
        nextMatch = range.isMatch;
      }
      return out.reverse();
    }
  }
}

/** Splits every piece by `pattern` with `behavior`; `invert` swaps matches and gaps. */
export function splitPieces(pieces: Piece[], pattern: RegExp | string, behavior: SplitBehavior, invert = false): Piece[] {
  const out: Piece[] = [];
  if (behavior === "Isolated" && typeof pattern !== "string") {
    // The common case (GPT-2, Llama 3, Qwen2): matches and gaps all become pieces. Inversion
    // does not matter then. Done without intermediate range objects.
    for (const { text, atStart } of pieces) {
      let previous = 0;
      for (const match of text.matchAll(pattern)) {
        const start = match.index!;
        const end = start + match[0].length;
        if (end === start) continue;
        if (start > previous) out.push({ text: text.slice(previous, start), atStart: atStart && previous === 0 });
        out.push({ text: match[0], atStart: atStart && start === 0 });
        previous = end;
      }
      if (previous < text.length) out.push({ text: text.slice(previous), atStart: atStart && previous === 0 });
    }
    return out;
  }
  for (const piece of pieces) {
    let ranges = findMatches(piece.text, pattern);
    if (invert) ranges = ranges.map((range) => ({ ...range, isMatch: !range.isMatch }));
    for (const { start, end } of applySplitBehavior(ranges, behavior)) {
      if (end > start) out.push({ text: piece.text.slice(start, end), atStart: piece.atStart && start === 0 });
    }
  }
  return out;
}

let gpt2Regex: RegExp | undefined;

/** GPT-2's pre-tokenizer regex as a JavaScript RegExp (global, Unicode). */
export function gpt2SplitRegex(): RegExp {
  gpt2Regex ??= translateRegex(GPT2_SPLIT_PATTERN, "GPT-2 pattern");
  return gpt2Regex;
}

/**
 * The ByteLevel pre-tokenizer: optionally prefix each piece with a space, optionally split it
 * with GPT-2's regex, then map its UTF-8 bytes to GPT-2's byte characters.
 */
export function byteLevelPreTokenizer(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  return (pieces) => {
    const prefixed = pieces.map((piece) =>
      addPrefixSpace && !piece.text.startsWith(" ") ? { text: ` ${piece.text}`, atStart: piece.atStart } : piece,
    );
    const split = useRegex ? splitPieces(prefixed, gpt2SplitRegex(), "Isolated") : prefixed;
    return split.map((piece) => ({ text: toByteLevel(piece.text), atStart: piece.atStart }));
  };
}

/** Reads Metaspace's `prepend_scheme` (or the older `add_prefix_space`). */
export function readPrependScheme(obj: JsonObject, source: string, where: string): PrependScheme {
  const raw = obj["prepend_scheme"];
  let scheme: PrependScheme = "always";
  if (raw !== undefined && raw !== null) {
    if (raw !== "always" && raw !== "first" && raw !== "never") {
      throw new TokenizerError(source, `${where}.prepend_scheme must be "always", "first" or "never", got ${quote(raw)}`);
    }
    scheme = raw;
  }
  if (obj["add_prefix_space"] === false) scheme = "never";
  return scheme;
}

/** Reads Metaspace's one-character `replacement`. */
export function readReplacement(obj: JsonObject, source: string, where: string): string {
  const replacement = asString(obj["replacement"], source, `${where}.replacement`);
  if ([...replacement].length !== 1) throw new TokenizerError(source, `${where}.replacement must be one character, got ${quote(replacement)}`);
  return replacement;
}

/**
 * The Metaspace pre-tokenizer: spaces become `replacement`, a leading `replacement` is added
 * (always, only at the start of the input, or never) unless already there, and with `split`
 * each `replacement` starts a new piece.
 */
export function metaspacePreTokenizer(replacement: string, scheme: PrependScheme, split: boolean): PreTokenizer {
  return (pieces) => {
    const rewritten = pieces.map((piece) => {
      let text = piece.text.split(" ").join(replacement);
      const prepend = scheme === "always" || (scheme === "first" && piece.atStart);
      if (prepend && !text.startsWith(replacement)) text = replacement + text;
      return { text, atStart: piece.atStart };
    });
    return split ? splitPieces(rewritten, replacement, "MergedWithNext") : rewritten;
  };
}

/** Builds the pre-tokenizer described by `spec` (null: none). `source` names the file in errors. */
export function buildPreTokenizer(spec: unknown, source: string, where = "pre_tokenizer", depth = 0): PreTokenizer | undefined {
  if (spec === null || spec === undefined) return undefined;
  const obj = asObject(spec, source, where);
  const type = componentType(obj, source, where);
  switch (type) {
    case "ByteLevel":
      return byteLevelPreTokenizer(
        optionalBoolean(obj, "add_prefix_space", true, source, where),
        optionalBoolean(obj, "use_regex", true, source, where),
      );
    case "Split": {
      const pattern = buildPattern(obj["pattern"], source, `${where}.pattern`);
      const behavior = asString(obj["behavior"], source, `${where}.behavior`);
      if (!SPLIT_BEHAVIORS.includes(behavior as SplitBehavior)) {
        throw new TokenizerError(source, `${where}.behavior must be one of ${SPLIT_BEHAVIORS.join(", ")}, got ${quote(behavior)}`);
      }
      const invert = optionalBoolean(obj, "invert", false, source, where);
      return (pieces) => splitPieces(pieces, pattern, behavior as SplitBehavior, invert);
    }
    case "Metaspace":
      return metaspacePreTokenizer(
        readReplacement(obj, source, where),
        readPrependScheme(obj, source, where),
        optionalBoolean(obj, "split", true, source, where),
      );
    case "Digits": {
      const individual = optionalBoolean(obj, "individual_digits", false, source, where);
      return (pieces) => splitPieces(pieces, /\p{N}/gu, individual ? "Isolated" : "Contiguous");
    }
    case "Sequence": {
      checkSequenceDepth(depth, source, where);
      const steps = asArray(obj["pretokenizers"], source, `${where}.pretokenizers`)
        .map((step, i) => buildPreTokenizer(step, source, `${where}.pretokenizers[${i}]`, depth + 1))
        .filter((step): step is PreTokenizer => step !== undefined);
      return (pieces) => steps.reduce((acc, step) => step(acc), pieces);
    }
    default:
      throw unsupported(source, "pre_tokenizer", type);
  }
}
