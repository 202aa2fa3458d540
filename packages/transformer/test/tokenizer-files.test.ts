/**
 * Folders and files: which files `loadTokenizer` reads, one-line errors for missing and broken
 * files and unsupported component types, and writing tokenizers (trained or loaded) into a
 * folder and reading them back with identical behaviour.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  toGpt2Files,
  tokenizerFromFiles,
  toTokenizerJson,
  trainByteLevelBpe,
  type BpeTokenizer,
} from "../src/tokenizer/index.js";
import { loadTokenizer, saveTokenizer, writeGpt2TokenizerFiles, writeTokenizerJson } from "../src/node/index.js";
import { readFileSync } from "node:fs";

const FIXTURES = fileURLToPath(new URL("./tokenizer-fixtures/", import.meta.url));
const expected = JSON.parse(readFileSync(`${FIXTURES}expected.json`, "utf8")) as Record<string, { cases: Array<{ text: string }> }> & {
  trainer: { texts: string[] };
};
const TRICKY = expected["gpt2"]!.cases.map((c) => c.text);
const CORPUS = expected.trainer.texts;

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "gim-tokenizer-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let folderCount = 0;
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = join(scratch, `case-${folderCount++}`);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, "utf8");
  return dir;
}

const gpt2Json = () => JSON.parse(readFileSync(`${FIXTURES}gpt2-json/tokenizer.json`, "utf8")) as Record<string, unknown>;

function sameBehaviour(a: BpeTokenizer, b: BpeTokenizer, texts: string[]): void {
  for (const text of texts) {
    const ids = a.encode(text);
    expect(b.encode(text), JSON.stringify(text)).toEqual(ids);
    expect(b.encode(text, { addSpecialTokens: true })).toEqual(a.encode(text, { addSpecialTokens: true }));
    expect(b.decode(ids)).toBe(a.decode(ids));
  }
  expect([b.vocabSize, b.bosTokenId, b.eosTokenId, b.padTokenId, b.unkTokenId]).toEqual([a.vocabSize, a.bosTokenId, a.eosTokenId, a.padTokenId, a.unkTokenId]);
  expect(b.addedTokens).toEqual(a.addedTokens);
}

describe("loadTokenizer: which files", () => {
  it("prefers tokenizer.json over vocab.json + merges.txt", async () => {
    const dir = await folderWith({
      "tokenizer.json": readFileSync(`${FIXTURES}llama3-style/tokenizer.json`, "utf8"),
      "vocab.json": readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8"),
      "merges.txt": readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8"),
    });
    const tok = await loadTokenizer(dir);
    expect(tok.tokenToId("<|begin_of_text|>")).toBeDefined(); // only the Llama 3 layout has it
  });

  it("reads merges.txt with or without the #version line, and with CRLF line ends", async () => {
    const merges = readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8");
    const vocab = readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8");
    const reference = await loadTokenizer(`${FIXTURES}gpt2-files`);
    for (const variant of [merges.split("\n").slice(1).join("\n"), merges.replaceAll("\n", "\r\n")]) {
      const tok = await loadTokenizer(await folderWith({ "vocab.json": vocab, "merges.txt": variant }));
      sameBehaviour(reference, tok, TRICKY);
    }
  });

  it("takes special tokens from tokenizer_config.json, then special_tokens_map.json, then config.json", async () => {
    const json = readFileSync(`${FIXTURES}llama3-style/tokenizer.json`, "utf8");
    const base = await folderWith({ "tokenizer.json": json });
    const tokens = await loadTokenizer(base);
    const bot = tokens.tokenToId("<|begin_of_text|>")!;
    const eot = tokens.tokenToId("<|end_of_text|>")!;
    const mask = tokens.tokenToId("<mask>")!;
    const config = JSON.stringify({ bos_token_id: 5, eos_token_id: [mask, eot], pad_token_id: null });
    const map = JSON.stringify({ eos_token: { content: "<|end_of_text|>" }, pad_token: "<mask>" });
    const tokenizerConfig = JSON.stringify({ eos_token: "<|begin_of_text|>", pad_token: null });

    const onlyConfig = await loadTokenizer(await folderWith({ "tokenizer.json": json, "config.json": config }));
    expect([onlyConfig.bosTokenId, onlyConfig.eosTokenId, onlyConfig.padTokenId]).toEqual([5, mask, undefined]);
    const withMap = await loadTokenizer(await folderWith({ "tokenizer.json": json, "config.json": config, "special_tokens_map.json": map }));
    expect([withMap.bosTokenId, withMap.eosTokenId, withMap.padTokenId]).toEqual([5, eot, mask]);
    const all = await loadTokenizer(
      await folderWith({ "tokenizer.json": json, "config.json": config, "special_tokens_map.json": map, "tokenizer_config.json": tokenizerConfig }),
    );
    expect([all.bosTokenId, all.eosTokenId, all.padTokenId]).toEqual([5, bot, undefined]);
  });

  it("a special token named in tokenizer_config.json that is a plain vocab entry is matched whole in text", async () => {
    const dir = await folderWith({
      "vocab.json": readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8"),
      "merges.txt": readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8"),
      "tokenizer_config.json": JSON.stringify({ pad_token: "\u0120Mary", bos_token: null }),
    });
    const tok = await loadTokenizer(dir);
    const mary = tok.tokenToId("\u0120Mary")!;
    expect(tok.padTokenId).toBe(mary);
    expect(tok.bosTokenId).toBeUndefined();
    expect(tok.eosTokenId).toBe(tok.tokenToId("<|endoftext|>")); // GPT-2's default stays
    expect(tok.encode("x\u0120Mary")).toEqual([tok.tokenToId("x"), mary]);
    expect(tok.addedTokens.find((t) => t.id === mary)?.special).toBe(true);
  });

  it("adds tokenizer_config.json added_tokens_decoder entries", async () => {
    const vocab = JSON.parse(readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8")) as Record<string, number>;
    const next = Object.keys(vocab).length;
    const dir = await folderWith({
      "vocab.json": JSON.stringify({ ...vocab, "<|user|>": next }),
      "merges.txt": readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8"),
      "tokenizer_config.json": JSON.stringify({ added_tokens_decoder: { [next]: { content: "<|user|>", special: true, normalized: false } } }),
    });
    const tok = await loadTokenizer(dir);
    expect(tok.encode("<|user|>hi")[0]).toBe(next);
    expect(tok.decode(tok.encode("<|user|>hi"), { skipSpecialTokens: true })).toBe("hi");
  });
});

describe("loadTokenizer: one-line errors naming the file", () => {
  const brokenTokenizerJson = async (edit: (json: Record<string, unknown>) => void) => {
    const json = gpt2Json();
    edit(json);
    const dir = await folderWith({ "tokenizer.json": JSON.stringify(json) });
    return { dir, load: () => loadTokenizer(dir) };
  };

  it("missing folder, a file instead of a folder, a folder without tokenizer files", async () => {
    await expect(loadTokenizer(join(scratch, "nope"))).rejects.toThrow(`${join(scratch, "nope")}: tokenizer folder not found`);
    const dir = await folderWith({ "config.json": "{}" });
    await expect(loadTokenizer(join(dir, "config.json"))).rejects.toThrow("config.json: is a regular file, not a folder (expected a checkpoint folder with tokenizer files)");
    await expect(loadTokenizer(dir)).rejects.toThrow(`${dir}: no tokenizer files: expected tokenizer.json, or vocab.json + merges.txt`);
    const half = await folderWith({ "vocab.json": "{}" });
    await expect(loadTokenizer(half)).rejects.toThrow("(vocab.json without merges.txt)");
  });

  it.each([
    ["tokenizer.json", "{ not json"],
    ["tokenizer_config.json", "{,}"],
    ["special_tokens_map.json", "[1,"],
    ["config.json", ""],
  ])("malformed %s", async (name, text) => {
    const files: Record<string, string> = { "tokenizer.json": JSON.stringify(gpt2Json()), [name]: text };
    const dir = await folderWith(files);
    await expect(loadTokenizer(dir)).rejects.toThrow(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/${name.replace(".", "\\.")}: malformed JSON \\(`));
  });

  it("malformed vocab.json and a bad merges.txt line", async () => {
    const merges = readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8");
    const vocab = readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8");
    const badVocab = await folderWith({ "vocab.json": "{\"a\": }", "merges.txt": merges });
    await expect(loadTokenizer(badVocab)).rejects.toThrow(`${badVocab}/vocab.json: malformed JSON`);
    const negative = await folderWith({ "vocab.json": JSON.stringify({ a: -1 }), "merges.txt": "" });
    await expect(loadTokenizer(negative)).rejects.toThrow(`${negative}/vocab.json: the vocabulary["a"] must be a non-negative integer, got number -1`);
    const badLine = await folderWith({ "vocab.json": vocab, "merges.txt": `${merges}a b c\n` });
    const line = merges.split("\n").length;
    await expect(loadTokenizer(badLine)).rejects.toThrow(`${badLine}/merges.txt: line ${line} must be two tokens separated by one space, got "a b c"`);
    const unknown = await folderWith({ "vocab.json": vocab, "merges.txt": `${merges}\u0120zz q\n` });
    await expect(loadTokenizer(unknown)).rejects.toThrow(/merge \d+ \("Ġzz" "q"\) uses "Ġzz", which is not in the vocabulary/);
  });

  type Json = Record<string, unknown>;
  const model = (j: Json) => j["model"] as Json;
  const broken: Array<[name: string, edit: (j: Json) => void, message: string]> = [
    ["model", (j) => { model(j)["type"] = "WordPiece"; }, 'unsupported model type "WordPiece"'],
    ["normalizer", (j) => { j["normalizer"] = { type: "BertNormalizer" }; }, 'unsupported normalizer type "BertNormalizer"'],
    ["pre_tokenizer", (j) => { j["pre_tokenizer"] = { type: "Whitespace" }; }, 'unsupported pre_tokenizer type "Whitespace"'],
    [
      "pre_tokenizer in a Sequence",
      (j) => { j["pre_tokenizer"] = { type: "Sequence", pretokenizers: [{ type: "ByteLevel" }, { type: "Punctuation" }] }; },
      'unsupported pre_tokenizer type "Punctuation"',
    ],
    ["decoder", (j) => { j["decoder"] = { type: "WordPiece" }; }, 'unsupported decoder type "WordPiece"'],
    ["post_processor", (j) => { j["post_processor"] = { type: "Nope" }; }, 'unsupported post_processor type "Nope"'],
    ["Split regex", (j) => { j["pre_tokenizer"] = { type: "Split", pattern: { Regex: "\\p{L}++" }, behavior: "Isolated" }; }, "possessive quantifier"],
    ["Split behavior", (j) => { j["pre_tokenizer"] = { type: "Split", pattern: { String: " " }, behavior: "Sideways" }; }, 'pre_tokenizer.behavior must be one of'],
    ["missing model", (j) => { delete j["model"]; }, 'missing "model" object'],
    ["merges entry", (j) => { model(j)["merges"] = ["a b c"]; }, 'model.merges[0] must be two tokens separated by one space'],
    ["added token id clash", (j) => { (j["added_tokens"] as Json[])[0]!["id"] = 3; }, 'added token "<|endoftext|>" has id 3 but id 382 in the vocabulary'],
  ];
  it.each(broken)("%s", async (_, edit, message) => {
    const { dir, load } = await brokenTokenizerJson(edit);
    await expect(load()).rejects.toThrow(`${dir}/tokenizer.json: `);
    await expect(load()).rejects.toThrow(message);
  });

  it("a special token named in tokenizer_config.json but missing from the vocabulary", async () => {
    const dir = await folderWith({ "tokenizer.json": JSON.stringify(gpt2Json()), "tokenizer_config.json": JSON.stringify({ eos_token: "</s>" }) });
    await expect(loadTokenizer(dir)).rejects.toThrow(`${dir}/tokenizer.json: eos token "</s>" is not in the vocabulary`);
  });
});

describe("writing tokenizers and reading them back", () => {
  it("tokenizer.json written by toTokenizerJson loads back identically, for every fixture layout", async () => {
    for (const folder of ["gpt2-files", "gpt2-json", "llama3-style", "qwen2-style", "llama2-style", "metaspace-style"]) {
      const original = await loadTokenizer(`${FIXTURES}${folder}`);
      const again = tokenizerFromFiles({ "tokenizer.json": toTokenizerJson(original) }, folder);
      // Roles come from config files, which this copy does not have.
      const texts = expected[folder.startsWith("gpt2") ? "gpt2" : folder]!.cases.map((c) => c.text);
      for (const text of texts) {
        expect(again.encode(text), `${folder} ${JSON.stringify(text)}`).toEqual(original.encode(text));
        expect(again.encode(text, { addSpecialTokens: true })).toEqual(original.encode(text, { addSpecialTokens: true }));
      }
      expect(again.addedTokens).toEqual(original.addedTokens);
    }
  });

  it("GPT-2 files written from the tokenizer.json layout equal the reference vocab.json and merges.txt", async () => {
    const { vocabJson, mergesTxt } = toGpt2Files(await loadTokenizer(`${FIXTURES}gpt2-json`));
    expect(mergesTxt).toBe(readFileSync(`${FIXTURES}gpt2-files/merges.txt`, "utf8"));
    expect(JSON.parse(vocabJson)).toEqual(JSON.parse(readFileSync(`${FIXTURES}gpt2-files/vocab.json`, "utf8")));
  });

  it("layouts that are not GPT-2 byte-level refuse to become vocab.json + merges.txt", async () => {
    for (const folder of ["llama2-style", "qwen2-style", "llama3-style"]) {
      const tok = await loadTokenizer(`${FIXTURES}${folder}`);
      expect(() => toGpt2Files(tok)).toThrow("not a GPT-2 style byte-level BPE");
    }
  });

  it("a trained tokenizer survives saveTokenizer, writeTokenizerJson and writeGpt2TokenizerFiles", async () => {
    const trained = trainByteLevelBpe(CORPUS, { vocabSize: 420, specialTokens: ["<|endoftext|>", "<pad>"], padToken: "<pad>" });
    expect([trained.bosTokenId, trained.eosTokenId, trained.padTokenId]).toEqual([trained.vocabSize - 2, trained.vocabSize - 2, trained.vocabSize - 1]);
    const texts = [...TRICKY, ...CORPUS, "a<pad><pad>b<|endoftext|>"];

    const full = join(scratch, "trained-full");
    await saveTokenizer(full, trained);
    sameBehaviour(trained, await loadTokenizer(full), texts);

    // Without tokenizer.json, the folder falls back to vocab.json + merges.txt + tokenizer_config.json.
    const legacy = join(scratch, "trained-legacy");
    await cp(full, legacy, { recursive: true });
    await rm(join(legacy, "tokenizer.json"));
    sameBehaviour(trained, await loadTokenizer(legacy), texts);

    const jsonOnly = join(scratch, "trained-json");
    await writeTokenizerJson(jsonOnly, trained);
    const fromJson = await loadTokenizer(jsonOnly);
    for (const text of texts) expect(fromJson.encode(text)).toEqual(trained.encode(text));

    // vocab.json + merges.txt alone: "<|endoftext|>" is still special (GPT-2's convention).
    const gpt2Only = join(scratch, "trained-gpt2");
    await writeGpt2TokenizerFiles(gpt2Only, trained);
    const fromGpt2 = await loadTokenizer(gpt2Only);
    for (const text of TRICKY) expect(fromGpt2.encode(text)).toEqual(trained.encode(text));
    expect(fromGpt2.encode("<|endoftext|>")).toEqual([trained.eosTokenId]);

    const config = JSON.parse(await readFile(join(full, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ tokenizer_class: "GPT2Tokenizer", eos_token: "<|endoftext|>", pad_token: "<pad>", clean_up_tokenization_spaces: false });
  });
});
