/**
 * Property tests on random text (fast-check): any code points, dense mixes of whitespace,
 * contractions, combining marks, ZWJ and emoji, and raw UTF-16 code units (lone surrogates).
 *
 * - Round trip. Byte-level BPE encodes UTF-8, so a lone surrogate cannot survive: the
 *   documented behaviour is that it becomes U+FFFD, exactly as Node's own UTF-8 encoder does
 *   (`Buffer.from(s, "utf8")`), which is the reference here.
 * - Same ids as a naive reference written in this file from GPT-2's description (regex
 *   pre-tokenizer, byte table, "merge the lowest-ranked pair everywhere, repeat"), over the
 *   fixture vocabularies, so the heap-based merge in src/tokenizer/bpe.ts is checked on
 *   inputs the fixed cases do not cover.
 */
import fc from "fast-check";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { toByteLevel, trainByteLevelBpe, type BpeTokenizer } from "../src/tokenizer/index.js";
import { loadTokenizer } from "../src/node/index.js";
import { readFileSync } from "node:fs";

const FIXTURES = fileURLToPath(new URL("./tokenizer-fixtures/", import.meta.url));

/** What any UTF-8 encoder does to a JS string: lone surrogates become U+FFFD. */
const viaUtf8 = (s: string) => Buffer.from(s, "utf8").toString("utf8");

const TRICKY_UNITS = [" ", "  ", "\n", "\n\n", "\t", "\r", "\u00a0", "\u3000", "\u0085", "\ufeff", "a", "Mary", "s", "S", "'", "'s", "'LL", "1", "23", "!", "...",
  "\u00e9", "e\u0301", "\u65e5", "\ud55c", "\u{1F600}", "\u{1F44D}\u{1F3FD}", "\u200d", "\u{1F468}\u200d\u{1F469}", "\ufe0f", "\u2581", "\u017f", "<", "|", ">"];

const texts = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.array(fc.constantFrom(...TRICKY_UNITS), { maxLength: 25 }).map((parts) => parts.join("")),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 30 }).map((units) => String.fromCharCode(...units)),
);

// ---- naive reference (independent of src/tokenizer)

function gpt2ByteTable(): string[] {
  const table: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table.push(String.fromCodePoint(printable ? b : 256 + n++));
  }
  return table;
}
const BYTE_CHARS = gpt2ByteTable();
const GPT2_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

function naiveMerge(symbols: string[], ranks: Map<string, number>): string[] {
  let word = symbols;
  while (word.length > 1) {
    let best: [string, string] | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = ranks.get(`${word[i]} ${word[i + 1]}`) ?? Infinity;
      if (rank < bestRank) {
        bestRank = rank;
        best = [word[i]!, word[i + 1]!];
      }
    }
    if (!best) break;
    const out: string[] = [];
    for (let i = 0; i < word.length; i++) {
      if (i + 1 < word.length && word[i] === best[0] && word[i + 1] === best[1]) {
        out.push(best[0] + best[1]);
        i++;
      } else out.push(word[i]!);
    }
    word = out;
  }
  return word;
}

function naiveGpt2Encode(text: string, vocab: Record<string, number>, ranks: Map<string, number>): number[] {
  const ids: number[] = [];
  for (const [piece] of text.matchAll(GPT2_REGEX)) {
    const chars = [...Buffer.from(piece, "utf8")].map((b) => BYTE_CHARS[b]!);
    for (const token of naiveMerge(chars, ranks)) ids.push(vocab[token]!);
  }
  return ids;
}

function naiveLlama2Encode(text: string, vocab: Record<string, number>, ranks: Map<string, number>): number[] {
  if (text === "") return [];
  const normalized = `\u2581${text.replaceAll(" ", "\u2581")}`;
  const symbols: string[] = [];
  for (const char of normalized) {
    if (char in vocab) symbols.push(char);
    else for (const b of Buffer.from(char, "utf8")) symbols.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  }
  return naiveMerge(symbols, ranks).map((t) => vocab[t]!);
}

function ranksOf(merges: string[]): Map<string, number> {
  return new Map(merges.map((m, i) => [m, i]));
}

// ----

describe("toByteLevel", () => {
  it("maps the UTF-8 bytes (as Node's encoder makes them) through GPT-2's table", () => {
    fc.assert(
      fc.property(texts, (s) => {
        expect(toByteLevel(s)).toBe([...Buffer.from(s, "utf8")].map((b) => BYTE_CHARS[b]).join(""));
      }),
      { numRuns: 500 },
    );
  });
});

describe("random text", () => {
  let gpt2: BpeTokenizer;
  let llama3: BpeTokenizer;
  let qwen2: BpeTokenizer;
  let llama2: BpeTokenizer;
  let trained: BpeTokenizer;
  let gpt2Vocab: Record<string, number>;
  let gpt2Ranks: Map<string, number>;
  let llama2Vocab: Record<string, number>;
  let llama2Ranks: Map<string, number>;

  beforeAll(async () => {
    gpt2 = await loadTokenizer(`${FIXTURES}gpt2-files`);
    llama3 = await loadTokenizer(`${FIXTURES}llama3-style`);
    qwen2 = await loadTokenizer(`${FIXTURES}qwen2-style`);
    llama2 = await loadTokenizer(`${FIXTURES}llama2-style`);
    const corpus = (JSON.parse(readFileSync(`${FIXTURES}expected.json`, "utf8")) as { trainer: { texts: string[] } }).trainer.texts;
    trained = trainByteLevelBpe(corpus, { vocabSize: 400, specialTokens: ["<|endoftext|>"] });
    gpt2Vocab = JSON.parse(readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8")) as Record<string, number>;
    gpt2Ranks = ranksOf(readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8").split("\n").slice(1, -1));
    const llama2Json = JSON.parse(readFileSync(`${FIXTURES}llama2-style/tokenizer.json`, "utf8")) as { model: { vocab: Record<string, number>; merges: string[] } };
    llama2Vocab = llama2Json.model.vocab;
    llama2Ranks = ranksOf(llama2Json.model.merges);
  });

  const noAddedTokens = (s: string) => !/<\|endoftext\|>|<\|begin_of_text\|>|<\|end_of_text\|>|\[NAME\]|<mask>|<\/?s>|<unk>|<\|im_(start|end)\|>/.test(s);

  it("byte-level tokenizers: decode(encode(s)) is s with lone surrogates replaced by U+FFFD", () => {
    fc.assert(
      fc.property(texts.filter(noAddedTokens), (s) => {
        for (const tok of [gpt2, llama3, trained]) expect(tok.decode(tok.encode(s))).toBe(viaUtf8(s));
        expect(qwen2.decode(qwen2.encode(s))).toBe(viaUtf8(s).normalize("NFC"));
      }),
      { numRuns: 300 },
    );
  });

  it("a lone surrogate encodes exactly like U+FFFD", () => {
    for (const tok of [gpt2, llama3, llama2]) {
      expect(tok.encode("a\uD800b")).toEqual(tok.encode("a\uFFFDb"));
      expect(tok.encode("\uDC00")).toEqual(tok.encode("\uFFFD"));
      expect(tok.encode("\u{1F600}\uD83D")).toEqual(tok.encode("\u{1F600}\uFFFD"));
      expect(tok.decode(tok.encode("x\uDBFFy"))).toBe("x\uFFFDy");
    }
  });

  it("Llama 2 layout: decode(encode(s)) reads U+2581 as a space, otherwise gives s back", () => {
    fc.assert(
      fc.property(texts.filter(noAddedTokens), (s) => {
        expect(llama2.decode(llama2.encode(s))).toBe(viaUtf8(s).replaceAll("\u2581", " "));
      }),
      { numRuns: 300 },
    );
  });

  it("GPT-2 files: same ids as the naive GPT-2 encoder", () => {
    fc.assert(
      fc.property(texts.filter(noAddedTokens), (s) => {
        expect(gpt2.encode(s)).toEqual(naiveGpt2Encode(viaUtf8(s), gpt2Vocab, gpt2Ranks));
      }),
      { numRuns: 300 },
    );
  });

  it("Llama 2 layout: same ids as the naive SentencePiece-style encoder with byte fallback", () => {
    fc.assert(
      fc.property(texts.filter(noAddedTokens), (s) => {
        expect(llama2.encode(s)).toEqual(naiveLlama2Encode(viaUtf8(s), llama2Vocab, llama2Ranks));
      }),
      { numRuns: 300 },
    );
  });

  it("long repetitive text (one Llama 2 piece of 20k characters) matches the naive encoder", () => {
    const text = "Mary and John went to the store. ".repeat(600);
    expect(llama2.encode(text)).toEqual(naiveLlama2Encode(text, llama2Vocab, llama2Ranks));
  });

  it("every id is below vocabSize and has a display string", () => {
    fc.assert(
      fc.property(texts, (s) => {
        for (const tok of [gpt2, llama3, qwen2, llama2, trained]) {
          for (const id of tok.encode(s, { addSpecialTokens: true })) {
            expect(id).toBeLessThan(tok.vocabSize);
            expect(typeof tok.decodeToken(id)).toBe("string");
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
