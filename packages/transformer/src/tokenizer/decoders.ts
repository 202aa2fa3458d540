// Decoders (tokenizer.json `decoder`): token strings -> text. Each step maps a list of strings
// to a list of strings; the tokenizer joins the final list.
//
// Display mode (used for showing single tokens to people) differs in three ways: bytes that
// do not form valid UTF-8 show as `<0xNN>` instead of U+FFFD, Metaspace keeps the space of a
// first token, and Strip does nothing. So "Ġthe" shows as " the" and "▁the" as " the".

import { byteFallbackToken, CHAR_TO_BYTE, parseByteFallbackToken, utf8Decode, utf8Encode } from "./bytes.js";
import { asArray, asObject, asString, componentType, optionalIndex, unsupported, checkSequenceDepth } from "./json.js";
import { buildPattern, replaceAll } from "./normalizers.js";
import { readPrependScheme, readReplacement } from "./pre-tokenizers.js";

/** A decoding step. `display` asks for the per-token display form. */
export type Decoder = (tokens: string[], display: boolean) => string[];

// Length of the valid UTF-8 sequence starting at bytes[i], or 0 if it is not valid there.
function validSequenceLength(bytes: ArrayLike<number>, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf; // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) length = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    if (b0 === 0xe0) low = 0xa0; // no overlong forms
    if (b0 === 0xed) high = 0x9f; // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    if (b0 === 0xf0) low = 0x90;
    if (b0 === 0xf4) high = 0x8f; // nothing above U+10FFFF
  } else return 0;
  if (i + length > bytes.length) return 0;
  for (let k = 1; k < length; k++) {
    const b = bytes[i + k]!;
    if (k === 1 ? b < low || b > high : b < 0x80 || b > 0xbf) return 0;
  }
  return length;
}

/** Text of `bytes` with each byte that is not part of valid UTF-8 shown as `<0xNN>`. */
export function bytesToDisplayText(bytes: ArrayLike<number>): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) {
      out += byteFallbackToken(bytes[i]!);
      i += 1;
    } else {
      out += utf8Decode(Uint8Array.from(Array.prototype.slice.call(bytes, i, i + length) as number[]));
      i += length;
    }
  }
  return out;
}

function isValidUtf8(bytes: ArrayLike<number>): boolean {
  for (let i = 0; i < bytes.length; ) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) return false;
    i += length;
  }
  return true;
}

// Byte of each byte-level character by char code (-1 for other characters).
const BYTE_OF_CODE = (() => {
  const table = new Int16Array(512).fill(-1);
  for (const [char, byte] of CHAR_TO_BYTE) table[char.charCodeAt(0)] = byte;
  return table;
})();

/** ByteLevel decoder: all tokens' bytes, joined, read as UTF-8 (lossy). */
export const byteLevelDecoder: Decoder = (tokens, display) => {
  let bytes = new Uint8Array(1024);
  let length = 0;
  const push = (byte: number) => {
    if (length === bytes.length) {
      const bigger = new Uint8Array(bytes.length * 2);
      bigger.set(bytes);
      bytes = bigger;
    }
    bytes[length++] = byte;
  };
  for (const token of tokens) {
    let isByteLevel = true;
    for (let i = 0; i < token.length; i++) {
      const code = token.charCodeAt(i);
      if (code >= 512 || BYTE_OF_CODE[code]! < 0) {
        isByteLevel = false;
        break;
      }
    }
    // Added tokens such as "<|endoftext|>" or " <mask>" may not be byte-level strings.
    if (isByteLevel) for (let i = 0; i < token.length; i++) push(BYTE_OF_CODE[token.charCodeAt(i)]!);
    else for (const byte of utf8Encode(token)) push(byte);
  }
  const used = bytes.subarray(0, length);
  return [display ? bytesToDisplayText(used) : utf8Decode(used)];
};

/** ByteFallback decoder: runs of `<0xNN>` tokens become their UTF-8 text (U+FFFD per byte if invalid). */
export const byteFallbackDecoder: Decoder = (tokens, display) => {
  const out: string[] = [];
  let pending: number[] = [];
  let pendingTokens: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    if (isValidUtf8(pending)) out.push(utf8Decode(Uint8Array.from(pending)));
    else if (display) out.push(...pendingTokens);
    else out.push(...pending.map(() => "\uFFFD"));
    pending = [];
    pendingTokens = [];
  };
  for (const token of tokens) {
    const byte = parseByteFallbackToken(token);
    if (byte === undefined) {
      flush();
      out.push(token);
    } else {
      pending.push(byte);
      pendingTokens.push(token);
    }
  }
  flush();
  return out;
};

/** Builds the decoder described by `spec` (null: none). `source` names the file in errors. */
export function buildDecoder(spec: unknown, source: string, where = "decoder", depth = 0): Decoder | undefined {
  if (spec === null || spec === undefined) return undefined;
  const obj = asObject(spec, source, where);
  const type = componentType(obj, source, where);
  switch (type) {
    case "ByteLevel":
      return byteLevelDecoder;
    case "ByteFallback":
      return byteFallbackDecoder;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Metaspace": {
      const replacement = readReplacement(obj, source, where);
      const scheme = readPrependScheme(obj, source, where);
      // The first token's "▁" is the one the pre-tokenizer added: it decodes to nothing.
      return (tokens, display) =>
        tokens.map((token, i) => token.split(replacement).join(i === 0 && scheme !== "never" && !display ? "" : " "));
    }
    case "Replace": {
      const pattern = buildPattern(obj["pattern"], source, `${where}.pattern`);
      const content = asString(obj["content"], source, `${where}.content`);
      return (tokens) => tokens.map((token) => replaceAll(token, pattern, content));
    }
    case "Strip": {
      const content = asString(obj["content"], source, `${where}.content`);
      const start = optionalIndex(obj, "start", 0, source, where);
      const stop = optionalIndex(obj, "stop", 0, source, where);
      return (tokens, display) =>
        display
          ? tokens
          : tokens.map((token) => {
              let from = 0;
              for (let n = 0; n < start && content !== "" && token.startsWith(content, from); n++) from += content.length;
              let to = token.length;
              for (let n = 0; n < stop && content !== "" && to - content.length >= from && token.endsWith(content, to); n++) to -= content.length;
              return token.slice(from, to);
            });
    }
    case "BPEDecoder": {
      const suffix = typeof obj["suffix"] === "string" ? obj["suffix"] : "</w>";
      return (tokens, display) =>
        tokens.map((token, i) => token.split(suffix).join(i === tokens.length - 1 && !display ? "" : " "));
    }
    case "Sequence": {
      checkSequenceDepth(depth, source, where);
      const steps = asArray(obj["decoders"], source, `${where}.decoders`)
        .map((step, i) => buildDecoder(step, source, `${where}.decoders[${i}]`, depth + 1))
        .filter((step): step is Decoder => step !== undefined);
      return (tokens, display) => steps.reduce((acc, step) => step(acc, display), tokens);
    }
    default:
      throw unsupported(source, "decoder", type);
  }
}
