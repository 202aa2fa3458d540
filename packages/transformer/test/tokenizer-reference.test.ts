/**
 * Our tokenizers against the independent Python reference in tokenizer-fixtures/generate.py
 * (GPT-2's original encoder algorithm, a SentencePiece-style BPE with byte fallback, and a
 * plain BPE trainer, written in Python with the `regex` module). For every tricky string of
 * every layout: the ids, the ids with special tokens, and the decoded text (also with special
 * tokens skipped) must equal the reference's.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { trainByteLevelBpe, type BpeTokenizer } from "../src/tokenizer/index.js";
import { loadTokenizer } from "../src/node/index.js";

const FIXTURES = fileURLToPath(new URL("./tokenizer-fixtures/", import.meta.url));

interface Case {
  text: string;
  ids: number[];
  idsWithSpecial: number[];
  decoded: string;
  decodedSkipSpecial: string;
}
interface Layout {
  bos: number | null;
  eos: number | null;
  pad?: number | null;
  unk?: number | null;
  cases: Case[];
}
interface Expected {
  trainer: { texts: string[]; vocabSize: number; specialTokens: string[]; minFrequency: number; vocab: string[]; merges: string[] };
  [layout: string]: unknown;
}

const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, "utf8")) as Expected;
const layout = (name: string) => expected[name] as Layout;

// Folder -> the reference layout whose expectations it must meet.
const FOLDERS: Array<[folder: string, layoutName: string]> = [
  ["gpt2-files", "gpt2"],
  ["gpt2-json", "gpt2"],
  ["llama3-style", "llama3-style"],
  ["qwen2-style", "qwen2-style"],
  ["llama2-style", "llama2-style"],
  ["metaspace-style", "metaspace-style"],
];

describe.each(FOLDERS)("%s matches the Python reference (%s)", (folder, layoutName) => {
  const { cases } = layout(layoutName);
  let tokenizer: BpeTokenizer;
  const load = async () => (tokenizer ??= await loadTokenizer(`${FIXTURES}${folder}`));

  it("has at least 35 cases covering spaces, newlines, unicode, emoji and added tokens", () => {
    expect(cases.length).toBeGreaterThanOrEqual(35);
    const texts = cases.map((c) => c.text);
    for (const probe of ["", "  ", "\n\n", "\t", "\u00e9", "\u65e5", "\u200D", "\u{1F3FD}", "\u{1F600}", "'"]) {
      expect(texts.some((t) => t.includes(probe))).toBe(true);
    }
  });

  it.each(cases.map((c) => [JSON.stringify(c.text), c] as const))("encode %s", async (_, c) => {
    const tok = await load();
    expect(tok.encode(c.text)).toEqual(c.ids);
    expect(tok.encode(c.text, { addSpecialTokens: true })).toEqual(c.idsWithSpecial);
  });

  it("decodes every reference encoding to the reference text", async () => {
    const tok = await load();
    for (const c of cases) {
      expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
      expect(tok.decode(c.ids, { skipSpecialTokens: true }), JSON.stringify(c.text)).toBe(c.decodedSkipSpecial);
    }
  });
});

describe("round trips on the tricky strings", () => {
  it("byte-level layouts give back the text exactly (except where an lstrip token takes whitespace)", async () => {
    for (const folder of ["gpt2-files", "gpt2-json", "llama3-style"]) {
      const tok = await loadTokenizer(`${FIXTURES}${folder}`);
      for (const { text } of layout(folder.startsWith("gpt2") ? "gpt2" : folder).cases) {
        if (text.includes("<mask>")) continue;
        expect(tok.decode(tok.encode(text)), `${folder} ${JSON.stringify(text)}`).toBe(text);
      }
    }
  });

  it("the Qwen2 layout gives back the NFC form (its normalizer)", async () => {
    const tok = await loadTokenizer(`${FIXTURES}qwen2-style`);
    for (const { text } of layout("qwen2-style").cases) {
      expect(tok.decode(tok.encode(text))).toBe(text.normalize("NFC"));
    }
    expect(tok.decode(tok.encode("e\u0301"))).toBe("\u00e9");
  });

  it("the Llama 2 layout gives back the text with U+2581 read as a space (SentencePiece's meta space)", async () => {
    const tok = await loadTokenizer(`${FIXTURES}llama2-style`);
    for (const { text } of layout("llama2-style").cases) {
      if (/<\/?s>/.test(text)) continue; // the Prepend normalizer adds a space after each added token
      expect(tok.decode(tok.encode(text))).toBe(text.replaceAll("\u2581", " "));
    }
  });
});

describe("special token ids from the folder's files", () => {
  it.each(FOLDERS)("%s", async (folder, layoutName) => {
    const tok = await loadTokenizer(`${FIXTURES}${folder}`);
    const want = layout(layoutName);
    // gpt2-json has only tokenizer.json, which names no roles.
    const named = folder !== "gpt2-json";
    expect(tok.bosTokenId).toBe(named ? (want.bos ?? undefined) : undefined);
    expect(tok.eosTokenId).toBe(named ? (want.eos ?? undefined) : undefined);
    expect(tok.padTokenId).toBe(named ? (want.pad ?? undefined) : undefined);
    if (want.unk !== undefined) expect(tok.unkTokenId).toBe(want.unk ?? undefined);
  });
});

describe("trainByteLevelBpe", () => {
  const t = expected.trainer;

  it("learns the same merges and vocabulary as the Python trainer", () => {
    const tok = trainByteLevelBpe(t.texts, { vocabSize: t.vocabSize, specialTokens: t.specialTokens, minFrequency: t.minFrequency });
    expect(tok.json.model.merges.map(([a, b]) => `${a} ${b}`)).toEqual(t.merges);
    const vocab = [...tok.json.model.vocab].sort((a, b) => a[1] - b[1]).map(([token]) => token);
    expect(vocab).toEqual(t.vocab);
  });

  it("encodes like the reference GPT-2 files trained on the same texts", async () => {
    const trained = trainByteLevelBpe(t.texts, { vocabSize: t.vocabSize, specialTokens: t.specialTokens });
    for (const c of layout("gpt2").cases) expect(trained.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
  });
});
