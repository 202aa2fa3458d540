/**
 * Pipeline components one at a time, on small hand-made inputs whose answers follow from the
 * format's documented rules (worked out by hand in each test, or from the Hugging Face
 * tokenizers documentation's own examples), plus regex facts checked with Python's `regex`.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BpeTokenizer, parseTokenizerJson, translateRegex, type BpeTokenizerOptions } from "../src/tokenizer/index.js";
import { loadTokenizer } from "../src/node/index.js";
import { buildNormalizer } from "../src/tokenizer/normalizers.js";
import { metaspacePreTokenizer, splitPieces, type SplitBehavior } from "../src/tokenizer/pre-tokenizers.js";
import { buildDecoder } from "../src/tokenizer/decoders.js";

const FIXTURES = fileURLToPath(new URL("./tokenizer-fixtures/", import.meta.url));

const allMatches = (pattern: string, text: string) => [...text.matchAll(translateRegex(pattern, "test"))].map((m) => m[0]);

/** A tokenizer over the given vocabulary (token -> id from the array order) and merges. */
function tiny(tokens: string[], merges: string[], extra: Record<string, unknown> = {}, options?: BpeTokenizerOptions): BpeTokenizer {
  const { model: modelExtra, ...rest } = extra as { model?: Record<string, unknown> };
  const json = {
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: "Fuse" },
    ...rest,
    model: { type: "BPE", vocab: Object.fromEntries(tokens.map((t, i) => [t, i])), merges, ...modelExtra },
  };
  return new BpeTokenizer(parseTokenizerJson(json, "tiny.json"), options);
}

describe("regex translation (Oniguruma / Python regex -> JavaScript)", () => {
  // Expected values checked with Python's `regex` module, which GPT-2 used.
  it("\\s is Unicode White_Space: includes U+0085, excludes U+FEFF", () => {
    expect(allMatches("\\s", "a\u0085b\ufeffc \t")).toEqual(["\u0085", " ", "\t"]);
    expect(allMatches("\\S+", "a\u0085b\ufeffc")).toEqual(["a", "b\ufeffc"]);
  });

  it("(?i:...) matches case variants, including long s and the Kelvin sign", () => {
    expect(allMatches("(?i:'s|'k)", "'s 'S '\u017f 'k 'K '\u212a 't")).toEqual(["'s", "'S", "'\u017f", "'k", "'K", "'\u212a"]);
    expect(allMatches("(?i:ab)c", "ABc abC aBc")).toEqual(["ABc", "aBc"]);
  });

  it("\\d and \\w are Unicode; '.' excludes only \\n", () => {
    expect(allMatches("\\d+", "x\u0663\u0664 12")).toEqual(["\u0663\u0664", "12"]);
    expect(allMatches("\\w+", "na\u00efve_x \u65e5\u672c")).toEqual(["na\u00efve_x", "\u65e5\u672c"]);
    expect(allMatches(".", "a\rb\nc")).toEqual(["a", "\r", "b", "c"]);
  });

  it("accepts identity escapes and literal braces that JavaScript's Unicode mode rejects", () => {
    expect(allMatches("\\'s|\\-|{ x", "'s - { x")).toEqual(["'s", "-", "{ x"]);
  });

  it.each([
    ["a++", "possessive"],
    ["\\p{L}?+", "possessive"],
    ["(?>ab)", "(?>"],
    ["\\bword", "\\b"],
    ["(?i:[a-z])", "character class inside (?i:...)"],
    ["(ab", "unbalanced"],
    ["[[a]]", "nested"],
  ])("refuses %s with a one-line error", (pattern, fragment) => {
    expect(() => translateRegex(pattern, "x/tokenizer.json")).toThrow(fragment);
    expect(() => translateRegex(pattern, "x/tokenizer.json")).toThrow(/^x\/tokenizer\.json: /);
  });
});

describe("Split behaviors (example from the Hugging Face tokenizers documentation)", () => {
  const pieces = (behavior: SplitBehavior) =>
    splitPieces([{ text: "the-final--countdown", atStart: true }], "-", behavior).map((p) => p.text);

  it.each([
    ["Removed", ["the", "final", "countdown"]],
    ["Isolated", ["the", "-", "final", "-", "-", "countdown"]],
    ["MergedWithPrevious", ["the-", "final-", "-", "countdown"]],
    ["MergedWithNext", ["the", "-final", "-", "-countdown"]],
    ["Contiguous", ["the", "-", "final", "--", "countdown"]],
  ] as const)("%s", (behavior, want) => {
    expect(pieces(behavior)).toEqual(want);
  });

  it("invert keeps the matches and drops the rest (Removed + invert)", () => {
    const out = splitPieces([{ text: "Hi, you two!", atStart: true }], translateRegex("\\w+", "t"), "Removed", true);
    expect(out.map((p) => p.text)).toEqual(["Hi", "you", "two"]);
  });

  it("only the first piece of the input is marked as at the start", () => {
    const out = splitPieces([{ text: "a-b", atStart: true }], "-", "Isolated");
    expect(out.map((p) => p.atStart)).toEqual([true, false, false]);
  });
});

describe("Metaspace pre-tokenizer", () => {
  it("replaces spaces, prepends, and splits before each meta space", () => {
    const run = (text: string, scheme: "always" | "first" | "never", split: boolean, atStart = true) =>
      metaspacePreTokenizer("\u2581", scheme, split)([{ text, atStart }]).map((p) => p.text);
    expect(run("Hey friend!", "always", true)).toEqual(["\u2581Hey", "\u2581friend!"]);
    expect(run("Hey  friend", "always", true)).toEqual(["\u2581Hey", "\u2581", "\u2581friend"]);
    expect(run(" Hey", "always", false)).toEqual(["\u2581Hey"]); // already starts with one
    expect(run("Hey", "first", false, false)).toEqual(["Hey"]); // not at the start of the input
    expect(run("Hey", "first", false, true)).toEqual(["\u2581Hey"]);
    expect(run("a b", "never", false)).toEqual(["a\u2581b"]);
  });
});

describe("BPE model options", () => {
  it("cached piece results are not changed by changing a returned id array", () => {
    const tok = tiny(["a", "aa"], ["a a"]);
    const first = tok.encode("aaa");
    first[0] = 99;
    first.push(7);
    expect(tok.encode("aaa")).toEqual([1, 0]);
  });

  it("merges lowest rank first, leftmost among equals", () => {
    // "aaa" with merge "a a": leftmost pair first -> [aa, a].
    const tok = tiny(["a", "aa"], ["a a"]);
    expect(tok.encode("aaa")).toEqual([1, 0]);
    expect(tok.encode("aaaa")).toEqual([1, 1]);
  });

  it("ignore_merges takes a whole piece from the vocabulary first", () => {
    // merges: "b c" (rank 0) then "a b"; "abc" merges b+c first -> [a, bc]; no "a bc" merge.
    const tokens = ["a", "b", "c", "bc", "ab", "abc"];
    expect(tiny(tokens, ["b c", "a b"]).encode("abc")).toEqual([0, 3]);
    expect(tiny(tokens, ["b c", "a b"], { model: { ignore_merges: true } }).encode("abc")).toEqual([5]);
  });

  it("continuing_subword_prefix: non-initial symbols carry the prefix; a merge drops it from the right side", () => {
    const tok = tiny(["a", "##b", "##c", "ab", "abc"], ["a ##b", "ab ##c"], { model: { continuing_subword_prefix: "##" } });
    expect(tok.encode("abc")).toEqual([4]);
    expect(tok.encode("ac")).toEqual([0, 2]);
  });

  it("end_of_word_suffix marks the last symbol; the BPEDecoder turns it into a space", () => {
    const tok = tiny(["a", "b", "a</w>", "b</w>", "ab</w>"], ["a b</w>"], {
      model: { end_of_word_suffix: "</w>" },
      pre_tokenizer: { type: "Split", pattern: { String: " " }, behavior: "Removed", invert: false },
      decoder: { type: "BPEDecoder", suffix: "</w>" },
    });
    expect(tok.encode("ab ba")).toEqual([4, 1, 2]);
    expect(tok.decode([4, 1, 2])).toBe("ab ba");
  });

  it("unknown characters map to unk_token, fused when fuse_unk", () => {
    expect(tiny(["<unk>", "a"], [], { model: { unk_token: "<unk>" } }).encode("axxa")).toEqual([1, 0, 0, 1]);
    expect(tiny(["<unk>", "a"], [], { model: { unk_token: "<unk>", fuse_unk: true } }).encode("axxa")).toEqual([1, 0, 1]);
  });

  it("byte_fallback spells unknown characters as <0xNN>, and falls back to unk if a byte token is missing", () => {
    const bytes = ["<0xC3>", "<0xA9>"];
    const tok = tiny(["<unk>", "a", ...bytes], [], { model: { unk_token: "<unk>", byte_fallback: true } });
    expect(tok.encode("a\u00e9")).toEqual([1, 2, 3]); // é = C3 A9
    expect(tok.encode("\u00ea")).toEqual([0]); // ê = C3 AA, no <0xAA>
  });

  it("a character it cannot spell, with no unk_token or byte_fallback, is an error naming it", () => {
    expect(() => tiny(["a"], []).encode("ab")).toThrow('tiny.json: character "b" (U+0062) is not in the vocabulary');
  });
});

describe("normalizers", () => {
  const run = (spec: unknown, text: string) => buildNormalizer(spec, "n.json")!(text);
  it("each type", () => {
    expect(run({ type: "NFKC" }, "\ufb01")).toBe("fi");
    expect(run({ type: "NFC" }, "e\u0301")).toBe("\u00e9");
    expect(run({ type: "NFD" }, "\u00e9")).toBe("e\u0301");
    expect(run({ type: "Lowercase" }, "\u00c9COLE")).toBe("\u00e9cole");
    expect(run({ type: "Strip", strip_left: true, strip_right: false }, "  a  ")).toBe("a  ");
    expect(run({ type: "Sequence", normalizers: [{ type: "NFD" }, { type: "StripAccents" }] }, "caf\u00e9")).toBe("cafe");
    expect(run({ type: "Replace", pattern: { Regex: "\\s+" }, content: " $1" }, "a \t\nb")).toBe("a $1b");
    expect(run({ type: "Prepend", prepend: "\u2581" }, "")).toBe("");
    expect(run({ type: "Prepend", prepend: "\u2581" }, "x")).toBe("\u2581x");
  });
});

describe("decoders", () => {
  const run = (spec: unknown, tokens: string[]) => buildDecoder(spec, "d.json")!(tokens, false).join("");
  it("ByteFallback: valid byte runs become text, invalid ones U+FFFD per byte", () => {
    expect(run({ type: "ByteFallback" }, ["a", "<0xE2>", "<0x82>", "<0xAC>", "b"])).toBe("a\u20acb");
    expect(run({ type: "ByteFallback" }, ["<0xE2>", "<0x82>", "x"])).toBe("\ufffd\ufffdx");
  });
  it("ByteLevel: one U+FFFD per maximal invalid sequence", () => {
    expect(run({ type: "ByteLevel" }, ["\u00e2\u0124", "x"])).toBe("\ufffdx"); // E2 82: a cut-off euro sign
  });
  it("Strip removes up to `start` leading and `stop` trailing copies of content", () => {
    expect(run({ type: "Strip", content: " ", start: 1, stop: 2 }, ["  a   "])).toBe(" a ");
  });
  it("Metaspace drops the first token's meta space unless prepend_scheme is never", () => {
    expect(run({ type: "Metaspace", replacement: "\u2581", prepend_scheme: "always" }, ["\u2581a", "\u2581b"])).toBe("a b");
    expect(run({ type: "Metaspace", replacement: "\u2581", prepend_scheme: "never" }, ["\u2581a", "\u2581b"])).toBe(" a b");
  });
});

describe("added tokens", () => {
  const chars = [..."abcdefghijklmnopqrstuvwxyz <>!,"];
  const withAdded = (entry: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    tiny(chars, [], { added_tokens: [{ id: chars.length, special: false, normalized: false, ...entry }], ...extra });

  it("single_word matches only a whole word", () => {
    const tok = withAdded({ content: "hi", single_word: true });
    expect(tok.encode("hi there")[0]).toBe(chars.length);
    expect(tok.encode("this")).not.toContain(chars.length);
    expect(tok.encode("say hi!")).toContain(chars.length);
  });

  it("lstrip and rstrip swallow neighbouring whitespace", () => {
    const id = chars.length;
    const sp = chars.indexOf(" ");
    const a = chars.indexOf("a");
    const b = chars.indexOf("b");
    expect(withAdded({ content: "<x>", rstrip: true }).encode("a  <x>  b")).toEqual([a, sp, sp, id, b]);
    expect(withAdded({ content: "<x>", lstrip: true }).encode("a  <x>  b")).toEqual([a, id, sp, sp, b]);
  });

  it("leftmost-longest: the longest token starting at the earliest position wins", () => {
    const n = chars.length;
    const tok = tiny(chars, [], {
      added_tokens: [
        { id: n, content: "<a>", special: true, normalized: false },
        { id: n + 1, content: "<a>b", special: true, normalized: false },
        { id: n + 2, content: "a>b", special: true, normalized: false },
      ],
    });
    expect(tok.encode("x<a>bc")).toEqual([chars.indexOf("x"), n + 1, chars.indexOf("c")]);
  });

  it("normalized tokens match in normalized text", () => {
    const tok = withAdded({ content: "hello", normalized: true }, { normalizer: { type: "Lowercase" } });
    expect(tok.encode("say HELLO")).toEqual([..."say "].map((c) => chars.indexOf(c)).concat([chars.length]));
  });

  it("parseSpecialTokens: false encodes special tokens as plain text", async () => {
    const gpt2 = await loadTokenizer(`${FIXTURES}gpt2-files`);
    const eot = gpt2.tokenToId("<|endoftext|>")!;
    expect(gpt2.encode("a<|endoftext|>")).toContain(eot);
    const plain = gpt2.encode("a<|endoftext|>", { parseSpecialTokens: false });
    expect(plain).not.toContain(eot);
    expect(gpt2.decode(plain)).toBe("a<|endoftext|>");
  });
});

describe("post-processors", () => {
  it("RobertaProcessing and BertProcessing add cls and sep", () => {
    for (const type of ["RobertaProcessing", "BertProcessing"]) {
      const tok = tiny(["<s>", "</s>", "a"], [], { post_processor: { type, sep: ["</s>", 1], cls: ["<s>", 0] } });
      expect(tok.encode("aa", { addSpecialTokens: true })).toEqual([0, 2, 2, 1]);
      expect(tok.encode("aa")).toEqual([2, 2]);
    }
  });
  it("TemplateProcessing checks its special tokens and sequences", () => {
    const template = (single: unknown[], special_tokens = {}) => () =>
      tiny(["a"], [], { post_processor: { type: "TemplateProcessing", single, pair: [], special_tokens } });
    expect(template([{ SpecialToken: { id: "<s>", type_id: 0 } }])).toThrow('tiny.json: post_processor.single[0] uses special token "<s>", which is not in post_processor.special_tokens');
    expect(template([{ Sequence: { id: "B", type_id: 0 } }])).toThrow('uses sequence "B"');
  });
});

describe("token lookup and display", () => {
  it("decodeToken shows tokens as text: spaces visible, partial UTF-8 as <0xNN>", async () => {
    const gpt2 = await loadTokenizer(`${FIXTURES}gpt2-files`);
    expect(gpt2.decodeToken(gpt2.tokenToId("\u0120the")!)).toBe(" the");
    expect(gpt2.decodeToken(gpt2.tokenToId("\u010a")!)).toBe("\n");
    expect(gpt2.decodeToken(gpt2.tokenToId("\u00f0")!)).toBe("<0xF0>"); // the first byte of an emoji
    expect(gpt2.decodeToken(gpt2.tokenToId("<|endoftext|>")!)).toBe("<|endoftext|>");
    const llama2 = await loadTokenizer(`${FIXTURES}llama2-style`);
    expect(llama2.decodeToken(llama2.tokenToId("\u2581the")!)).toBe(" the"); // Strip does not apply
    expect(llama2.decodeToken(llama2.tokenToId("<0xE6>")!)).toBe("<0xE6>");
    expect(llama2.decodeToken(llama2.tokenToId("<0x0A>")!)).toBe("\n");
    const meta = await loadTokenizer(`${FIXTURES}metaspace-style`);
    expect(meta.decodeToken(meta.tokenToId("\u2581Mary")!)).toBe(" Mary"); // the first-token rule does not apply
  });

  it("idToToken / tokenToId cover added tokens beyond the model vocabulary", async () => {
    const llama3 = await loadTokenizer(`${FIXTURES}llama3-style`);
    const mask = llama3.tokenToId("<mask>")!;
    expect(llama3.idToToken(mask)).toBe("<mask>");
    expect(llama3.vocabSize).toBe(mask + 1);
    expect(llama3.addedTokens.map((t) => t.content)).toEqual(["<|begin_of_text|>", "<|end_of_text|>", "[NAME]", "<mask>"]);
    expect(llama3.addedTokens.find((t) => t.content === "[NAME]")!.special).toBe(false);
    expect(llama3.idToToken(llama3.vocabSize)).toBeUndefined();
  });

  it("decode refuses ids outside the vocabulary with the id in the message", async () => {
    const gpt2 = await loadTokenizer(`${FIXTURES}gpt2-files`);
    expect(() => gpt2.decode([1, 99999])).toThrow("decode: id 99999 is not in the vocabulary (size 383)");
    expect(() => gpt2.decode([1.5])).toThrow("id 1.5 is not in the vocabulary");
    expect(() => gpt2.decodeToken(-1)).toThrow("decodeToken: id -1");
  });
});
