// Pre-tokenizer regexes: Hugging Face tokenizer.json files carry Oniguruma patterns (the
// `tokenizers` library compiles them with Oniguruma; GPT-2's encoder used Python's `regex`).
// JavaScript's RegExp (with the `u` flag) shares their backtracking, leftmost-first semantics
// and `\p{...}` classes, but differs in a few places that real tokenizer patterns hit:
//
// - `\s` in JavaScript is not Unicode White_Space: it includes U+FEFF and lacks U+0085.
//   We write `\p{White_Space}` instead (and `\P{White_Space}` for `\S`).
// - `\d` and `\w` are ASCII-only in JavaScript; Oniguruma's are Unicode. We spell them out.
// - Node 20 has no inline modifier groups: Llama 3 and Qwen2 use `(?i:'s|'t|...)`. Inside
//   such a group, each letter becomes a class of its case variants (`s` -> `[sSſ]`).
// - Unicode-mode JavaScript rejects `\'` and a lone `{`; we emit the plain character.
//
// Constructs we cannot translate faithfully (possessive quantifiers, atomic groups, `\b`,
// `\A`, letters in a character class inside `(?i:...)`, ...) give an error naming them.
import { quote } from "@gim/tensor";
import { TokenizerError } from "./error.js";
import { backtrackingProblem } from "./regex-safety.js";

/** The longest pattern accepted, in characters (real tokenizers' are a few hundred). */
export const MAX_PATTERN_LENGTH = 4096;

/** GPT-2's pre-tokenizer pattern (also the `ByteLevel` pre-tokenizer's with `use_regex`). */
export const GPT2_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Llama 3's `Split` pattern (tokenizer.json `pre_tokenizer`). */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Qwen2's `Split` pattern: like Llama 3's, but digits one at a time. */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const WHITE_SPACE = "\\p{White_Space}";
const WORD_CHARS = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
// Characters that must stay escaped in a Unicode-mode RegExp outside a class.
const SYNTAX_CHARS = new Set("^$\\.*+?()[]{}|/");
// Characters whose simple case folding reaches an ASCII letter from outside ASCII.
const EXTRA_CASE_VARIANTS: Record<string, string> = { s: "\u017F", k: "\u212A" };

function escapeForRegex(char: string): string {
  return SYNTAX_CHARS.has(char) ? `\\${char}` : char;
}

function caseVariants(char: string): string {
  const variants = new Set([char]);
  for (const variant of [char.toLowerCase(), char.toUpperCase()]) {
    if ([...variant].length === 1) variants.add(variant);
  }
  const extra = EXTRA_CASE_VARIANTS[char.toLowerCase()];
  if (extra !== undefined) variants.add(extra);
  if (variants.size === 1) return escapeForRegex(char);
  return `[${[...variants].map(escapeForRegex).join("")}]`;
}

const isLetter = (char: string): boolean => /\p{L}/u.test(char);

/**
 * Translates an Oniguruma / Python `regex` pattern as found in tokenizer.json into a global,
 * Unicode-mode JavaScript RegExp with the same matches (see the notes at the top of this
 * file). `source` names the file for error messages, `where` the pattern's place in it.
 * A pattern that could backtrack catastrophically is refused (see `regex-safety.ts`), as is
 * one longer than {@link MAX_PATTERN_LENGTH} characters.
 */
export function translateRegex(pattern: string, source: string, where?: string): RegExp {
  const at = where === undefined ? "" : `${where}: `;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new TokenizerError(source, `${at}the regex ${quote(pattern)} is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH}`);
  }
  const fail = (what: string): never => {
    throw new TokenizerError(source, `${at}unsupported regex construct ${what} in pattern ${quote(pattern)}`);
  };
  const chars = [...pattern];
  let out = "";
  let inClass = false;
  // One entry per open group: whether the group is case-insensitive. The bottom entry is the
  // whole pattern (which `(?i)` can switch on).
  const caseInsensitive: boolean[] = [false];
  const ci = () => caseInsensitive[caseInsensitive.length - 1]!;
  let i = 0;
  // Enough of what follows to recognize a group opening or a quantifier.
  const rest = () => chars.slice(i, i + 300).join("");
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === "\\") {
      const next = chars[i + 1];
      if (next === undefined) fail("'\\' at the end");
      i += 2;
      switch (next) {
        case "s":
          out += WHITE_SPACE;
          break;
        case "S":
          out += inClass ? fail("\\S inside a character class") : "\\P{White_Space}";
          break;
        case "d":
          out += "\\p{Nd}";
          break;
        case "D":
          out += inClass ? fail("\\D inside a character class") : "\\P{Nd}";
          break;
        case "w":
          out += inClass ? WORD_CHARS : `[${WORD_CHARS}]`;
          break;
        case "W":
          out += inClass ? fail("\\W inside a character class") : `[^${WORD_CHARS}]`;
          break;
        case "p":
        case "P": {
          if (chars[i] === "{") {
            const close = chars.indexOf("}", i);
            if (close < 0) fail(`unterminated \\${next}{`);
            out += `\\${next}${chars.slice(i, close + 1).join("")}`;
            i = close + 1;
          } else if (chars[i] !== undefined && /[A-Za-z]/.test(chars[i]!)) {
            out += `\\${next}{${chars[i]}}`; // \pL -> \p{L}
            i += 1;
          } else {
            fail(`\\${next} without a property name`);
          }
          break;
        }
        case "x": {
          if (chars[i] === "{") {
            const close = chars.indexOf("}", i);
            if (close < 0) fail("unterminated \\x{");
            out += `\\u{${chars.slice(i + 1, close).join("")}}`;
            i = close + 1;
          } else {
            out += `\\x${chars.slice(i, i + 2).join("")}`;
            i += 2;
          }
          break;
        }
        case "n":
        case "r":
        case "t":
        case "f":
        case "v":
        case "0":
          out += `\\${next}`;
          break;
        case "u":
          out += `\\u${chars.slice(i, i + 4).join("")}`;
          i += 4;
          break;
        default:
          if (/[A-Za-z1-9]/.test(next!)) fail(`\\${next}`);
          // An escaped punctuation character stands for itself.
          out += inClass ? (next === "]" || next === "\\" || next === "^" || next === "-" ? `\\${next}` : next!) : escapeForRegex(next!);
      }
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      else if (c === "[") fail("'[' inside a character class (nested sets)");
      else if (ci() && isLetter(c)) fail("a letter in a character class inside (?i:...)");
      out += c;
      i += 1;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      i += 1;
      if (chars[i] === "^") {
        out += "^";
        i += 1;
      }
      if (chars[i] === "]") {
        out += "\\]"; // a ']' right after '[' is a literal in Oniguruma
        i += 1;
      }
      continue;
    }
    if (c === "(") {
      const r = rest();
      const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(r);
      if (r.startsWith("(?i:") || r.startsWith("(?-i:")) {
        caseInsensitive.push(r.startsWith("(?i:"));
        out += "(?:";
        i += r.startsWith("(?i:") ? 4 : 5;
      } else if (r.startsWith("(?i)")) {
        caseInsensitive[caseInsensitive.length - 1] = true;
        i += 4;
      } else if (r.startsWith("(?:") || r.startsWith("(?=") || r.startsWith("(?!")) {
        caseInsensitive.push(ci());
        out += r.slice(0, 3);
        i += 3;
      } else if (r.startsWith("(?<=") || r.startsWith("(?<!")) {
        caseInsensitive.push(ci());
        out += r.slice(0, 4);
        i += 4;
      } else if (named) {
        caseInsensitive.push(ci());
        out += `(?<${named[1]}>`;
        i += named[0].length;
      } else if (r.startsWith("(?")) {
        fail(quote(r.slice(0, 3)));
      } else {
        caseInsensitive.push(ci());
        out += "(";
        i += 1;
      }
      continue;
    }
    if (c === ")") {
      if (caseInsensitive.length === 1) fail("unbalanced ')'");
      caseInsensitive.pop();
      out += ")";
      i += 1;
      continue;
    }
    if (c === "*" || c === "+" || c === "?" || c === "{") {
      let quantifier = c;
      if (c === "{") {
        const bounds = /^\{\d+(,\d*)?\}/.exec(rest());
        if (!bounds) {
          out += "\\{"; // a '{' that does not start a quantifier is a literal
          i += 1;
          continue;
        }
        quantifier = bounds[0];
      }
      i += [...quantifier].length;
      if (chars[i] === "+") fail(`possessive quantifier ${quantifier}+`);
      out += quantifier;
      if (chars[i] === "?") {
        out += "?"; // lazy
        i += 1;
      }
      continue;
    }
    if (c === "}" || c === "]") {
      out += `\\${c}`;
      i += 1;
      continue;
    }
    // Oniguruma's '.', '^' and '$' are about '\n' only (lines), JavaScript's about all line
    // terminators (and ^/$ about the whole string without the m flag).
    if (c === ".") {
      out += "[^\\n]";
      i += 1;
      continue;
    }
    if (c === "^" || c === "$") {
      out += c === "^" ? "(?<![^\\n])" : "(?![^\\n])";
      i += 1;
      continue;
    }
    out += ci() && isLetter(c) ? caseVariants(c) : c;
    i += 1;
  }
  if (inClass) fail("unterminated character class");
  if (caseInsensitive.length !== 1) fail("unbalanced '('");
  let compiled: RegExp;
  try {
    compiled = new RegExp(out, "gu");
  } catch (error) {
    throw new TokenizerError(source, `${at}cannot compile pattern ${quote(pattern)} (${(error as Error).message})`);
  }
  const problem = backtrackingProblem(out);
  if (problem !== undefined) throw new TokenizerError(source, `${at}the regex ${quote(pattern)} ${problem}`);
  return compiled;
}

/** A half-open range `[start, end)` of UTF-16 offsets and whether the pattern matched it. */
export interface MatchRange {
  /** First UTF-16 offset. */
  start: number;
  /** One past the last UTF-16 offset. */
  end: number;
  /** True for a match of the pattern, false for text between matches. */
  isMatch: boolean;
}

/**
 * Cuts `text` into the matches of `pattern` and the gaps between them, in order, covering the
 * whole text. Empty matches are dropped. `pattern` must have the `g` flag.
 */
export function findMatches(text: string, pattern: RegExp | string): MatchRange[] {
  const ranges: MatchRange[] = [];
  let previous = 0;
  const push = (start: number, end: number) => {
    if (start > previous) ranges.push({ start: previous, end: start, isMatch: false });
    ranges.push({ start, end, isMatch: true });
    previous = end;
  };
  if (typeof pattern === "string") {
    if (pattern.length > 0) {
      for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + pattern.length)) {
        push(at, at + pattern.length);
      }
    }
  } else {
    for (const match of text.matchAll(pattern)) {
      if (match[0].length === 0) continue;
      push(match.index!, match.index! + match[0].length);
    }
  }
  if (previous < text.length) ranges.push({ start: previous, end: text.length, isMatch: false });
  return ranges;
}
