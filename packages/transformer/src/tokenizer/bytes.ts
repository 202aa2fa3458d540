// Bytes, UTF-8 and GPT-2's byte-to-character table.
//
// Byte-level BPE works on the UTF-8 bytes of the text. To keep tokens printable strings (so
// vocab.json and merges.txt stay text files), GPT-2 maps each byte to one character: bytes
// that are printable and not whitespace keep their own code point, and the other 68 (controls,
// space, 0x7F-0xA0, 0xAD) take U+0100, U+0101, ... in byte order. So space 0x20 is "Ġ"
// (U+0120) and newline 0x0A is "Ċ" (U+010A).

function buildByteToChar(): string[] {
  const table: string[] = [];
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const keepsItsCodePoint =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table.push(String.fromCharCode(keepsItsCodePoint ? byte : 256 + extra++));
  }
  return table;
}

/** GPT-2's byte-to-character table: `BYTE_TO_CHAR[0x20]` is `"Ġ"`. 256 one-character strings. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of {@link BYTE_TO_CHAR}: `CHAR_TO_BYTE.get("Ġ")` is `0x20`. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strictUtf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `text` (a lone surrogate becomes the 3 bytes of U+FFFD). */
export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * Text of UTF-8 `bytes`; each maximal invalid sequence becomes one U+FFFD (the WHATWG and
 * Unicode "maximal subpart" rule, which Rust's `from_utf8_lossy` also follows).
 */
export function utf8Decode(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** Text of UTF-8 `bytes`, or undefined if they are not valid UTF-8. */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Byte-level form of `text`: its UTF-8 bytes, each mapped through {@link BYTE_TO_CHAR}. A lone
 * surrogate counts as U+FFFD. (Written out rather than via TextEncoder: this runs once per
 * pre-tokenized piece, and the encoder call dominated encoding time.)
 */
export function toByteLevel(text: string): string {
  const table = BYTE_TO_CHAR;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      out += table[code];
      continue;
    }
    if (code < 0x800) {
      out += table[0xc0 | (code >> 6)]! + table[0x80 | (code & 0x3f)]!;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        out += table[0xf0 | (point >> 18)]! + table[0x80 | ((point >> 12) & 0x3f)]! + table[0x80 | ((point >> 6) & 0x3f)]! + table[0x80 | (point & 0x3f)]!;
        i++;
        continue;
      }
      code = 0xfffd; // lone surrogate
    }
    out += table[0xe0 | (code >> 12)]! + table[0x80 | ((code >> 6) & 0x3f)]! + table[0x80 | (code & 0x3f)]!;
  }
  return out;
}

/** The bytes behind a byte-level string, or undefined if a character is not in the table. */
export function fromByteLevel(chars: string): number[] | undefined {
  const bytes: number[] = [];
  for (const char of chars) {
    const byte = CHAR_TO_BYTE.get(char);
    if (byte === undefined) return undefined;
    bytes.push(byte);
  }
  return bytes;
}

/**
 * `text` with every lone surrogate (a UTF-16 code unit that is not half of a valid pair)
 * replaced by U+FFFD, like `String.prototype.toWellFormed` (ES2024). Tokenizers work on
 * Unicode scalar values, which is what UTF-8 can encode.
 */
export function toWellFormed(text: string): string {
  // Fast path: most text has no surrogates at all.
  if (!/[\uD800-\uDFFF]/.test(text)) return text;
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** `"<0xE2>"` for 0xE2: the byte-fallback token for one byte (SentencePiece / Llama 2). */
export function byteFallbackToken(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** The byte of a byte-fallback token such as `"<0xE2>"`, or undefined for other tokens. */
export function parseByteFallbackToken(token: string): number | undefined {
  if (token.length !== 6 || !token.startsWith("<0x") || token[5] !== ">") return undefined;
  const hex = token.slice(3, 5);
  return /^[0-9A-Fa-f]{2}$/.test(hex) ? parseInt(hex, 16) : undefined;
}
