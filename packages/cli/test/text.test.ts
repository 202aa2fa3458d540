/**
 * Text input through a model folder's tokenizer: a character-level tokenizer.json on the
 * golden GPT-2 fixture (so text runs are checked against the torch reference), and the
 * GPT-2 and Llama 3 tokenizer fixtures on random models of their vocabulary size (encodings
 * checked against the Python reference encodings in expected.json).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randNormal } from "@gim/tensor";
import { paramShapes, parseConfig } from "@gim/transformer";
import { writeSafetensors } from "@gim/transformer/node";
import { afterAll, describe, expect, it } from "vitest";
import { readGolden, relativeError } from "../../transformer/test/golden.js";
import { gim, jsonLines, modelsDir, repoRoot } from "./helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-cli-text-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tokenizerFixtures = path.join(repoRoot, "packages/transformer/test/tokenizer-fixtures");
interface ExpectedCase { text: string; ids: number[]; idsWithSpecial: number[] }
const expected = JSON.parse(fs.readFileSync(path.join(tokenizerFixtures, "expected.json"), "utf8")) as Record<string, { cases: ExpectedCase[] }>;
const IOI = "When Mary and John went to the store, John gave a drink to";

/**
 * A tokenizer.json whose tokens are single characters: id i is printable ASCII 32 + i
 * (id 0 is " "), the last id is a special end-of-text token. No merges, so each character is
 * one token and any id sequence below 95 has an obvious text.
 */
function charTokenizerJson(vocabSize: number): string {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < vocabSize - 1; i++) vocab[String.fromCharCode(32 + i)] = i;
  vocab["<|endoftext|>"] = vocabSize - 1;
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: vocabSize - 1, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  });
}

/** A model folder with random weights for `config` and the given tokenizer files. */
function randomModelFolder(name: string, config: Record<string, unknown>, tokenizerFiles: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  const weights = new Map<string, ReturnType<typeof randNormal>>();
  let seed = 1;
  for (const [param, shape] of paramShapes(parseConfig(config, name))) {
    const isNorm = /(ln_\d|ln_f|norm)\.weight$/.test(param) || /layernorm\.weight$/.test(param);
    weights.set(param, randNormal(shape, { seed: seed++, mean: isNorm ? 1 : 0, std: isNorm ? 0.1 : 0.2 }));
  }
  writeSafetensors(path.join(dir, "model.safetensors"), weights);
  for (const [file, source] of Object.entries(tokenizerFiles)) fs.copyFileSync(source, path.join(dir, file));
  return dir;
}

describe("text through a character tokenizer on the golden GPT-2 fixture", () => {
  const golden = readGolden("gpt2-f32");
  const dir = path.join(tmp, "gpt2-chars");
  fs.mkdirSync(dir);
  for (const f of ["config.json", "model.safetensors"]) fs.copyFileSync(path.join(modelsDir, "gpt2-f32", f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), charTokenizerJson(96));
  const text = golden.ids.map((id) => String.fromCharCode(32 + id)).join("");

  it("explain TEXT --json matches the reference GIM attributions, with the id of \" \" as the default baseline", async () => {
    expect(golden.gim.baseline_id).toBe(0); // id 0 is " " in this tokenizer
    const r = await gim(["explain", text, "--model", dir, "--json"]);
    expect(r.stderr).toBe("");
    const [out] = jsonLines(r.stdout);
    expect(out!["ids"]).toEqual(golden.ids);
    expect(out!["tokens"]).toEqual([...text]);
    expect(out!["target"]).toBe(golden.gim.target_id);
    expect(relativeError(out!["attributions"] as number[], golden.gim.results.find((x) => x.name === "gim")!.attributions)).toBeLessThan(1e-4);
  });

  it("--target takes a one-token string", async () => {
    const targetText = String.fromCharCode(32 + golden.gim.target_id);
    const [out] = jsonLines((await gim(["explain", text, "--model", dir, "--json", "--target", targetText, "--method", "gradient"])).stdout);
    expect(out!["target"]).toBe(golden.gim.target_id);
    expect(relativeError(out!["attributions"] as number[], golden.gim.results.find((x) => x.name === "gradient")!.attributions)).toBeLessThan(1e-4);
    const other = await gim(["explain", text, "--model", dir, "--json", "--target", "A"]);
    expect((jsonLines(other.stdout)[0]!)["target"]).toBe(65 - 32);
  });

  it("--target that is not exactly one token is a usage error", async () => {
    const r = await gim(["explain", text, "--model", dir, "--target", "ab"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('gim: --target "ab" encodes to 2 tokens (ids 65, 66); it must be exactly one token (mind the leading space, e.g. " Paris")\n');
  });

  it("logits TEXT --json matches the reference logits", async () => {
    const r = await gim(["logits", text, "--model", dir, "--json"]);
    expect(relativeError((JSON.parse(r.stdout) as { logits: number[] }).logits, golden.logits.at(-1)!)).toBeLessThan(1e-4);
  });

  it("the report shows decoded tokens with whitespace made visible", async () => {
    const r = await gim(["explain", "a b", "--model", dir, "--method", "gim"]);
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /^\d+\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 3));
    expect(rows).toEqual([["0", "a", "65"], ["1", "␣", "0"], ["2", "b", "66"]]);
    expect(r.stdout).toContain('baseline  " " (id 0)');
    const logits = await gim(["logits", "a b", "--model", dir]);
    expect(logits.stdout).toContain('after token "b" (id 66)');
  });
});

describe("text through real tokenizer layouts on random models", () => {
  it("GPT-2 byte-level BPE: the ids of the Python reference, tokens that spell the text, the space as baseline", async () => {
    const dir = randomModelFolder(
      "gpt2-bpe",
      { model_type: "gpt2", vocab_size: 383, n_positions: 64, n_embd: 16, n_layer: 2, n_head: 2, n_inner: null, layer_norm_epsilon: 1e-5, activation_function: "gelu_new", bos_token_id: 382, eos_token_id: 382 },
      { "tokenizer.json": path.join(tokenizerFixtures, "gpt2-json/tokenizer.json") },
    );
    const reference = expected["gpt2"]!.cases.find((c) => c.text === IOI)!;
    const [fromText] = jsonLines((await gim(["explain", IOI, "--model", dir, "--json"])).stdout);
    expect(fromText!["ids"]).toEqual(reference.ids);
    expect((fromText!["tokens"] as string[]).join("")).toBe(IOI);
    expect((fromText!["tokens"] as string[])[1]).toBe(" Mary");
    const spaceId = expected["gpt2"]!.cases.find((c) => c.text === " ")!.ids[0]!;
    const [fromIds] = jsonLines((await gim(["explain", "--ids", reference.ids.join(","), "--baseline-id", String(spaceId), "--model", dir, "--json"])).stdout);
    expect(fromIds!["attributions"]).toEqual(fromText!["attributions"]);
  });

  it("Llama 3 layout: BOS is added as Hugging Face does, unless --no-special-tokens", async () => {
    const dir = randomModelFolder(
      "llama3-bpe",
      {
        model_type: "llama", vocab_size: 386, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
        rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 64, tie_word_embeddings: false, hidden_act: "silu", bos_token_id: 382, eos_token_id: 383,
      },
      {
        "tokenizer.json": path.join(tokenizerFixtures, "llama3-style/tokenizer.json"),
        "tokenizer_config.json": path.join(tokenizerFixtures, "llama3-style/tokenizer_config.json"),
      },
    );
    const reference = expected["llama3-style"]!.cases.find((c) => c.text === IOI)!;
    expect(reference.idsWithSpecial).not.toEqual(reference.ids);
    const withBos = jsonLines((await gim(["explain", IOI, "--model", dir, "--json", "--method", "gim,gate-up-scale"])).stdout);
    expect(withBos.map((l) => l["ids"])).toEqual([reference.idsWithSpecial, reference.idsWithSpecial]);
    expect((withBos[0]!["tokens"] as string[])[0]).toBe("<|begin_of_text|>");
    const bare = await gim(["logits", IOI, "--model", dir, "--json", "--no-special-tokens"]);
    const viaIds = await gim(["logits", "--ids", reference.ids.join(","), "--model", dir, "--json"]);
    expect(bare.stdout).toBe(viaIds.stdout);
  });
});
