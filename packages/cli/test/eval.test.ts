/**
 * `gim eval` in-process: on a model folder built here (a random GPT-2 with the IOI task's
 * tokenizer) and on a shipped model, `--subset` runs end to end, exits 0 and prints JSON
 * with the expected fields; `--report` writes the markdown and its plots; mistakes are one
 * line on stderr with exit code 2; the progress display prints and redraws when it should.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ioiTokenizer, recipes, shippedModels, toHfConfig } from "@gim/models";
import { modelDir } from "@gim/models/node";
import { discussionMarkers } from "@gim/eval";
import { Gpt2Model } from "@gim/transformer";
import { saveTokenizer, writeSafetensors } from "@gim/transformer/node";
import { afterAll, describe, expect, it } from "vitest";
import { EvalProgressBar } from "../src/commands/eval.js";
import { gim } from "./helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-eval-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A random IOI-configured GPT-2 written as a model folder whose training.json names the ioi-gpt2 recipe. */
async function randomIoiFolder(): Promise<string> {
  const dir = path.join(tmp, "random-ioi");
  const tokenizer = ioiTokenizer();
  const config = { ...recipes["ioi-gpt2"]!.model(tokenizer.vocabSize), nEmbd: 16, nInner: 32, nHead: 2 } as ReturnType<NonNullable<(typeof recipes)["ioi-gpt2"]>["model"]>;
  const model = Gpt2Model.random(config as Parameters<typeof Gpt2Model.random>[0], { seed: 3 });
  fs.mkdirSync(dir, { recursive: true });
  const eos = tokenizer.eosTokenId!;
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(toHfConfig(model.config, { bos: eos, eos, pad: tokenizer.padTokenId! })));
  writeSafetensors(path.join(dir, "model.safetensors"), new Map([...model.params].map(([k, v]) => [k, v.value])), { dtype: "F32" });
  await saveTokenizer(dir, tokenizer);
  fs.writeFileSync(path.join(dir, "training.json"), JSON.stringify({ model: "ioi-gpt2", description: "A random model for tests" }));
  return dir;
}

describe("gim eval", () => {
  it("runs a subset of a model folder end to end and prints JSON with every part", async () => {
    const dir = await randomIoiFolder();
    const { code, stdout: out, stderr: err } = await gim(["eval", "--model", dir, "--subset", "2", "--methods", "gim,gradient,random", "--circuit-grid", "headline", "--resamples", "50", "--json"]);
    expect(code, err).toBe(0);
    expect(err).toMatch(/gim eval .*random-ioi tokens/);
    expect(err).toMatch(/gim eval done in/);
    const json = JSON.parse(out) as Record<string, any>;
    expect(json["methods"]).toEqual(["gradient", "gim", "random"]);
    const m = json["models"][0];
    expect(m.name).toBe("random-ioi");
    expect(m.tokens.examples).toBe(2);
    expect(m.tokens.methods.map((x: { method: string }) => x.method)).toEqual(["gradient", "gim", "random"]);
    for (const x of m.tokens.methods) {
      expect(Object.keys(x.evidence)).toEqual(["io", "names"]);
      expect(x.comprehensivenessCurve.length).toBeGreaterThan(0);
      expect(x.sufficiencyCurve).toHaveLength(5);
    }
    expect(m.components.pairs).toBe(2);
    expect(m.components.sources.map((s: { name: string }) => s.name)).toEqual(["gradient", "gim", "exact"]);
    expect(m.components.sources[0].nodes.agreement).toHaveProperty("spearman");
    expect(m.selfRepair.examples).toBe(2);
    expect(m.seconds).toHaveProperty("selfRepair");
    // The circuit evaluation: MIB's graph of 2 layers of 2 heads, held out, the headline methods with intervals.
    expect(m.circuits.edges).toBe(46); // (6 + 1 + 2) + (24 + 1 + 3 + 2) + 7: sum over l of [3H(1 + l(H+1)) + 1 + l(H+1) + H] + 1 + L(H+1), L = H = 2
    expect([m.circuits.scorePairs, m.circuits.evalPairs]).toEqual([2, 2]);
    expect(m.circuits.resamples).toBe(50);
    expect(m.circuits.methods.map((x: { name: string }) => x.name)).toEqual(["random", "eap", "gim-eap", "eap-ig", "gim-eap-ig", "exact"]);
    for (const x of m.circuits.methods) expect(x.cpr.low).toBeLessThanOrEqual(x.cpr.high);
    expect(m.circuitPairDescription).toMatch(/S2\/IO flip/);
    // The paper's self-repair protocol: every row of the 2 examples looked at, the share with its interval, the rows as points.
    expect(m.protocol.examples).toBe(2);
    expect(m.protocol.threshold).toBe(1);
    expect(m.protocol.rowCount % 4).toBe(0); // 2 layers x 2 heads x the positions of both prompts
    expect(m.protocol.rowCount).toBeGreaterThan(4 * 2 * 8);
    expect(m.protocol.measured).toBe(m.protocol.points.length);
    expect(m.protocol.share.estimate).toBeCloseTo(m.protocol.measured / m.protocol.rowCount, 12);
    expect(m.protocol.link ?? m.protocol.linkNote).toBeDefined();
    expect(m.seconds).toHaveProperty("protocol");
  });

  it("writes the report and its plots, keeping the discussion", async () => {
    const dir = path.join(tmp, "random-ioi");
    const report = path.join(tmp, "docs", "results.md");
    fs.mkdirSync(path.dirname(report), { recursive: true });
    fs.writeFileSync(report, `old\n${discussionMarkers.start}\nKept text.\n${discussionMarkers.end}\n`);
    const { code, stdout: out, stderr: err } = await gim(["eval", "--model", dir, "--subset", "2", "--methods", "gim,random", "--no-self-repair", "--circuit-grid", "headline", "--resamples", "20", "--report", "docs/results.md"], { cwd: tmp });
    expect(code, err).toBe(0);
    expect(out).toMatch(/comprehensiveness/);
    const markdown = fs.readFileSync(report, "utf8");
    expect(markdown).toContain("Kept text.");
    expect(markdown).toContain("pnpm gim eval --model");
    expect(markdown).toContain("--report docs/results.md");
    expect(markdown).toContain("## Circuits on MIB's graph, held out");
    expect(markdown).toContain("--circuit-grid headline --resamples 20");
    const plots = fs.readdirSync(path.join(tmp, "docs", "plots"));
    expect(plots.sort()).toEqual(["circuits-random-ioi-edges.svg", "circuits-random-ioi-nodes.svg", "tokens-random-ioi-comprehensiveness.svg", "tokens-random-ioi-sufficiency.svg"]);
  });

  it("--only-protocol replaces only the protocol's section of an existing report, once, and writes its plots", async () => {
    const dir = path.join(tmp, "random-ioi");
    const report = path.join(tmp, "docs", "results.md");
    const before = fs.readFileSync(report, "utf8");
    const run = () => gim(["eval", "--model", dir, "--subset", "3", "--only-protocol", "--protocol-threshold", "0.001", "--resamples", "20", "--report", "docs/results.md"], { cwd: tmp });
    for (let i = 0; i < 2; i++) {
      const { code, stdout: out, stderr: err } = await run();
      expect(code, err).toBe(0);
      expect(out).toMatch(/^random-ioi \(gpt2, 2 layers, 2 heads, width 16, vocab \d+\)\nself-repair protocol \(the GIM paper's\): \d+ rows, [1-9]\d* with two keys/);
      expect(err).toMatch(/replaced the self-repair protocol's section of .*results.md and wrote 2 plots/);
      if (i === 0) {
        // At this threshold the model has high-interaction rows, so the link is measured and printed with its scale-free columns.
        expect(out).toMatch(/link to circuit error: heads [\d., ]+, \d+ \/ \d+ q\/k edges, 3 scoring pairs/);
        expect(out).toMatch(/DiD vs plain +high\/other +÷ plain's/);
      }
    }
    const after = fs.readFileSync(report, "utf8");
    expect(after.split("<!-- self-repair-protocol:start -->")).toHaveLength(2);
    expect(after).toContain("This section was regenerated on its own");
    expect(after).toContain("--only-protocol --report docs/results.md");
    // Everything outside the section is as it was.
    const outside = (md: string) => md.replace(/<!-- self-repair-protocol:start -->[\s\S]*<!-- self-repair-protocol:end -->\n*/, "");
    expect(outside(after)).toBe(outside(before));
    expect(fs.readdirSync(path.join(tmp, "docs", "plots"))).toEqual(expect.arrayContaining(["self-repair-protocol-random-ioi-ablation.svg", "self-repair-protocol-random-ioi-tsg.svg"]));
    const missing = await gim(["eval", "--model", dir, "--subset", "2", "--only-protocol", "--report", "none.md"], { cwd: tmp });
    expect(missing.stderr).toMatch(/^gim: --report none.md: .*none.md does not exist; --only-protocol replaces the protocol's section of an existing report/);
    expect(missing.code).toBe(2);
  });

  it("--only-self-repair replaces only the self-repair section, once; with --only-protocol both", async () => {
    const dir = path.join(tmp, "random-ioi");
    const report = path.join(tmp, "docs", "results.md");
    const before = fs.readFileSync(report, "utf8");
    const marked = /<!-- self-repair:start -->[\s\S]*<!-- self-repair:end -->\n*/;
    for (let i = 0; i < 2; i++) {
      const { code, stdout: out, stderr: err } = await gim(["eval", "--model", dir, "--subset", "2", "--only-self-repair", "--report", "docs/results.md"], { cwd: tmp });
      expect(code, err).toBe(0);
      expect(out).toMatch(/^random-ioi \(gpt2, 2 layers, 2 heads, width 16, vocab \d+\)\nself-repair: \d+ rows measured, \d+ where the pair matters, \d+ self-repair \(\S+( \[\S+, \S+\])? of measured, \S+( \[\S+, \S+\])? of those that matter\)\n/);
      expect(out).not.toMatch(/self-repair protocol/);
      expect(err).toMatch(/replaced the self-repair section of .*results.md\n/);
    }
    const after = fs.readFileSync(report, "utf8");
    expect(after.split("<!-- self-repair:start -->")).toHaveLength(2);
    expect(after.match(marked)![0]).toContain("--only-self-repair --report docs/results.md");
    // The section goes before the protocol's; everything else is as it was.
    expect(after.indexOf("<!-- self-repair:end -->")).toBeLessThan(after.indexOf("<!-- self-repair-protocol:start -->"));
    expect(after.replace(marked, "")).toBe(before.replace(marked, ""));
    const both = await gim(["eval", "--model", dir, "--subset", "2", "--only-self-repair", "--only-protocol", "--no-protocol-link", "--json"], { cwd: tmp });
    expect(both.code, both.stderr).toBe(0);
    const m = (JSON.parse(both.stdout) as { models: Record<string, any>[] }).models[0]!;
    expect(m.selfRepair.examples).toBe(2);
    expect(m.protocol.examples).toBe(2);
  });

  it.runIf(fs.existsSync(path.join(modelDir(shippedModels[0]), "config.json")))("runs a subset of a shipped model by name", async () => {
    const { code, stdout: out, stderr: err } = await gim(["eval", "--model", shippedModels[0], "--subset", "2", "--methods", "gim,gradient", "--no-self-repair", "--no-circuits", "--json"]);
    expect(code, err).toBe(0);
    const json = JSON.parse(out) as Record<string, any>;
    expect(json["models"][0].name).toBe(shippedModels[0]);
    expect(json["models"][0].tokens.argmaxIsTarget).toBe(2); // the trained model predicts the answer of both held-out examples
  });

  it("--also-task evaluates each induction model on the variant too, under its own name (once, if given twice)", async () => {
    const { code, stdout: out, stderr: err } = await gim(["eval", "--model", "induction-gpt2", "--also-task", "induction-twice", "--also-task", "induction-twice", "--subset", "2", "--only-protocol", "--no-protocol-link", "--protocol-threshold", "0.1", "--json"]);
    expect(code, err).toBe(0);
    const json = JSON.parse(out) as Record<string, any>;
    expect(json["models"].map((m: { name: string }) => m.name)).toEqual(["induction-gpt2", "induction-gpt2 on induction-twice"]);
    for (const m of json["models"]) expect(m.protocol.examples).toBe(2);
    const ioi = "ioi-gpt2";
    const none = await gim(["eval", "--model", ioi, "--also-task", "induction-twice", "--subset", "1", "--only-protocol"]);
    expect(none.stderr).toMatch(/^gim: --also-task induction-twice fits none of the models \(it is a variant of the induction task\)\n$/);
    expect(none.code).toBe(2);
    const unknown = await gim(["eval", "--model", ioi, "--also-task", "ioi-twice", "--subset", "1"]);
    expect(unknown.stderr).toMatch(/^gim: unknown --also-task "ioi-twice" \(known: induction-twice\)\n$/);
    expect(unknown.code).toBe(2);
  });

  it("refuses bad options with one line and exit code 2 (1 for a model that cannot be found)", async () => {
    const cases: [string[], RegExp, number?][] = [
      [["eval", "--methods", "gim,nope"], /^gim: unknown method "nope"/],
      [["eval", "--task", "ioi"], /^gim: --task applies to a --model DIR/],
      [["eval", "--model", "no-such-model"], /^gim: --model no-such-model: no folder .*, no shipped model of that name \(ioi-gpt2, ioi-llama, induction-gpt2[^)]*\), and no-such-model is not in the local Hugging Face cache/, 1],
      [["eval", "--model", "README.md"], /^gim: .*README.md is a regular file, not a folder \(--model takes a Hugging Face model folder\)/, 1],
      [["eval", "--model", tmp], /^gim: cannot tell the task of .*: it has no training.json \(recipes: ioi-gpt2/],
      [["eval", "--subset", "0"], /^gim: option --subset/],
      [["eval", "--circuit-grid", "all"], /^gim: unknown --circuit-grid "all" \(known: full, headline\)/],
      [["eval", "--counterfactual", "abc"], /^gim: unknown --counterfactual "abc" \(known: s2-io-flip, third-name\)/],
      [["eval", "--report", "/no/such/folder/results.md"], /^gim: --report .*: the folder \/no\/such\/folder does not exist/],
      [["eval", "--model", path.join(tmp, "random-ioi"), "--task", "copy"], /^gim: unknown --task "copy" \(known: ioi, induction\)/],
      [["eval", "--model", "ioi-gpt2", "--model", "induction-gpt2", "--task", "ioi", "--subset", "1"], /^gim: --task ioi does not fit induction-gpt2: it was trained with the induction-gpt2 recipe, an induction model\n$/],
      [["eval", "--protocol-top", "1.5"], /^gim: option --protocol-top is a share of rows and must be below 1, got 1.5\n$/],
      [["eval", "--protocol-top", "0"], /^gim: option --protocol-top must be greater than 0, got 0\n$/],
      [["eval", "--protocol-threshold", "-1"], /^gim: option --protocol-threshold must be at least 0, got -1\n$/],
      [["eval", "--protocol-threshold", "one"], /^gim: option --protocol-threshold needs a number, got "one"\n$/],
      [["eval", "--protocol-examples", "0"], /^gim: option --protocol-examples must be at least 1, got 0\n$/],
      [["eval", "--protocol-examples", "5000"], /^gim: option --protocol-examples must be at most 4096 \(each example is/],
      [["eval", "--no-protocol", "--protocol-top", "0.1"], /^gim: option --protocol-top applies to the self-repair protocol, which --no-protocol skips\n$/],
      [["eval", "--only-protocol", "--no-protocol"], /^gim: --only-protocol runs only the protocol, which --no-protocol skips\n$/],
      [["eval", "--only-protocol", "--no-circuits"], /^gim: --only-protocol runs only the protocol; --no-circuits does not apply\n$/],
      [["eval", "--only-protocol", "--methods", "gim"], /^gim: --only-protocol runs only the protocol; --methods does not apply\n$/],
      [["eval", "--only-self-repair", "--no-self-repair"], /^gim: --only-self-repair runs only the self-repair measurement, which --no-self-repair skips\n$/],
      [["eval", "--only-self-repair", "--protocol-threshold", "0.1"], /^gim: --only-self-repair runs only the self-repair measurement; --protocol-threshold does not apply\n$/],
      [["eval", "--only-self-repair", "--only-protocol", "--no-circuits"], /^gim: --only-self-repair and --only-protocol run only the self-repair measurement and the protocol; --no-circuits does not apply\n$/],
      [["eval", "--no-protocol", "--no-protocol-link"], /^gim: option --no-protocol-link applies to the self-repair protocol, which --no-protocol skips\n$/],
    ];
    for (const [args, message, exit = 2] of cases) {
      const { code, stderr: err, stdout: out } = await gim(args);
      expect(out).toBe("");
      expect(err).toMatch(message);
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(code).toBe(exit);
    }
  });
});

describe("EvalProgressBar", () => {
  const updates = Array.from({ length: 20 }, (_, i) => ({ model: "m", stage: i < 15 ? ("tokens" as const) : ("components" as const), done: i + 1, total: 20 }));

  it("off a terminal prints a line when a stage starts and at each new tenth of the work", () => {
    const lines: string[] = [];
    const bar = new EvalProgressBar({ write: (t: string) => lines.push(t) });
    for (const u of updates) bar.update(u);
    bar.finish("done");
    // Tenths change at done = 2, 4, ..., 20; the components stage starts at done = 16.
    expect(lines.map((l) => l.match(/\((\d+)\/20\)/)?.[1] ?? l)).toEqual(["1", "2", "4", "6", "8", "10", "12", "14", "16", "18", "20", "gim eval done\n"]);
    expect(lines[0]).toMatch(/^gim eval {3}5% m tokens \(1\/20\) .* elapsed, about .* left\n$/);
  });

  it("on a terminal redraws one line, the bar filling with the work done", () => {
    const out: string[] = [];
    const bar = new EvalProgressBar({ write: (t: string) => out.push(t), isTTY: true });
    bar.update(updates[4]!);
    bar.update(updates[9]!);
    bar.finish("done");
    expect(out[0]).toMatch(/^\rgim eval \[#{6}-{18}\]  25% m tokens/);
    expect(out[1]).toMatch(/^\rgim eval \[#{12}-{12}\]  50% m tokens/);
    expect(out.slice(2)).toEqual(["\n", "gim eval done\n"]);
  });
});
