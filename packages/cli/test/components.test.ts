/**
 * `gim components` run in-process on a fixture model: its JSON holds the library's numbers,
 * the report names the sections, and mistakes are one line on stderr with exit code 2.
 */
import * as path from "node:path";
import { compareComponentMethods, exactComponentScores, listComponents, logitDiff } from "@gim/rules";
import { loadModel } from "@gim/transformer/node";
import { describe, expect, it } from "vitest";
import { gim, modelsDir } from "./helpers.js";

const dir = path.join(modelsDir, "gpt2-f32");
const clean = [3, 7, 1, 9, 12, 4, 5, 8, 2, 11];
const corrupted = [3, 7, 1, 9, 20, 4, 5, 8, 2, 11];
const base = ["components", "--model", dir, "--ids", clean.join(","), "--corrupted-ids", corrupted.join(","), "--answer-id", "5", "--wrong-answer-id", "9"];

describe("gim components", () => {
  it("--json prints one object with each method's scores, agreement and circuits, equal to the library's", async () => {
    const { code, stdout: out, stderr: err } = await gim([...base, "--exact", "--json", "--top", "3"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(1);
    const json = JSON.parse(out);
    const model = loadModel(dir);
    const metric = logitDiff({ answer: 5, wrong: 9 });
    const report = compareComponentMethods(model, clean, corrupted, { metric, exact: true, top: 3 });
    expect(json.components).toEqual(listComponents(model).map((c) => c.name));
    expect(Object.keys(json.methods)).toEqual(["gim", "gradient"]);
    expect(json.exact.scores).toEqual(exactComponentScores(model, clean, corrupted, { metric }).scores);
    expect(json.methods.gim.scores).toEqual(report.methods[0]!.scores);
    expect(json.methods.gradient.agreement).toEqual(report.methods[1]!.agreement);
    expect(json.methods.gim.circuits.signed.area).toBe(report.methods[0]!.circuits!.signed.area);
    expect(json.methods.gim.circuits.absolute.mib.cmd).toBe(report.methods[0]!.circuits!.absolute.mib.areaFromOne);
    expect(json.metric.clean).toBe(report.metricClean);
    expect(json).toMatchObject({ answer: 5, wrongAnswer: 9, position: 9, clean: { ids: clean }, corrupted: { ids: corrupted } });
  });

  it("prints tables per method, the agreement with exact patching and the circuit summary; --edges adds edges", async () => {
    const { code, stdout: out } = await gim([...base, "--exact", "--edges", "--method", "gim", "--top", "2"]);
    expect(code).toBe(0);
    expect(out).toMatch(/gim: top 2 components by \|score\|/);
    expect(out).toMatch(/exact patching: top 2 components/);
    expect(out).toMatch(/agreement with exact patching \(heads and MLPs\)/);
    expect(out).toMatch(/circuit faithfulness/);
    expect(out).toMatch(/gim: top 2 edges by \|score\|/);
    expect(out).toMatch(/edge agreement with exact edge patching/);
    expect(out).not.toMatch(/gradient:/);
  });

  it("identical prompts: scores 0, faithfulness undefined, said in the report", async () => {
    const { code, stdout: out } = await gim(["components", "--model", dir, "--ids", clean.join(","), "--corrupted-ids", clean.join(","), "--answer-id", "5", "--wrong-answer-id", "9"]);
    expect(code).toBe(0);
    expect(out).toMatch(/faithfulness is undefined: the clean and corrupted metrics are equal/);
  });

  it.each([
    [["--corrupted-ids", "1,2"], /the clean prompt has 10 tokens but the corrupted one 2/],
    [[], /needs a corrupted prompt/],
    [["--corrupted-ids", corrupted.join(","), "--corrupted", "x"], /either --corrupted or --corrupted-ids/],
    [["--corrupted-ids", corrupted.join(","), "--method", "ig"], /--method integrated-gradients is not a gradient method/],
    [["--corrupted-ids", corrupted.join(","), "--metric", "kl"], /unknown --metric "kl"/],
    [["--corrupted-ids", corrupted.join(","), "--answer-id", "5", "--wrong-answer-id", "5"], /the answer and the wrong answer are the same token \(id 5\)/],
    [["--corrupted-ids", "3,7,1,9,200,4,5,8,2,11"], /--corrupted-ids: token id 200 at position 4 is outside the vocabulary/],
    [["--corrupted", "some text"], /has no tokenizer/],
  ])("refuses %j with one line and exit code 2", async (extra, message) => {
    const { code, stdout: out, stderr: err } = await gim(["components", "--model", dir, "--ids", clean.join(","), ...extra]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
  });
});
