/**
 * Property-based fuzzing of the parsers a model folder goes through: config.json (and the
 * model built from it against the checkpoint), tokenizer.json (and encoding with the result),
 * the GPT-2 files (vocab.json + merges.txt) with tokenizer_config.json and special_tokens_map.json,
 * and the sharded index. Real files are mutated (a value anywhere replaced by another JSON
 * value or a hostile number, keys removed, components replaced, keys written twice, the text
 * cut or spliced). Every input must be accepted or refused with the library's typed error (an
 * InputError, naming the file on one line), never a RangeError or TypeError from inside, and
 * each within a time bound, with the process's memory growth bounded. The safetensors header
 * and data parser has its own fuzz test (../safetensors-fuzz.test.ts), bounded the same way.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadModelFrom, memoryFolder, openShardedIn, parseConfig, tokenizerFromFiles, type ModelFolder } from "../../src/index.js";
import { acceptOrRefuse, runs, withinMemory } from "./bounds.js";
import { sources } from "./folders.js";

// --- JSON mutations ----------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values that have broken loaders: absurd sizes, non-integers, wrong types, deep nesting. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Json>(0, -1, 1.5, 1e9, 2 ** 31, 2 ** 53, 2 ** 60, 1e308, -1e308, 5e-324, "", "a".repeat(5000), [], {}, null, true, "\u001b[31m", "__proto__", [[[[[[[[[[1]]]]]]]]]]) },
  { weight: 2, arbitrary: fc.integer({ min: -4, max: 300 }) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
);

/** Every path into `value` (keys and indices), skipping into `skip`'s arrays and objects past a few entries (vocabularies). */
function pathsOf(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.slice(0, 6).forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === "object") Object.keys(value).slice(0, 12).forEach((k) => pathsOf(value[k]!, [...prefix, k], out));
  return out;
}

/** A deep copy of `root` with the node at `at` replaced by `value` (undefined removes it). */
function replaceAt(root: Json, at: readonly (string | number)[], value: Json | undefined): Json {
  if (at.length === 0) return value ?? null;
  const copy = structuredClone(root) as Json;
  let node = copy as Record<string | number, Json>;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = at[at.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

/** One change to a JSON file's text. */
type TextMutation = (text: string, json: Json) => string;

/** A value somewhere in the file replaced (or removed). */
const replaceValue = (values: fc.Arbitrary<Json>): fc.Arbitrary<TextMutation> =>
  fc.record({ at: fc.nat(), value: fc.option(values, { nil: undefined, freq: 5 }) }).map(({ at, value }) => (_text, json) => {
    const paths = pathsOf(json);
    return JSON.stringify(replaceAt(json, paths[at % paths.length]!, value));
  });

/** A key of some object written twice (the duplicate-key check). */
const duplicateKey: fc.Arbitrary<TextMutation> = fc.nat().map((at) => (text) => {
  const keys = [...text.matchAll(/"([^"\\]{1,40})":/g)];
  if (keys.length === 0) return text;
  const m = keys[at % keys.length]!;
  return text.slice(0, m.index) + `${m[0]}0,` + text.slice(m.index);
});

/** The text cut, or random text spliced in. */
const spliceText: fc.Arbitrary<TextMutation> = fc
  .record({ at: fc.nat(), cut: fc.nat({ max: 40 }), insert: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("[", "{", "]", "}", ",", ":", '"', "\\u0000", "1e999", "-", "\u001b")) })
  .map(({ at, cut, insert }) => (text) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + cut);
  });

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Json;

// --- config.json -------------------------------------------------------------------------------

const configFolders = [sources.gpt2, sources.llamaSharded, sources.mistral, sources.qwen2];
const folderFiles = (dir: string): Record<string, Uint8Array> =>
  Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith(".json") || f.endsWith(".safetensors")).filter((f) => f !== "golden.json").map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
const folders = configFolders.map((dir) => ({ files: folderFiles(dir), config: readJson(path.join(dir, "config.json")) }));

describe("config.json under fuzzing", () => {
  const mutation = fc.oneof({ weight: 6, arbitrary: replaceValue(hostileValue) }, { weight: 1, arbitrary: duplicateKey }, { weight: 1, arbitrary: spliceText });

  it("parseConfig accepts or refuses any JSON value with a ConfigError", () => {
    withinMemory(() =>
      fc.assert(
        fc.property(fc.nat({ max: folders.length - 1 }), replaceValue(hostileValue), (which, mutate) => {
          const { config } = folders[which]!;
          const json = JSON.parse(mutate(JSON.stringify(config), config)) as unknown;
          acceptOrRefuse(() => parseConfig(json, "fuzz/config.json"), "fuzz/config.json");
        }),
        runs(1500),
      ),
    );
  });

  it("a model is built, and runs, or the folder is refused, before sizes are trusted", () => {
    let accepted = 0;
    withinMemory(() =>
      fc.assert(
        fc.property(fc.nat({ max: folders.length - 1 }), mutation, (which, mutate) => {
          const { files, config } = folders[which]!;
          const folder = memoryFolder({ ...files, "config.json": bytes(mutate(JSON.stringify(config), config)) }, "fuzz");
          const outcome = acceptOrRefuse(() => {
            const model = loadModelFrom(folder);
            model.forward({ ids: [0, 1] });
          }, "fuzz/");
          if (outcome === "accepted") accepted++;
        }),
        runs(300),
      ),
    );
    expect(accepted).toBeGreaterThan(0); // the mutations leave some configs that still fit
  });
});

// --- tokenizer.json ----------------------------------------------------------------------------

const tokenizerText = fs.readFileSync(path.join(sources.ioiGpt2, "tokenizer.json"), "utf8");
const tokenizerJson = JSON.parse(tokenizerText) as Json;

/** A tokenizer component of a known type with random fields (the builders' inputs). */
const component: fc.Arbitrary<Json> = fc
  .record({
    type: fc.constantFrom("Sequence", "Split", "ByteLevel", "Replace", "NFC", "NFKD", "Lowercase", "Strip", "StripAccents", "Prepend", "Metaspace", "Digits", "ByteFallback", "Fuse", "BPEDecoder", "TemplateProcessing", "RobertaProcessing", "Whitespace", "Nope"),
    fields: fc.dictionary(
      fc.constantFrom("pattern", "behavior", "invert", "content", "prepend", "replacement", "add_prefix_space", "use_regex", "trim_offsets", "pretokenizers", "normalizers", "decoders", "processors", "single", "pair", "special_tokens", "left", "right", "split", "prepend_scheme", "individual_digits", "suffix", "sep", "cls"),
      fc.oneof(hostileValue, fc.record({ Regex: fc.constantFrom("\\s+", "(a+)+$", "[", "(?<n>x)\\k<n>", "\\p{L}+", "a{1,99999}", "(?=a)", "") }), fc.record({ String: fc.string({ maxLength: 4 }) }), fc.constantFrom("Isolated", "Removed", "MergedWithPrevious", "Contiguous", "always", "first", "never")),
      { maxKeys: 4 },
    ),
  })
  .map(({ type, fields }) => ({ type, ...fields }) as Json);

const componentPlaces = ["normalizer", "pre_tokenizer", "decoder", "post_processor"] as const;
const replaceComponent: fc.Arbitrary<TextMutation> = fc
  .record({ place: fc.constantFrom(...componentPlaces), value: fc.oneof(component, fc.array(component, { maxLength: 3 }).map((list) => ({ type: "Sequence", pretokenizers: list, normalizers: list, decoders: list, processors: list }) as Json)) })
  .map(({ place, value }) => (_text, json) => JSON.stringify(replaceAt(json, [place], value)));

/** A change inside the BPE model: a vocabulary entry, a merge, an added token. */
const modelPlaces: (string | number)[][] = [["model", "vocab", "!"], ["model", "vocab", "Mary"], ["model", "merges", 0], ["model", "merges", 3], ["model", "type"], ["model", "unk_token"], ["model", "byte_fallback"], ["model", "dropout"], ["model", "continuing_subword_prefix"], ["added_tokens", 0], ["added_tokens", 0, "id"], ["added_tokens", 0, "content"], ["model", "merges"], ["model", "vocab"]];
const changeModel: fc.Arbitrary<TextMutation> = fc.record({ place: fc.constantFrom(...modelPlaces), value: fc.option(hostileValue, { nil: undefined, freq: 4 }) }).map(({ place, value }) => (_text, json) => JSON.stringify(replaceAt(json, place, value)));

describe("tokenizer.json under fuzzing", () => {
  const mutation = fc.oneof(
    { weight: 3, arbitrary: replaceComponent },
    { weight: 3, arbitrary: changeModel },
    { weight: 2, arbitrary: replaceValue(hostileValue) },
    { weight: 1, arbitrary: duplicateKey },
    { weight: 1, arbitrary: spliceText },
  );
  const text = fc.oneof(fc.constantFrom("When Mary and John went to the store, John gave a drink to", "", " ", "<|endoftext|>Mary"), fc.string({ maxLength: 30 }), fc.string({ unit: "grapheme", maxLength: 10 }));

  it("a tokenizer is built and encodes and decodes, or tokenizer.json is refused with a TokenizerError", () => {
    let accepted = 0;
    withinMemory(() =>
      fc.assert(
        fc.property(mutation, text, (mutate, input) => {
          const outcome = acceptOrRefuse(() => {
            const tokenizer = tokenizerFromFiles({ "tokenizer.json": mutate(tokenizerText, tokenizerJson) }, "fuzz");
            const ids = tokenizer.encode(input);
            tokenizer.decode(ids);
          }, "fuzz/tokenizer.json");
          if (outcome === "accepted") accepted++;
        }),
        runs(500),
      ),
    );
    expect(accepted).toBeGreaterThan(0);
  });
});

// --- vocab.json + merges.txt, tokenizer_config.json, special_tokens_map.json --------------------

const gpt2Files = Object.fromEntries(["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"].map((f) => [f, fs.readFileSync(path.join(sources.ioiGpt2, f), "utf8")]));
const jsonOf = (file: string) => JSON.parse(gpt2Files[file]!) as Json;

/** A merges.txt line replaced, removed or added (three tokens, one, blanks, unknown tokens, the header elsewhere). */
const changeMerges: fc.Arbitrary<(text: string) => string> = fc
  .record({ at: fc.nat(), line: fc.option(fc.oneof(fc.constantFrom("a b c", "a", "", "   ", "#version: 0.2", "Ġ Ġ", "zz yy", "\u0000 a", "a  b"), fc.string({ maxLength: 8 })), { nil: undefined }) })
  .map(({ at, line }) => (text) => {
    const lines = text.split("\n");
    const i = at % lines.length;
    if (line === undefined) lines.splice(i, 1);
    else lines.splice(i, 0, line);
    return lines.join("\n");
  });

describe("GPT-2 tokenizer files and tokenizer configs under fuzzing", () => {
  const change = fc.oneof(
    fc.record({ file: fc.constantFrom("vocab.json", "tokenizer_config.json", "special_tokens_map.json"), mutate: fc.oneof({ weight: 4, arbitrary: replaceValue(hostileValue) }, { weight: 1, arbitrary: duplicateKey }, { weight: 1, arbitrary: spliceText }) }).map(
      ({ file, mutate }) => (files: Record<string, string>) => ({ ...files, [file]: mutate(files[file]!, jsonOf(file)) }),
    ),
    changeMerges.map((mutate) => (files: Record<string, string>) => ({ ...files, "merges.txt": mutate(files["merges.txt"]!) })),
  );

  it("vocab.json + merges.txt (or tokenizer.json) with changed configs build a tokenizer that encodes, or are refused with a TokenizerError", () => {
    let accepted = 0;
    withinMemory(() =>
      fc.assert(
        fc.property(fc.array(change, { minLength: 1, maxLength: 3 }), fc.boolean(), (changes, withJson) => {
          let files: Record<string, string> = { ...gpt2Files };
          if (!withJson) delete files["tokenizer.json"];
          for (const apply of changes) files = apply(files);
          const outcome = acceptOrRefuse(() => {
            const tokenizer = tokenizerFromFiles(files, "fuzz");
            tokenizer.decode(tokenizer.encode("When Mary and John went to the store<|endoftext|>"));
          }, "fuzz");
          if (outcome === "accepted") accepted++;
        }),
        runs(300),
      ),
    );
    expect(accepted).toBeGreaterThan(0);
  });
});

// --- the sharded index -------------------------------------------------------------------------

const shardedFiles = folderFiles(sources.llamaSharded);
const indexJson = readJson(path.join(sources.llamaSharded, "model.safetensors.index.json"));
const shardNames = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

/** A weight_map entry pointed somewhere else: the other shard, a missing file, a path outside the folder, a non-string. */
const moveTensor: fc.Arbitrary<TextMutation> = fc
  .record({
    at: fc.nat(),
    to: fc.oneof(fc.constantFrom<Json>(...shardNames, "./model-00001-of-00002.safetensors", "missing.safetensors", "../model.safetensors", "/etc/passwd", "", ".", "a/../model-00001-of-00002.safetensors", "config.json", 7, null, ["x"]), hostileValue),
    rename: fc.option(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("__proto__", "constructor", "model.norm.weight")), { nil: undefined }),
  })
  .map(({ at, to, rename }) => (_text, json) => {
    const map = (json as { weight_map: Record<string, Json> }).weight_map;
    const names = Object.keys(map);
    const name = names[at % names.length]!;
    const changed = structuredClone(json) as { weight_map: Record<string, Json> };
    if (rename !== undefined) {
      delete changed.weight_map[name];
      Object.defineProperty(changed.weight_map, rename, { value: to, enumerable: true, writable: true, configurable: true });
    } else changed.weight_map[name] = to;
    return JSON.stringify(changed);
  });

/** A weight_map naming many shards (the shard limit, and opening only what exists). */
const manyShards: fc.Arbitrary<TextMutation> = fc.integer({ min: 1, max: 6000 }).map((count) => (_text, json) => {
  const changed = structuredClone(json) as { weight_map: Record<string, Json> };
  for (let i = 0; i < count; i++) changed.weight_map[`extra.${i}`] = `shard-${i % 5000}.safetensors`;
  return JSON.stringify(changed);
});

describe("the sharded index under fuzzing", () => {
  const mutation = fc.oneof(
    { weight: 4, arbitrary: moveTensor },
    { weight: 2, arbitrary: replaceValue(hostileValue) },
    { weight: 1, arbitrary: manyShards },
    { weight: 1, arbitrary: duplicateKey },
    { weight: 1, arbitrary: spliceText },
  );

  it("opens the shards consistently or refuses the index with a SafetensorsError naming it", () => {
    let accepted = 0;
    withinMemory(() =>
      fc.assert(
        fc.property(mutation, (mutate) => {
          const index = mutate(JSON.stringify(indexJson), indexJson);
          const folder: ModelFolder = memoryFolder({ ...shardedFiles, "model.safetensors.index.json": bytes(index) }, "fuzz");
          const outcome = acceptOrRefuse(() => {
            const reader = openShardedIn(folder);
            try {
              // Every tensor listed reads from the shard that holds it, to the shape its entry says.
              for (const name of reader.names()) expect(reader.read(name).shape).toEqual(reader.entry(name).shape);
            } finally {
              reader.close();
            }
          }, "fuzz/");
          if (outcome === "accepted") accepted++;
        }),
        runs(300),
      ),
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
