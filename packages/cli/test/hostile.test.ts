/**
 * The `gim` command against hostile input: malformed model folders, tokenizers and options,
 * made at test time. Every case must end in bounded time and memory with exactly one line
 * `gim: ...` on stderr (control characters escaped), nothing on stdout and a non-zero exit
 * code. Cases run in a sandbox worker (see transformer/test/hostile/sandbox.ts), so a hang or
 * a runaway allocation fails its case instead of the test run.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as T from "@gim/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { makeFifo, makeLink, nestedArrays, safetensorsBytes, Scratch, sources } from "../../transformer/test/hostile/folders.js";
import { CLI_MODULE, Sandbox } from "../../transformer/test/hostile/sandbox.js";
import { runCli } from "../src/index.js";
import { repoRoot } from "./helpers.js";

const scratch = new Scratch();
const sandbox = new Sandbox({ maxHeapMb: 1024, preload: [CLI_MODULE] });
afterAll(() => {
  sandbox.stop();
  scratch.remove();
});

/** One hostile case: the command line (made lazily, so folders are built when the case runs) and how it must fail. */
interface Case {
  readonly argv: () => readonly string[];
  /** Exit code: 1 the run failed (a bad file), 2 the command line is wrong. */
  readonly code: 1 | 2;
  /** The stderr line after `gim: `. */
  readonly message: RegExp;
  /** Time limit (default 10 s). */
  readonly seconds?: number;
  /** Limit on the process's resident memory growth (default 400 MB). */
  readonly maxRssMb?: number;
  /** Not handled yet: the case is skipped (the reason says what is missing). */
  readonly pending?: string;
}

const ids = "1,2,3";
const logits = (dir: string, ...rest: string[]) => ["logits", "--model", dir, "--ids", ids, "--json", ...rest];
const explain = (dir: string, ...rest: string[]) => ["explain", "--model", dir, ...rest];
const copy = scratch.copy.bind(scratch);
const { gpt2, llamaSharded, mistral, qwen2, ioiGpt2, gpt2Prefixed } = sources;

/** A tokenizer.json change: the ByteLevel pre-tokenizer replaced by a Split on `regex` (then ByteLevel without its regex). */
const splitOn = (regex: string) => (json: Record<string, any>) => {
  json["pre_tokenizer"] = { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false }, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] };
};
/** A tokenizer.json change: component `component` wrapped in `depth` Sequences (written as text: too deep for JSON.stringify). */
const nestedIn = (component: string, key: string, depth: number, inner?: unknown) => (json: Record<string, any>) => {
  const innerText = JSON.stringify(inner ?? json[component]);
  json[component] = "\u0000nested";
  return JSON.stringify(json).replace('"\\u0000nested"', `{"type":"Sequence","${key}":[`.repeat(depth) + innerText + "]}".repeat(depth));
};

const cases: Record<string, Record<string, Case>> = {
  "sizes are checked against limits and the tensors present before anything is allocated": {
    "GPT-2 with a billion layers": { argv: () => logits(copy("layers", gpt2, { config: (c) => ({ ...c, n_layer: 1e9 }) })), code: 1, message: /config\.json: "n_layer" must be an integer in \[1, 4096\], got 1000000000$/ },
    "GPT-2 with one layer more than stored": { argv: () => logits(copy("layers+1", gpt2, { config: (c) => ({ ...c, n_layer: 3 }) })), code: 1, message: /config\.json: "n_layer" is 3, but .*model\.safetensors holds 2 layers$/ },
    "Mistral with a billion layers (sliding windows per layer)": { argv: () => logits(copy("mistral-layers", mistral, { config: (c) => ({ ...c, num_hidden_layers: 1e9 }) })), code: 1, message: /config\.json: "num_hidden_layers" must be an integer in \[1, \d+\], got 1000000000/ },
    "Qwen2 with 2^31 layers and layer types": { argv: () => logits(copy("qwen2-layers", qwen2, { config: (c) => ({ ...c, num_hidden_layers: 2 ** 31, use_sliding_window: true, sliding_window: 4 }) })), code: 1, message: /config\.json: "num_hidden_layers" must be an integer in \[1, \d+\], got 2147483648/ },
    "a vocabulary of 2^40": { argv: () => logits(copy("vocab", gpt2, { config: (c) => ({ ...c, vocab_size: 2 ** 40 }) })), code: 1, message: /config\.json: "vocab_size" must be an integer in \[1, \d+\], got 1099511627776/ },
    "a trillion positions": { argv: () => logits(copy("positions", gpt2, { config: (c) => ({ ...c, n_positions: 1e12 }) })), code: 1, message: /config\.json: "n_positions" must be an integer in \[1, \d+\], got 1000000000000/ },
    "Llama with a quadrillion positions": { argv: () => logits(copy("llama-positions", llamaSharded, { config: (c) => ({ ...c, max_position_embeddings: 1e15 }) })), code: 1, message: /config\.json: "max_position_embeddings" must be an integer in \[1, \d+\], got 1000000000000000/ },
    "Llama with a billion heads": { argv: () => logits(copy("heads", llamaSharded, { config: (c) => ({ ...c, num_attention_heads: 1e9, num_key_value_heads: 1e9, head_dim: 2 }) })), code: 1, message: /model\.safetensors\.index\.json: tensor "model\.layers\.0\.self_attn\.q_proj\.weight" has shape \[\d+, \d+\], but the config needs \[2000000000, \d+\]/ },
    "a width that is not a safe integer": { argv: () => logits(copy("width", gpt2, { config: (c) => ({ ...c, n_embd: 2 ** 60, n_head: 1 }) })), code: 1, message: /config\.json: "n_embd" must be an integer in \[1, \d+\], got 1152921504606847000/ },
    "a stored tensor whose shape claims 2^50 rows of nothing": {
      argv: () => logits(copy("empty-rows", gpt2, { tensors: (m) => void m.set("wte.weight", T.zeros([2 ** 50, 0])) })),
      code: 1,
      message: /model\.safetensors: tensor "wte\.weight" has shape \[1125899906842624, 0\], but the config needs \[96, 32\]/,
    },
    "a header length of 2^63": { argv: () => logits(copy("header-length", gpt2, { files: { "model.safetensors": safetensorsBytes({}, new Uint8Array(0), 2n ** 63n) } })), code: 1, message: /model\.safetensors: header length 9223372036854775808 exceeds the file size/ },
    "--ids with a million ids": { argv: () => ["logits", "--model", gpt2, "--ids", Array(1e6).fill(1).join(","), "--json"], code: 2, message: /--ids: the sequence has 1000000 tokens; this model accepts at most 32/ },
  },

  "only regular files are read, links are resolved with clear messages, and sizes are capped": {
    "config.json is a FIFO": { argv: () => { const d = copy("fifo-config", gpt2); makeFifo(d, "config.json"); return logits(d); }, code: 1, message: /config\.json: is not a regular file \(a FIFO\)/ },
    "model.safetensors is a FIFO": { argv: () => { const d = copy("fifo-weights", gpt2); makeFifo(d, "model.safetensors"); return logits(d); }, code: 1, message: /model\.safetensors: is not a regular file \(a FIFO\)/ },
    "the shard index is a FIFO": { argv: () => { const d = copy("fifo-index", llamaSharded); makeFifo(d, "model.safetensors.index.json"); return logits(d); }, code: 1, message: /model\.safetensors\.index\.json: is not a regular file \(a FIFO\)/ },
    "a shard is a FIFO": { argv: () => { const d = copy("fifo-shard", llamaSharded); makeFifo(d, "model-00002-of-00002.safetensors"); return logits(d); }, code: 1, message: /model-00002-of-00002\.safetensors: is not a regular file \(a FIFO\)/ },
    "tokenizer.json is a FIFO": { argv: () => { const d = copy("fifo-tokenizer", ioiGpt2); makeFifo(d, "tokenizer.json"); return explain(d, "Mary"); }, code: 1, message: /tokenizer\.json: is not a regular file \(a FIFO\)/ },
    "vocab.json is a FIFO": { argv: () => { const d = copy("fifo-vocab", ioiGpt2, { files: { "tokenizer.json": null } }); makeFifo(d, "vocab.json"); return explain(d, "Mary"); }, code: 1, message: /vocab\.json: is not a regular file \(a FIFO\)/ },
    "config.json links to /dev/zero": { argv: () => { const d = copy("zero-config", gpt2); makeLink(d, "config.json", "/dev/zero"); return logits(d); }, code: 1, message: /config\.json: is not a regular file \(a character device, reached through a symbolic link to \/dev\/zero\)/ },
    "tokenizer.json links to /dev/urandom": { argv: () => { const d = copy("urandom-tokenizer", ioiGpt2); makeLink(d, "tokenizer.json", "/dev/urandom"); return explain(d, "Mary"); }, code: 1, message: /tokenizer\.json: is not a regular file \(a character device/ },
    "config.json is a dangling link": { argv: () => { const d = copy("dangling-config", gpt2); makeLink(d, "config.json", "gone.json"); return logits(d); }, code: 1, message: /config\.json: is a broken symbolic link \(to gone\.json, which does not exist\)/ },
    "config.json is a link loop": { argv: () => { const d = copy("loop-config", gpt2); makeLink(d, "config.json", "other.json"); makeLink(d, "other.json", "config.json"); return logits(d); }, code: 1, message: /config\.json: is a symbolic link loop/ },
    "model.safetensors is a dangling link": { argv: () => { const d = copy("dangling-weights", gpt2); makeLink(d, "model.safetensors", "/nonexistent/weights"); return logits(d); }, code: 1, message: /model\.safetensors: is a broken symbolic link \(to \/nonexistent\/weights, which does not exist\)/ },
    "a shard is a dangling link": { argv: () => { const d = copy("dangling-shard", llamaSharded); makeLink(d, "model-00001-of-00002.safetensors", "nowhere"); return logits(d); }, code: 1, message: /model-00001-of-00002\.safetensors: is a broken symbolic link/ },
    "tokenizer.json is a dangling link": { argv: () => { const d = copy("dangling-tokenizer", ioiGpt2); makeLink(d, "tokenizer.json", "nowhere.json"); return explain(d, "Mary"); }, code: 1, message: /tokenizer\.json: is a broken symbolic link \(to nowhere\.json, which does not exist\)/ },
    "config.json is a folder": { argv: () => { const d = copy("folder-config", gpt2); fs.rmSync(path.join(d, "config.json")); fs.mkdirSync(path.join(d, "config.json")); return logits(d); }, code: 1, message: /config\.json: is not a regular file \(a folder\)/ },
    "the model folder is a dangling link": { argv: () => { const d = scratch.folder("link-parent"); return logits(makeLink(d, "model", "missing-model")); }, code: 1, message: /^model folder .*\/model is a broken symbolic link \(to missing-model, which does not exist\)$/ },
    "the model folder is a FIFO": { argv: () => { const d = scratch.folder("fifo-parent"); return logits(makeFifo(d, "model")); }, code: 1, message: /model is a FIFO, not a folder \(--model takes a Hugging Face model folder\)$/ },
    "a 64 MB config.json (sparse)": { argv: () => { const d = copy("big-config", gpt2); fs.truncateSync(path.join(d, "config.json"), 64 * 2 ** 20); return logits(d); }, code: 1, message: /config\.json: is 67108864 bytes, over the limit of \d+/ },
    "a 1 GB tokenizer.json (sparse)": { argv: () => { const d = copy("big-tokenizer", ioiGpt2); fs.truncateSync(path.join(d, "tokenizer.json"), 2 ** 30); return explain(d, "Mary"); }, code: 1, message: /tokenizer\.json: is 1073741824 bytes, over the limit of \d+/ },
  },

  "work that input controls is bounded": {
    "a split regex that backtracks exponentially: (a+)+": { argv: () => explain(copy("regex-nested", ioiGpt2, { tokenizer: splitOn("(a+)+$") }), "a".repeat(40) + "!"), code: 1, message: /tokenizer\.json: pre_tokenizer\.pretokenizers\[0\]\.pattern: the regex "\(a\+\)\+\$" can backtrack exponentially \(a repeated group holds a quantifier\)/ },
    "a split regex that backtracks exponentially: (\\s*a)*": { argv: () => explain(copy("regex-nested-star", ioiGpt2, { tokenizer: splitOn("(?:\\s*a)*b") }), "Mary"), code: 1, message: /can backtrack exponentially \(a repeated group holds a quantifier\)/ },
    "a split regex that backtracks exponentially: (a|ab)*": { argv: () => explain(copy("regex-alternation", ioiGpt2, { tokenizer: splitOn("(a|ab)*c") }), "Mary"), code: 1, message: /can backtrack exponentially \(a repeated group holds an alternation\)/ },
    "a split regex with too many adjacent repetitions": { argv: () => explain(copy("regex-polynomial", ioiGpt2, { tokenizer: splitOn("a*a*a*a*a*a*a*a*b") }), "Mary"), code: 1, message: /has 8 unbounded repetitions in one sequence; at most 3/ },
    "a normalizer Replace regex that backtracks exponentially": { argv: () => explain(copy("regex-normalizer", ioiGpt2, { tokenizer: (j) => void (j["normalizer"] = { type: "Replace", pattern: { Regex: "(x+x+)+y" }, content: "" }) }), "Mary"), code: 1, message: /normalizer\.pattern: the regex .* can backtrack exponentially/ },
    "a pre-tokenizer nested 100,000 Sequences deep": { argv: () => explain(copy("deep-pre", ioiGpt2, { tokenizer: nestedIn("pre_tokenizer", "pretokenizers", 1e5) }), "Mary"), code: 1, message: /tokenizer\.json: pre_tokenizer(\.pretokenizers\[0\])+: Sequences nested deeper than \d+/ },
    "a normalizer nested 100,000 Sequences deep": { argv: () => explain(copy("deep-norm", ioiGpt2, { tokenizer: nestedIn("normalizer", "normalizers", 1e5, { type: "NFC" }) }), "Mary"), code: 1, message: /normalizer(\.normalizers\[0\])+: Sequences nested deeper than \d+/ },
    "a decoder nested 100,000 Sequences deep": { argv: () => explain(copy("deep-dec", ioiGpt2, { tokenizer: nestedIn("decoder", "decoders", 1e5) }), "Mary"), code: 1, message: /decoder(\.decoders\[0\])+: Sequences nested deeper than \d+/ },
    "a config value nested 100,000 arrays deep": { argv: () => logits(copy("deep-config", gpt2, { config: (c) => JSON.stringify({ ...c, n_head: 0 }).replace('"n_head":0', `"n_head":${nestedArrays(1e5)}`) })), code: 1, message: /config\.json: "n_head" must be an integer in \[1, \d+\], got \[\[\[\[\[\.\.\.\]\]\]\]\]/ },
    "a safetensors shape nested 100,000 arrays deep": { argv: () => logits(copy("deep-shape", gpt2, { files: { "model.safetensors": safetensorsBytes(`{"a":{"dtype":"F32","shape":${nestedArrays(1e5)},"data_offsets":[0,0]}}`) } })), code: 1, message: /model\.safetensors: tensor "a" has shape \[\[\[\[\[\.\.\.\]\]\]\]\], not a list of non-negative integers/ },
    "gim eval --subset of a trillion (refused before any example is built)": { argv: () => ["eval", "--model", "ioi-gpt2", "--subset", "1000000000000", "--json"], code: 2, message: /^option --subset must be at most 4096 \(the examples are built before the run starts, and each takes several forward and backward passes\), got 1000000000000$/, seconds: 5 },
    "integrated gradients with a million steps": { argv: () => explain(ioiGpt2, "Mary", "--method", "ig", "--steps", "1000000"), code: 2, message: /^option --steps must be at most 4096 \(one forward and backward pass each\), got 1000000$/, seconds: 5 },
    "an index naming 200,000 missing shards": {
      argv: () => {
        const d = copy("many-shards", llamaSharded);
        const weightMap = Object.fromEntries(Array.from({ length: 2e5 }, (_, i) => [`t${i}`, `shard-${i}.safetensors`]));
        fs.writeFileSync(path.join(d, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
        return logits(d);
      },
      code: 1,
      message: /model\.safetensors\.index\.json: weight_map names 200000 shard files; at most \d+/,
    },
    "an index naming 3,000 shards that exist": {
      argv: () => {
        const d = copy("existing-shards", llamaSharded);
        const weightMap: Record<string, string> = {};
        for (let i = 0; i < 3000; i++) {
          const file = `s${i}.safetensors`;
          fs.writeFileSync(path.join(d, file), safetensorsBytes({ [`extra.${i}`]: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
          weightMap[`extra.${i}`] = file;
        }
        fs.writeFileSync(path.join(d, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
        return logits(d);
      },
      code: 1,
      message: /config\.json: "num_hidden_layers" is 3, but .*model\.safetensors\.index\.json holds 0 layers$/,
      seconds: 20,
    },
  },

  "NaN and Inf are an error naming where they appeared, never a result": {
    "a NaN weight (logits --json)": { argv: () => logits(copy("nan-weight", gpt2, { tensors: (m) => void m.get("h.1.mlp.c_fc.weight")!.data.fill(NaN, 5, 6) })), code: 1, message: /^the logits are not finite: parameter "h\.1\.mlp\.c_fc\.weight" holds NaN \(element 5 of \[32, 128\]\)$/ },
    "an Inf weight (logits table)": { argv: () => ["logits", "--model", copy("inf-weight", gpt2, { tensors: (m) => void m.get("wte.weight")!.data.fill(Infinity, 40, 41) }), "--ids", "1,2,40"], code: 1, message: /^the logits are not finite: parameter "wte\.weight" holds Infinity \(element 40 of \[96, 32\]\)$/ },
    "a NaN weight in a sharded Llama": { argv: () => logits(copy("nan-llama", llamaSharded, { tensors: (m) => void m.get("model.layers.1.mlp.down_proj.weight")!.data.fill(NaN, 3, 4) })), code: 1, message: /^the logits are not finite: parameter "model\.layers\.1\.mlp\.down_proj\.weight" holds NaN \(element 3 of \[\d+, \d+\]\)$/ },
    "a NaN weight (explain picks no argmax among NaNs)": { argv: () => explain(copy("nan-explain", ioiGpt2, { tensors: (m) => void m.get("ln_f.bias")!.data.fill(NaN) }), "Mary"), code: 1, message: /^the logits are not finite: parameter "ln_f\.bias" holds NaN \(element 0 of \[64\]\)$/ },
    "a NaN weight with --allow-nonfinite still picks no argmax among NaNs": { argv: () => explain(copy("nan-explain-allowed", ioiGpt2, { tensors: (m) => void m.get("ln_f.bias")!.data.fill(NaN) }), "Mary", "--allow-nonfinite"), code: 1, message: /^the logits at position \d+ are not finite: token id 0 is NaN, so no target can be picked by argmax; pass a target$/ },
    "finite weights that overflow": { argv: () => logits(copy("overflow", gpt2, { tensors: (m) => void m.get("h.0.mlp.c_fc.weight")!.data.fill(3e38) })), code: 1, message: /^the logits are not finite: Infinity first appears in the output of linear at h\.0\.mlp\.c_fc \(element \d+ of \[1, 3, 128\]\), whose inputs are finite$/ },
    "occlusion on finite weights that overflow": {
      argv: () => explain(copy("overflow-occlusion", ioiGpt2, { tensors: (m) => void m.get("h.1.mlp.c_proj.weight")!.data.fill(3e37) }), "When Mary and John went to the store, John gave a drink to", "--method", "occlusion", "--target-id", "3"),
      code: 1,
      message: /^the logits are not finite: Infinity first appears in the output of linear at h\.1\.mlp\.c_proj/,
    },
    "a NaN weight (components)": {
      argv: () => ["components", "--model", copy("nan-components", ioiGpt2, { tensors: (m) => void m.get("h.0.attn.c_attn.bias")!.data.fill(NaN, 3, 4) }), "When Mary and John went to the store, John gave a drink to", "--corrupted", "When Mary and John went to the store, Mary gave a drink to"],
      code: 1,
      message: /^the logits are not finite: parameter "h\.0\.attn\.c_attn\.bias" holds NaN \(element 3 of \[\d+\]\)$/,
    },
    "a rope scaling factor that makes every frequency infinite": { argv: () => logits(copy("rope-factor", llamaSharded, { config: (c) => ({ ...c, rope_scaling: { rope_type: "linear", factor: 1e-320 } }) })), code: 1, message: /config\.json: "rope_scaling\.factor" must be at least 1, got 1e-320$/ },
    "a temperature that underflows (1e-320)": { argv: () => explain(ioiGpt2, "When Mary and John went to the store, John gave a drink to", "--softmax-temperature", "1e-320", "--json"), code: 2, message: /^option --softmax-temperature must be at least 1e-30 \(softmax\(s \/ T\) is already one-hot there; far below it, 1 \/ T overflows and the softmax is NaN\), got 1e-320$/ },
    "a temperature of 0": { argv: () => explain(ioiGpt2, "Mary", "--softmax-temperature", "0"), code: 2, message: /^option --softmax-temperature must be greater than 0, got 0$/ },
    "a temperature that is not finite": { argv: () => explain(ioiGpt2, "Mary", "--softmax-temperature", "1e999"), code: 2, message: /^option --softmax-temperature needs a number, got "1e999"$/ },
    "a scale that overflows float32": { argv: () => explain(ioiGpt2, "Mary", "--q-scale", "1e308", "--json"), code: 2, message: /^option --q-scale must be 0 or between 1e-30 and 1e\+30 in magnitude \(larger ones overflow float32 gradients\), got 1e\+308$/ },
    "a scale that underflows": { argv: () => explain(ioiGpt2, "Mary", "--v-scale", "1e-320"), code: 2, message: /^option --v-scale must be 0 or between 1e-30 and 1e\+30 in magnitude \(smaller ones underflow float32 gradients\), got 1e-320$/ },
    "scales that overflow the gradient together": { argv: () => explain(ioiGpt2, "When Mary and John went to the store, John gave a drink to", "--q-scale", "1e20", "--k-scale", "1e20", "--v-scale", "1e20", "--json"), code: 1, message: /^the gim attributions are not finite: the gradient first became (Infinity|NaN|-Infinity) in the backward of \w+ at h\.\d\./ },
  },

  "ambiguous checkpoints are refused": {
    "a tensor named twice in the header": {
      argv: () => logits(copy("dup-header", gpt2, { files: { "model.safetensors": safetensorsBytes('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)) } })),
      code: 1,
      message: /model\.safetensors: the header names "a" twice/,
    },
    "a field named twice in a header entry": {
      argv: () => logits(copy("dup-field", gpt2, { files: { "model.safetensors": safetensorsBytes('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)) } })),
      code: 1,
      message: /model\.safetensors: the header names "a"\."dtype" twice/,
    },
    "a key twice in config.json": { argv: () => logits(copy("dup-config", gpt2, { config: (c) => JSON.stringify(c).replace('"n_layer":2', '"n_layer":2,"n_layer":1') })), code: 1, message: /config\.json: the file names "n_layer" twice/ },
    "a tensor twice in the index": { argv: () => logits(copy("dup-index", llamaSharded, { files: { "model.safetensors.index.json": fs.readFileSync(path.join(llamaSharded, "model.safetensors.index.json"), "utf8").replace('"weight_map": {', '"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors",') } })), code: 1, message: /model\.safetensors\.index\.json: the file names "weight_map"\."model\.norm\.weight" twice/ },
    "a token twice in the vocabulary": { argv: () => explain(copy("dup-vocab", ioiGpt2, { tokenizer: (j) => JSON.stringify(j).replace('"vocab":{', '"vocab":{"!":5,') }), "Mary"), code: 1, message: /tokenizer\.json: the file names "model"\."vocab"\."!" twice/ },
    "a prefixed and an unprefixed copy of a tensor": { argv: () => logits(copy("both-prefixes", gpt2, { tensors: (m) => void m.set("transformer.wte.weight", m.get("wte.weight")!) })), code: 1, message: /model\.safetensors: holds both "wte\.weight" and "transformer\.wte\.weight"/ },
    "a 2-layer checkpoint read as 1 layer": { argv: () => logits(copy("fewer-layers", gpt2, { config: (c) => ({ ...c, n_layer: 1 }) })), code: 1, message: /config\.json: "n_layer" is 1, but .*model\.safetensors holds 2 layers$/ },
    "a tensor the config does not use": { argv: () => logits(copy("unused", gpt2, { tensors: (m) => void m.set("h.0.attn.extra", T.zeros([2])) })), code: 1, message: /model\.safetensors: 1 tensor is not used by this gpt2 config: "h\.0\.attn\.extra"/ },
    "a tied model whose own lm_head differs from its embeddings": { argv: () => logits(copy("tied-differs", gpt2, { tensors: (m) => void m.set("lm_head.weight", T.mul(m.get("wte.weight")!, 2)) })), code: 1, message: /model\.safetensors: tie_word_embeddings is true but the checkpoint's "lm_head\.weight" differs from "wte\.weight"/ },
  },

  "messages are one escaped line, naming what the user gave": {
    "escape sequences in config.json": { argv: () => logits(copy("escape-config", gpt2, { config: (c) => ({ ...c, model_type: "\u001b[2J\u001b[31mred\u009b1m\u202e" }) })), code: 1, message: /config\.json: unknown model_type "\\u001b\[2J\\u001b\[31mred\\u009b1m\\u202e"/ },
    "escape sequences in a tensor name": { argv: () => logits(copy("escape-tensor", gpt2, { tensors: (m) => void m.set("\u001b]0;pwned\u0007", T.zeros([1])) })), code: 1, message: /"\\u001b\]0;pwned\\u0007"/ },
    "escape sequences in a tokenizer's merge": { argv: () => explain(copy("escape-merge", ioiGpt2, { tokenizer: (j) => void j["model"]["merges"].push("\u001b[5m \u0007") }), "Mary"), code: 1, message: /tokenizer\.json: merge \d+ \("\\u001b\[5m" "\\u0007"\) uses "\\u001b\[5m", which is not in the vocabulary/ },
    "ids given as a JSON array with a nested one": { argv: () => ["logits", "--model", gpt2, "--ids", "[1,[2,3]]"], code: 2, message: /^option --ids takes integers separated by commas, without brackets; got a JSON array "\[1,\[2,3\]\]"$/ },
    "ids given as quoted strings": { argv: () => ["logits", "--model", gpt2, "--ids", '"1","2"'], code: 2, message: /^option --ids: "\\"1\\"" is a quoted string, not a token id/ },
    "a negative id": { argv: () => ["logits", "--model", gpt2, "--ids", "1,-2"], code: 2, message: /^option --ids: "-2" is negative, not a token id/ },
    "an id past the vocabulary": { argv: () => ["logits", "--model", gpt2, "--ids", "1,96"], code: 2, message: /^--ids: token id 96 at position 1 is outside the vocabulary \[0, 96\)$/ },
    "an html page written to a full disk": { argv: () => explain(ioiGpt2, "Mary", "--json", "--html", "/dev/full"), code: 1, message: /^cannot write --html \/dev\/full: ENOSPC$/ },
    "the --corrupted text is named as such": {
      argv: () => ["components", "--model", ioiGpt2, "When Mary and John went to the store, John gave a drink to", "--corrupted", "When Mary and John went to the store, John gave a drink to Mary and John and then they went home" + " and again".repeat(30)],
      code: 2,
      message: /^--corrupted: the sequence has \d+ tokens; this model accepts at most 64/,
    },
  },
};

describe.each(Object.entries(cases))("%s", (_group, table) => {
  const entries = Object.entries(table);
  const pending = entries.filter(([, c]) => c.pending !== undefined);
  if (pending.length > 0) it.skip.each(pending)("%s", () => {});
  it.each(entries.filter(([, c]) => c.pending === undefined))("%s", async (_name, c) => {
    const argv = c.argv();
    const r = await sandbox.cli(argv, { cwd: repoRoot, timeoutMs: (c.seconds ?? 10) * 1000 });
    expect(r.timedOut, "timed out").toBe(false);
    expect(r.died, "the process died").toBeUndefined();
    const out = r.outcome!;
    expect(out.stdout).toBe("");
    expect(out.stderr.endsWith("\n") && out.stderr.indexOf("\n") === out.stderr.length - 1, `one line: ${JSON.stringify(out.stderr.slice(0, 300))}`).toBe(true);
    expect(out.stderr).toMatch(/^gim: /);
    expect(out.stderr.slice(5, -1)).toMatch(c.message);
    expect(out.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(out.stderr.length).toBeLessThan(1000);
    expect(out.code).toBe(c.code);
    expect(r.peakRssMb).toBeLessThan(c.maxRssMb ?? 400);
  });
});

describe("--allow-nonfinite prints non-finite results, flagged by one warning line", () => {
  it("logits: NaN rows come out as null in JSON and last in the table, with a warning", async () => {
    const d = copy("nan-allowed", gpt2, { tensors: (m) => void m.get("ln_f.bias")!.data.fill(NaN, 0, 1) });
    const json = await sandbox.cli(logits(d, "--allow-nonfinite"), { cwd: repoRoot, timeoutMs: 10_000 });
    expect(json.outcome).toMatchObject({ code: 0, stderr: "gim: warning: the logits hold 96 non-finite values (NaN or Infinity; null in JSON); printed because of --allow-nonfinite\n" });
    expect(JSON.parse(json.outcome!.stdout).logits).toEqual(Array(96).fill(null));
    const table = await sandbox.cli(["logits", "--model", d, "--ids", ids, "--allow-nonfinite", "--top-k", "3"], { cwd: repoRoot, timeoutMs: 10_000 });
    expect(table.outcome!.code).toBe(0);
    expect(table.outcome!.stdout).toMatch(/NaN/);
    expect(table.outcome!.stderr).toMatch(/^gim: warning: the logits hold 96 non-finite values/);
  });

  it("explain: attributions that overflow are printed with a warning when a target is given", async () => {
    const r = await sandbox.cli(explain(ioiGpt2, "When Mary and John went to the store, John gave a drink to", "--q-scale", "1e20", "--k-scale", "1e20", "--v-scale", "1e20", "--json", "--allow-nonfinite"), { cwd: repoRoot, timeoutMs: 10_000 });
    expect(r.outcome!.code).toBe(0);
    expect(r.outcome!.stderr).toMatch(/^gim: warning: the gim attributions hold \d+ non-finite values? \(NaN or Infinity; null in JSON\); printed because of --allow-nonfinite\n$/);
    expect(JSON.parse(r.outcome!.stdout).attributions).toContain(null);
  });
});

describe("long integrated gradients runs show progress on a terminal", () => {
  it("a redrawn line per batch of steps on a TTY stderr, nothing on a pipe", async () => {
    const run = async (isTTY: boolean) => {
      let stderr = "";
      const code = await runCli(["explain", "--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "ig", "--steps", "20", "--json"], {
        stdout: { write: () => true },
        stderr: { write: (text: string) => (stderr += text), isTTY },
        env: {},
        cwd: repoRoot,
      });
      return { code, stderr };
    };
    const tty = await run(true);
    expect(tty.code).toBe(0);
    expect(tty.stderr.match(/\rgim explain \[[#-]+\] integrated gradients: step \d+ of 20/g)).toHaveLength(3); // batches of 8: 8, 16, 20
    expect(tty.stderr).toMatch(/\ngim explain integrated gradients: 20 steps in .*\n$/);
    expect((await run(false)).stderr).toBe("");
  });
});

describe("the gim process itself", () => {
  const main = path.join(repoRoot, "packages/cli/src/main.ts");
  const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
  const env = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, GIM_DEBUG: undefined };

  it("a failed write of the output is one line and exit 1, not a stack trace", () => {
    const full = fs.openSync("/dev/full", "w");
    try {
      const r = spawnSync(tsx, [main, "logits", "--model", gpt2, "--ids", ids, "--json"], { cwd: repoRoot, encoding: "utf8", env, stdio: ["ignore", full, "pipe"], timeout: 30_000 });
      expect(r.stderr).toBe("gim: cannot write the output: ENOSPC: no space left on device, write\n");
      expect(r.status).toBe(1);
    } finally {
      fs.closeSync(full);
    }
  });

  it("a config claiming a billion Mistral layers fails in a process limited to a 256 MB heap, without a V8 crash", () => {
    const d = copy("child-mistral", mistral, { config: (c) => ({ ...c, num_hidden_layers: 1e9 }) });
    const r = spawnSync(process.execPath, ["--max-old-space-size=256", "--import", "tsx", main, "logits", "--model", d, "--ids", ids], { cwd: repoRoot, encoding: "utf8", env, timeout: 30_000 });
    expect(r.signal).toBeNull();
    expect(r.stderr).toMatch(/^gim: .*config\.json: "num_hidden_layers" must be an integer in \[1, \d+\], got 1000000000\n$/);
    expect(r.status).toBe(1);
  });
});

it("the sandbox fails a case that hangs, and one that crashes, without stopping the run", async () => {
  const fifo = makeFifo(scratch.folder("sandbox"), "plain-fifo");
  const hang = await sandbox.call("node:fs", "readFileSync", [fifo], 1000);
  expect(hang.timedOut).toBe(true);
  expect(hang.outcome).toBeUndefined();
  const crash = await sandbox.call("node:process", "abort", [], 10_000);
  expect(crash.died).toMatch(/^exit SIGABRT/);
  const after = await sandbox.call("node:path", "basename", ["/a/b.txt"], 10_000);
  expect(after.outcome).toMatchObject({ ok: true, summary: "b.txt" });
});
