/**
 * Every kind of bad input: the exit code (2 for the command line, 1 for running), exactly one
 * line `gim: ...` on stderr, nothing on stdout, no stack unless GIM_DEBUG is set.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commands } from "../src/index.js";
import { gim, modelsDir, repoRoot } from "./helpers.js";

const gpt2 = path.join(modelsDir, "gpt2-f32");
const ids = "23,23,84,28,1,16,77,92";
const names = [...commands.keys()].join(", ");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-cli-errors-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function fails(argv: readonly string[], code: number, message: string, env: Record<string, string> = {}): Promise<void> {
  const r = await gim(argv, { env });
  expect(r.stdout).toBe("");
  expect(r.stderr).toBe(`gim: ${message}\n`);
  expect(r.code).toBe(code);
}

describe("gim with no arguments, and gim --version", () => {
  it("no arguments print the usage (every command) and exit 2", async () => {
    const r = await gim([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^gim: explain a language model's predictions/);
    for (const name of names.split(", ")) expect(r.stdout).toContain(`  ${name} `);
  });

  it("--version and -V print the package's version", async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repoRoot, "packages/cli/package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await gim([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`gim ${version}\n`);
    }
  });
});

describe("usage errors exit 2 with one line", () => {
  const cases: [string, string[], string][] = [
    ["unknown command", ["explian"], `unknown command "explian"; did you mean explain? (commands: ${names}; see gim --help)`],
    ["unknown command, nothing close", ["frobnicate"], `unknown command "frobnicate" (commands: ${names}; see gim --help)`],
    ["an option instead of a command", ["--json"], `expected a command before options, got --json (commands: ${names}; see gim --help)`],
    ["help for an unknown command", ["help", "nope"], `unknown command "nope" (commands: ${names}; see gim --help)`],
    ["unknown option", ["explain", "--modle", gpt2], "unknown option --modle for gim explain; did you mean --model? (see gim explain --help)"],
    ["unknown option, nothing close", ["logits", "--frobnicate"], "unknown option --frobnicate for gim logits (see gim logits --help)"],
    ["unknown short option", ["logits", "-x"], "unknown option -x for gim logits (see gim logits --help)"],
    ["option of another command", ["logits", "--method", "gim"], "unknown option --method for gim logits (see gim logits --help)"],
    ["missing value at the end", ["logits", "--ids", "1", "--model"], "option --model needs a value (DIR|NAME|ID)"],
    ["missing value before an option", ["logits", "--model", "--json", "--ids", "1"], "option --model needs a value (DIR|NAME|ID)"],
    ["flag with a value", ["logits", "--json=yes"], 'option --json takes no value (got "yes")'],
    ["option given twice", ["logits", "--model", "a", "--model", "b"], "option --model is given more than once"],
    ["position not a number", ["logits", "--model", gpt2, "--ids", ids, "--position", "last"], 'option --position needs an integer, got "last"'],
    ["position not an integer", ["logits", "--model", gpt2, "--ids", ids, "--position", "1.5"], 'option --position needs an integer, got "1.5"'],
    ["scale not a number", ["explain", "--q-scale", "1/4"], 'option --q-scale needs a number, got "1/4"'],
    ["scale empty", ["explain", "--v-scale="], 'option --v-scale needs a number, got ""'],
    ["temperature not positive", ["explain", "--softmax-temperature", "0"], "option --softmax-temperature must be greater than 0, got 0"],
    ["steps below 1", ["explain", "--steps", "0"], "option --steps must be at least 1, got 0"],
    ["negative target id", ["explain", "--target-id", "-3"], "option --target-id must be at least 0, got -3"],
    ["top-k below 1", ["logits", "--top-k", "0"], "option --top-k must be at least 1, got 0"],
    ["ids with a word", ["logits", "--ids", "5,x,3"], 'option --ids: "x" is not a token id (ids are integers >= 0, separated by commas)'],
    ["ids with a hole", ["logits", "--ids", "5,,3"], 'option --ids: "" is not a token id (ids are integers >= 0, separated by commas)'],
    ["ids negative", ["logits", "--ids", "5,-1"], 'option --ids: "-1" is negative, not a token id (ids are integers >= 0, separated by commas)'],
    ["ids empty", ["logits", "--ids", ""], "option --ids needs at least one token id"],
    ["no input", ["explain", "--model", gpt2], "gim explain needs TEXT or --ids (see gim explain --help)"],
    ["text and ids", ["logits", "--model", gpt2, "--ids", "1", "hello"], "give either TEXT or --ids, not both"],
    ["two texts", ["explain", "hello", "world"], "gim explain takes at most 1 TEXT argument, got 2 (quote text that has spaces)"],
    ["empty text", ["explain", "--model", gpt2, ""], "the text is empty"],
    ["empty text, no model", ["explain", ""], "the text is empty"],
    ["empty model", ["logits", "--model", "", "--ids", "1"], "option --model needs a model folder, a shipped model name or a Hugging Face id, got an empty string"],
    ["unknown method", ["explain", "--method", "gim,shap"], 'unknown method "shap" for --method (known: gim, gradient, freeze-norm, softmax-temperature (tsg), qkv-scale, gate-up-scale, integrated-gradients (ig), occlusion)'],
    ["misspelt method", ["explain", "--method", "gradeint"], 'unknown method "gradeint" for --method; did you mean gradient? (known: gim, gradient, freeze-norm, softmax-temperature (tsg), qkv-scale, gate-up-scale, integrated-gradients (ig), occlusion)'],
    ["start of a method name", ["explain", "--method", "integrated"], 'unknown method "integrated" for --method; did you mean integrated-gradients? (known: gim, gradient, freeze-norm, softmax-temperature (tsg), qkv-scale, gate-up-scale, integrated-gradients (ig), occlusion)'],
    ["empty method", ["explain", "--method", "gim,"], "option --method needs a method name, got an empty one"],
    ["id out of range", ["logits", "--model", gpt2, "--ids", "5,96"], "--ids: token id 96 at position 1 is outside the vocabulary [0, 96)"],
    ["id out of range (explain)", ["explain", "--model", gpt2, "--ids", "1000", "--baseline-id", "0"], "--ids: token id 1000 at position 0 is outside the vocabulary [0, 96)"],
    ["too many tokens", ["logits", "--model", gpt2, "--ids", Array.from({ length: 33 }, () => "1").join(",")], "--ids: the sequence has 33 tokens; this model accepts at most 32"],
    ["position past the end", ["logits", "--model", gpt2, "--ids", ids, "--position", "8"], "--position: position 8 is out of range for 8 tokens (use 0..7, or -1..-8 from the end)"],
    ["position before the start", ["explain", "--model", gpt2, "--ids", "1", "--position", "-2", "--baseline-id", "0"], "--position: position -2 is out of range for 1 token (use 0..0, or -1..-1 from the end)"],
    ["target id out of range", ["explain", "--model", gpt2, "--ids", ids, "--target-id", "96", "--baseline-id", "0"], "--target-id: token id 96 is outside the vocabulary [0, 96)"],
    ["baseline id out of range", ["explain", "--model", gpt2, "--ids", ids, "--baseline-id", "500"], "--baseline-id: token id 500 is outside the vocabulary [0, 96)"],
    ["target and target id", ["explain", "--model", gpt2, "--ids", ids, "--target", "x", "--target-id", "3", "--baseline-id", "0"], "give either --target or --target-id, not both"],
    ["text without a tokenizer", ["explain", "--model", gpt2, "hello"], `${gpt2} has no tokenizer (tokenizer.json, or vocab.json + merges.txt) to encode text; pass --ids instead`],
    ["target without a tokenizer", ["explain", "--model", gpt2, "--ids", ids, "--target", " x", "--baseline-id", "0"], `${gpt2} has no tokenizer (tokenizer.json, or vocab.json + merges.txt) to encode --target; pass --target-id instead`],
    ["no baseline without a tokenizer", ["explain", "--model", gpt2, "--ids", ids], `no baseline token: ${gpt2} has no tokenizer to find the id of " " with; pass --baseline-id N`],
  ];
  it.each(cases)("%s", async (_name, argv, message) => fails(argv, 2, message));
});

describe("without --model", () => {
  it("uses the shipped IOI model, which predicts \" Mary\" for the README's prompt", async () => {
    const r = await gim(["explain", "--json", "When Mary and John went to the store, John gave a drink to"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tokens: string[]; ids: number[]; target: number };
    expect(out.target).toBe(out.ids[out.tokens.indexOf(" Mary")]);
  });
});

describe("runtime errors exit 1 with one line", () => {
  it("a relative --model is resolved against the working folder", async () => {
    const r = await gim(["logits", "--model", "./missing-model", "--ids", "1"], { cwd: tmp });
    expect(r.stderr).toBe(`gim: model folder ${path.join(tmp, "missing-model")} does not exist\n`);
    expect(r.code).toBe(1);
  });

  it("a model folder that does not exist", async () => {
    await fails(["logits", "--model", path.join(tmp, "nope"), "--ids", "1"], 1, `model folder ${path.join(tmp, "nope")} does not exist`);
  });

  it("a file instead of a folder", async () => {
    const file = path.join(gpt2, "config.json");
    await fails(["logits", "--model", file, "--ids", "1"], 1, `${file} is a regular file, not a folder (--model takes a Hugging Face model folder)`);
  });

  it("a folder without config.json", async () => {
    const dir = path.join(tmp, "empty");
    fs.mkdirSync(dir);
    await fails(["explain", "--model", dir, "--ids", "1", "--baseline-id", "0"], 1, `${path.join(dir, "config.json")}: no config.json in the model folder`);
  });

  it("a config that is not JSON", async () => {
    const dir = path.join(tmp, "bad-config");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "config.json"), "{ not json");
    const r = await gim(["logits", "--model", dir, "--ids", "1", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^gim: ${escape(path.join(dir, "config.json"))}: not valid JSON \\(.+\\)\\n$`));
  });

  it("weights that are cut short", async () => {
    const dir = path.join(tmp, "truncated");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(gpt2, "config.json"), path.join(dir, "config.json"));
    const weights = fs.readFileSync(path.join(gpt2, "model.safetensors"));
    fs.writeFileSync(path.join(dir, "model.safetensors"), weights.subarray(0, weights.length - 100));
    const r = await gim(["logits", "--model", dir, "--ids", "1", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toHaveLength(2); // one line and its newline
    expect(r.stderr).toMatch(new RegExp(`^gim: ${escape(path.join(dir, "model.safetensors"))}: .+\\n$`));
  });
});

describe("GIM_DEBUG", () => {
  it("adds the stack after the one-line message", async () => {
    const dir = path.join(tmp, "nothing-here");
    const r = await gim(["logits", "--model", dir, "--ids", "1"], { env: { GIM_DEBUG: "1" } });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`gim: model folder ${dir} does not exist`);
    expect(lines[1]).toMatch(/^RuntimeError: /);
    expect(lines.slice(2).some((l) => /^\s+at /.test(l))).toBe(true);
  });

  it("is off when empty or 0", async () => {
    for (const value of ["", "0"]) {
      const r = await gim(["logits"], { env: { GIM_DEBUG: value } });
      expect(r.stderr).toBe("gim: gim logits needs TEXT or --ids (see gim logits --help)\n");
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
