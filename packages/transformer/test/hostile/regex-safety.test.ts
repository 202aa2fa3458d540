/**
 * The static backtracking check on tokenizer regexes: the patterns real tokenizers ship pass,
 * and the shapes that backtrack exponentially or with a high polynomial degree are refused
 * (each refused pattern is also shown to be slow in fact, on a short text, in a sandbox).
 */
import { describe, expect, it } from "vitest";
import { GPT2_SPLIT_PATTERN, LLAMA3_SPLIT_PATTERN, QWEN2_SPLIT_PATTERN, translateRegex } from "../../src/index.js";
import { backtrackingProblem, MAX_GROUP_DEPTH } from "../../src/tokenizer/regex-safety.js";

// GPT-4o's (o200k) pattern: a real one with more structure than GPT-2's (optional groups, two quantifiers in a row).
const O200K = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

describe("regexes that real tokenizers use pass the check", () => {
  it.each([
    ["GPT-2", GPT2_SPLIT_PATTERN],
    ["Llama 3", LLAMA3_SPLIT_PATTERN],
    ["Qwen2", QWEN2_SPLIT_PATTERN],
    ["GPT-4o", O200K],
    ["digits", "\\p{N}"],
    ["Metaspace", "▁"],
  ])("%s", (_name, pattern) => {
    expect(() => translateRegex(pattern, "tokenizer.json")).not.toThrow();
  });
});

describe("regexes that backtrack catastrophically are refused with one line naming the pattern", () => {
  const cases: [string, string, RegExp][] = [
    ["a quantifier inside a repeated group", "(a+)+$", /the regex "\(a\+\)\+\$" can backtrack exponentially \(a repeated group holds a quantifier\)/],
    ["a star inside a starred group", "(?:\\s*a)*b", /a repeated group holds a quantifier/],
    ["optional items inside a repeated group", "(a?b?)*c", /a repeated group holds a quantifier/],
    ["an alternation inside a repeated group", "(a|ab)*c", /a repeated group holds an alternation/],
    ["overlapping classes in a repeated alternation", "(\\p{L}|a)+!", /a repeated group holds an alternation/],
    ["a counted group of counted items", "(?:a{1,30}){1,30}b", /a repeated group holds a quantifier/],
    ["a repeated group inside a lookahead", "x(?=(a+)+b)", /a repeated group holds a quantifier/],
    ["a case-insensitive repeated group", "(?i:a+)+b", /a repeated group holds a quantifier/],
    ["eight adjacent stars", "a*a*a*a*a*a*a*a*b", /has 8 unbounded repetitions in one sequence; at most 3/],
    ["stars spread over groups", "(?:a*b*)(?:c*d*)", /has 4 unbounded repetitions in one sequence/],
    ["large counts", "a{0,99}a{0,99}a{0,99}a{0,99}b", /has 4 unbounded repetitions/],
    ["groups nested too deep", "(".repeat(MAX_GROUP_DEPTH + 1) + "a" + ")".repeat(MAX_GROUP_DEPTH + 1), new RegExp(`nests groups deeper than ${MAX_GROUP_DEPTH}`)],
    ["a pattern too long", "a".repeat(5000), /is 5000 characters long; at most 4096/],
  ];
  it.each(cases)("%s", (_name, pattern, message) => {
    let error: Error | undefined;
    try {
      translateRegex(pattern, "tokenizer.json", "pre_tokenizer.pattern");
    } catch (e) {
      error = e as Error;
    }
    expect(error?.name).toBe("TokenizerError");
    expect(error!.message).toMatch(/^tokenizer\.json: pre_tokenizer\.pattern: /);
    expect(error!.message).toMatch(message);
    expect(error!.message.length).toBeLessThan(400);
  });

  it("what is refused is slow in fact, and what passes stays fast", () => {
    const time = (pattern: RegExp, text: string) => {
      const start = performance.now();
      for (const _ of text.matchAll(pattern));
      return performance.now() - start;
    };
    // 2^24 ways to split 24 characters: measurable; a real tokenizer pattern on a 100 kB text:
    // milliseconds. The fastest of three runs each, so a busy machine does not decide the ratio.
    const fastest = (pattern: RegExp, text: string) => Math.min(...[0, 1, 2].map(() => time(pattern, text)));
    const exponential = fastest(/(a+)+$/gu, `${"a".repeat(24)}!`);
    const llama = fastest(translateRegex(LLAMA3_SPLIT_PATTERN, "t"), `${" ".repeat(50_000)}x${"a1!\n".repeat(12_500)}`);
    expect(backtrackingProblem("(a+)+$")).toBeDefined();
    expect(exponential).toBeGreaterThan(5 * llama);
    expect(llama).toBeLessThan(1000);
  });
});
