/**
 * `gim logits` and `gim explain --json` against the torch reference of the transformer
 * fixtures (golden.json: float64 logits and GIM attributions from an independent
 * implementation), and integrated gradients / occlusion against their definitions
 * evaluated with `gim logits`.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readGolden, relativeError } from "../../transformer/test/golden.js";
import { gim, jsonLines, modelsDir } from "./helpers.js";

const gpt2 = path.join(modelsDir, "gpt2-f32");
const llama = path.join(modelsDir, "llama-gqa-sharded");
const gpt2Golden = readGolden("gpt2-f32");
const llamaGolden = readGolden("llama-gqa-sharded");

async function logitsOf(model: string, ids: readonly number[], position = -1): Promise<number[]> {
  const r = await gim(["logits", "--model", model, "--ids", ids.join(","), "--position", String(position), "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { model: string; position: number; logits: number[] };
  expect(Object.keys(out)).toEqual(["model", "position", "logits"]);
  expect(out.model).toBe(path.basename(model));
  expect(out.position).toBe(position < 0 ? position + ids.length : position);
  return out.logits;
}

async function explainJson(args: readonly string[]): Promise<Record<string, unknown>[]> {
  const r = await gim(["explain", ...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return jsonLines(r.stdout);
}

function goldenResult(golden: typeof gpt2Golden, name: string): number[] {
  const found = golden.gim.results.find((r) => r.name === name);
  if (!found) throw new Error(`golden ${golden.case} has no result ${name}`);
  return found.attributions;
}

describe("gim logits --json", () => {
  it("prints the last position's logits of the torch reference (gpt2-f32)", async () => {
    const logits = await logitsOf(gpt2, gpt2Golden.ids);
    expect(logits).toHaveLength(96);
    expect(relativeError(logits, gpt2Golden.logits.at(-1)!)).toBeLessThan(1e-4);
  });

  it("--position picks another row, negative from the end (gpt2-f32)", async () => {
    expect(relativeError(await logitsOf(gpt2, gpt2Golden.ids, 0), gpt2Golden.logits[0]!)).toBeLessThan(1e-4);
    expect(relativeError(await logitsOf(gpt2, gpt2Golden.ids, -3), gpt2Golden.logits[gpt2Golden.ids.length - 3]!)).toBeLessThan(1e-4);
  });

  it("reads a sharded Llama folder (llama-gqa-sharded)", async () => {
    expect(relativeError(await logitsOf(llama, llamaGolden.ids), llamaGolden.logits.at(-1)!)).toBeLessThan(1e-4);
  });

  it("prints plain JSON numbers", async () => {
    const r = await gim(["logits", "--model", gpt2, "--ids", "1,2", "--json"]);
    expect(r.stdout).toMatch(/^\{"model":"gpt2-f32","position":1,"logits":\[-?\d[\d.e+-]*(,-?\d[\d.e+-]*)*\]\}\n$/);
  });
});

describe("gim explain --json", () => {
  const ids = gpt2Golden.ids.join(",");

  it("without --method prints one GIM object: the reference's gim attributions, argmax target, its logit", async () => {
    const [out, ...rest] = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "0"]);
    expect(rest).toEqual([]);
    expect(Object.keys(out!)).toEqual(["model", "tokens", "ids", "position", "target", "logit", "baseline", "attributions"]);
    expect(out!["model"]).toBe("gpt2-f32");
    expect(out!["position"]).toBe(gpt2Golden.ids.length - 1);
    expect(out!["baseline"]).toBe(0);
    expect(out!["ids"]).toEqual(gpt2Golden.ids);
    expect(out!["tokens"]).toEqual(gpt2Golden.ids.map(() => null)); // the fixture has no tokenizer
    expect(out!["target"]).toBe(gpt2Golden.gim.target_id);
    expect(out!["logit"] as number).toBeCloseTo(gpt2Golden.target_logit, 4);
    expect(relativeError(out!["attributions"] as number[], goldenResult(gpt2Golden, "gim"))).toBeLessThan(1e-4);
  });

  it("--method gradient is plain gradient x input", async () => {
    const [out] = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "gradient"]);
    expect(out!["method"]).toBeUndefined();
    expect(relativeError(out!["attributions"] as number[], goldenResult(gpt2Golden, "gradient"))).toBeLessThan(1e-4);
  });

  it("several --method print one object per line with a method field, each matching the reference", async () => {
    const lines = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "gim", "--method", "freeze-norm,tsg", "--method", "qkvScale", "--method", "gradient"]);
    expect(lines.map((l) => l["method"])).toEqual(["gim", "freeze-norm", "softmax-temperature", "qkv-scale", "gradient"]);
    const reference = ["gim", "freeze_norm", "tsg", "qkv_scale", "gradient"];
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(["method", "model", "tokens", "ids", "position", "target", "logit", "baseline", "attributions"]);
      expect(relativeError(line["attributions"] as number[], goldenResult(gpt2Golden, reference[i]!))).toBeLessThan(1e-4);
    });
  });

  it("--target-id and --position name the reference's target explicitly", async () => {
    const [out] = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "0", "--target-id", String(gpt2Golden.gim.target_id), "--position", String(gpt2Golden.gim.target_position)]);
    expect(relativeError(out!["attributions"] as number[], goldenResult(gpt2Golden, "gim"))).toBeLessThan(1e-4);
  });

  it("custom GIM settings match the reference's combo on Llama (TSG 3, q/k 0.5, v 1, gate 1, up 0.25)", async () => {
    const [out] = await explainJson([
      "--model", llama, "--ids", llamaGolden.ids.join(","), "--baseline-id", "0",
      "--softmax-temperature", "3", "--q-scale", "0.5", "--k-scale", "0.5", "--v-scale", "1", "--gate-scale", "1", "--up-scale", "0.25",
    ]);
    expect(relativeError(out!["attributions"] as number[], goldenResult(llamaGolden, "combo"))).toBeLessThan(1e-4);
  });

  it("Llama: gim, gate-up-scale and --no-freeze-norm settings match the reference", async () => {
    const llamaIds = llamaGolden.ids.join(",");
    const lines = await explainJson(["--model", llama, "--ids", llamaIds, "--baseline-id", "0", "--method", "gim,gate-up-scale"]);
    expect(relativeError(lines[0]!["attributions"] as number[], goldenResult(llamaGolden, "gim"))).toBeLessThan(1e-4);
    expect(relativeError(lines[1]!["attributions"] as number[], goldenResult(llamaGolden, "gate_up_scale"))).toBeLessThan(1e-4);
    // Every GIM part switched off on the command line is the plain gradient.
    const [off] = await explainJson([
      "--model", llama, "--ids", llamaIds, "--baseline-id", "0", "--no-freeze-norm",
      "--softmax-temperature", "1", "--q-scale", "1", "--k-scale", "1", "--v-scale", "1", "--gate-scale", "1", "--up-scale", "1",
    ]);
    expect(relativeError(off!["attributions"] as number[], goldenResult(llamaGolden, "gradient"))).toBeLessThan(1e-4);
  });

  it("integrated gradients (--steps) add up to f(x) - f(baseline sequence), measured with gim logits", async () => {
    const [out] = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "ig", "--steps", "64"]);
    const target = out!["target"] as number;
    const full = (await logitsOf(gpt2, gpt2Golden.ids))[target]!;
    const base = (await logitsOf(gpt2, gpt2Golden.ids.map(() => 0)))[target]!;
    const total = (out!["attributions"] as number[]).reduce((a, b) => a + b, 0);
    expect(Math.abs(total - (full - base))).toBeLessThan(0.02 * Math.abs(full - base));
    // With 1 step the midpoint rule is one gradient at the halfway point: a different answer.
    const [coarse] = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "ig", "--steps", "1"]);
    expect(relativeError(coarse!["attributions"] as number[], out!["attributions"] as number[])).toBeGreaterThan(1e-3);
  });

  it("occlusion is f(x) - f(x with token t replaced by the baseline), measured with gim logits", async () => {
    const [out] = await explainJson(["--model", gpt2, "--ids", ids, "--baseline-id", "5", "--method", "occlusion"]);
    const target = out!["target"] as number;
    const full = (await logitsOf(gpt2, gpt2Golden.ids))[target]!;
    const expected: number[] = [];
    for (let t = 0; t < gpt2Golden.ids.length; t++) {
      const replaced = gpt2Golden.ids.map((id, s) => (s === t ? 5 : id));
      expected.push(full - (await logitsOf(gpt2, replaced))[target]!);
    }
    expect(relativeError(out!["attributions"] as number[], expected)).toBeLessThan(1e-4);
  });
});
