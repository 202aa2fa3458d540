/**
 * The byte-level BPE trainer: against a naive trainer written here (recount every pair after
 * every merge, same tie rule) on random corpora, plus its guarantees (size, special token ids,
 * determinism) and its input checks. The Python trainer comparison is in
 * tokenizer-reference.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { trainByteLevelBpe } from "../src/tokenizer/index.js";

// GPT-2 byte table and regex, written out independently of src/tokenizer.
const BYTE_CHARS: string[] = [];
for (let b = 0, n = 0; b < 256; b++) {
  const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  BYTE_CHARS.push(String.fromCodePoint(printable ? b : 256 + n++));
}
const GPT2_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** Naive BPE training: full pair recount per merge; most frequent pair, ties to smallest ids. */
function naiveTrain(texts: string[], vocabSize: number, minFrequency: number): string[] {
  const strings = [...BYTE_CHARS].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const idOf = new Map(strings.map((s, i) => [s, i]));
  let words: number[][] = [];
  for (const text of texts) {
    for (const [piece] of text.matchAll(GPT2_REGEX)) words.push([...Buffer.from(piece, "utf8")].map((b) => idOf.get(BYTE_CHARS[b]!)!));
  }
  const merges: string[] = [];
  while (strings.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.length; i++) counts.set(`${w[i]},${w[i + 1]}`, (counts.get(`${w[i]},${w[i + 1]}`) ?? 0) + 1);
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, count] of counts) {
      const [a, b] = key.split(",").map(Number) as [number, number];
      if (count > bestCount || (count === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = count;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const merged = strings[best[0]]! + strings[best[1]]!;
    let id = idOf.get(merged);
    if (id === undefined) {
      id = strings.length;
      strings.push(merged);
      idOf.set(merged, id);
    }
    merges.push(`${strings[best[0]]} ${strings[best[1]]}`);
    words = words.map((w) => {
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === best![0] && w[i + 1] === best![1]) {
          out.push(id!);
          i++;
        } else out.push(w[i]!);
      }
      return out;
    });
  }
  return merges;
}

const corpus = fc.array(
  fc.array(fc.constantFrom("a", "b", "ab", "aa", " ", " a", "ba", "\n", "'s", "é", "1", "!", "😀"), { maxLength: 30 }).map((p) => p.join("")),
  { minLength: 1, maxLength: 8 },
);

describe("trainByteLevelBpe", () => {
  it("learns the same merges as a naive full-recount trainer", () => {
    fc.assert(
      fc.property(corpus, fc.integer({ min: 256, max: 330 }), fc.integer({ min: 1, max: 3 }), (texts, vocabSize, minFrequency) => {
        const tok = trainByteLevelBpe(texts, { vocabSize, minFrequency });
        expect(tok.json.model.merges.map(([a, b]) => `${a} ${b}`)).toEqual(naiveTrain(texts, vocabSize, minFrequency));
      }),
      { numRuns: 150 },
    );
  });

  it("round-trips its training texts, never exceeds vocabSize, and puts special tokens last", () => {
    fc.assert(
      fc.property(corpus, fc.integer({ min: 258, max: 400 }), (texts, vocabSize) => {
        const tok = trainByteLevelBpe(texts, { vocabSize, specialTokens: ["<|endoftext|>", "<pad>"] });
        expect(tok.vocabSize).toBeLessThanOrEqual(vocabSize);
        expect(tok.tokenToId("<pad>")).toBe(tok.vocabSize - 1);
        expect(tok.tokenToId("<|endoftext|>")).toBe(tok.vocabSize - 2);
        for (const text of texts) expect(tok.decode(tok.encode(text))).toBe(text);
        const joined = texts.join("<|endoftext|>");
        expect(tok.encode(joined).filter((id) => id === tok.eosTokenId)).toHaveLength(texts.length - 1);
      }),
      { numRuns: 60 },
    );
  });

  it("stops early when no pair occurs minFrequency times, and is deterministic", () => {
    const texts = ["abcd abcd", "xyz"];
    const a = trainByteLevelBpe(texts, { vocabSize: 1000 });
    const b = trainByteLevelBpe(texts, { vocabSize: 1000 });
    expect(a.json.model.merges).toEqual(b.json.model.merges);
    // Words: "abcd", "Ġabcd", "xyz". Count-2 pairs: a b, b c, c d. Ties go to the smaller ids, so
    // "a b" (a < b < c), then "c d" (c is a byte, id < 256, "ab" is 256), then "ab cd"; nothing
    // else occurs twice ("Ġ a" and the pairs of "xyz" occur once).
    expect(a.json.model.merges).toEqual([["a", "b"], ["c", "d"], ["ab", "cd"]]);
    expect(a.vocabSize).toBeLessThan(1000);
  });

  it("learns whole names on an IOI-style corpus, so ' Mary' is one token", () => {
    const names = ["Mary", "John", "Tom", "Anna"];
    const texts: string[] = [];
    for (const a of names) for (const b of names) if (a !== b) texts.push(`When ${a} and ${b} went to the store, ${b} gave a drink to ${a}`);
    const tok = trainByteLevelBpe(texts, { vocabSize: 320, specialTokens: ["<|endoftext|>"] });
    for (const name of names) {
      const ids = tok.encode(` ${name}`);
      expect(ids).toHaveLength(1);
      expect(tok.decodeToken(ids[0]!)).toBe(` ${name}`);
    }
  });

  it("checks its options", () => {
    expect(() => trainByteLevelBpe(["a"], { vocabSize: 256, specialTokens: ["<s>"] })).toThrow("vocabSize must be an integer from 257");
    expect(() => trainByteLevelBpe(["a"], { vocabSize: 300.5 })).toThrow("vocabSize must be an integer");
    expect(() => trainByteLevelBpe(["a"], { vocabSize: 300, specialTokens: ["<s>", "<s>"] })).toThrow("specialTokens must be distinct non-empty strings");
    expect(() => trainByteLevelBpe(["a"], { vocabSize: 300, specialTokens: [""] })).toThrow("specialTokens must be distinct non-empty strings");
    expect(() => trainByteLevelBpe(["a"], { vocabSize: 300, specialTokens: ["<s>"], eosToken: "</s>" })).toThrow('eosToken "</s>" is not one of specialTokens');
    expect(() => trainByteLevelBpe(["a"], { vocabSize: 300, minFrequency: 0 })).toThrow("minFrequency must be a positive integer");
    expect(() => trainByteLevelBpe([1 as unknown as string], { vocabSize: 300 })).toThrow("texts must be an array of strings");
  });
});
