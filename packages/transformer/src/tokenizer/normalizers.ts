// Normalizers (tokenizer.json `normalizer`): text -> text before pre-tokenization. Applied to
// each stretch of text between added tokens separately, as Hugging Face tokenizers does.

import { asArray, asObject, asString, componentType, optionalBoolean, unsupported, type JsonObject, checkSequenceDepth } from "./json.js";
import { findMatches, translateRegex } from "./regex.js";
import { TokenizerError } from "./error.js";

/** A text-to-text normalization step. */
export type Normalizer = (text: string) => string;

/** A `{"String": s}` or `{"Regex": r}` pattern (Split, Replace). */
export function buildPattern(spec: unknown, source: string, where: string): RegExp | string {
  const obj = asObject(spec, source, where);
  if (typeof obj["String"] === "string") return obj["String"];
  if (typeof obj["Regex"] === "string") return translateRegex(obj["Regex"], source, where);
  throw new TokenizerError(source, `${where} must be {"String": ...} or {"Regex": ...}`);
}

/** Replaces every match of `pattern` in `text` with `content` (no `$` substitutions). */
export function replaceAll(text: string, pattern: RegExp | string, content: string): string {
  if (typeof pattern === "string") return pattern === "" ? text : text.split(pattern).join(content);
  let out = "";
  for (const range of findMatches(text, pattern)) out += range.isMatch ? content : text.slice(range.start, range.end);
  return out;
}

const STRIP_START = /^\p{White_Space}+/u;
const STRIP_END = /\p{White_Space}+$/u;
const NONSPACING_MARKS = /\p{Mn}/gu;

/** Builds the normalizer described by `spec` (null: none). `source` names the file in errors. */
export function buildNormalizer(spec: unknown, source: string, where = "normalizer", depth = 0): Normalizer | undefined {
  if (spec === null || spec === undefined) return undefined;
  const obj: JsonObject = asObject(spec, source, where);
  const type = componentType(obj, source, where);
  switch (type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (text) => text.normalize(type);
    case "Lowercase":
      return (text) => text.toLowerCase();
    case "Prepend": {
      const prepend = asString(obj["prepend"], source, `${where}.prepend`);
      // Only non-empty text gets the prefix.
      return (text) => (text.length > 0 ? prepend + text : text);
    }
    case "Replace": {
      const pattern = buildPattern(obj["pattern"], source, `${where}.pattern`);
      const content = asString(obj["content"], source, `${where}.content`);
      return (text) => replaceAll(text, pattern, content);
    }
    case "Strip": {
      const left = optionalBoolean(obj, "strip_left", true, source, where);
      const right = optionalBoolean(obj, "strip_right", true, source, where);
      return (text) => {
        let out = text;
        if (left) out = out.replace(STRIP_START, "");
        if (right) out = out.replace(STRIP_END, "");
        return out;
      };
    }
    case "StripAccents":
      return (text) => text.replace(NONSPACING_MARKS, "");
    case "Sequence": {
      checkSequenceDepth(depth, source, where);
      const steps = asArray(obj["normalizers"], source, `${where}.normalizers`)
        .map((step, i) => buildNormalizer(step, source, `${where}.normalizers[${i}]`, depth + 1))
        .filter((step): step is Normalizer => step !== undefined);
      return (text) => steps.reduce((acc, step) => step(acc), text);
    }
    default:
      throw unsupported(source, "normalizer", type);
  }
}
