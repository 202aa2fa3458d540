/**
 * GIM's default backward on the shipped models (packages/models/models) against the
 * independent PyTorch implementation (packages/models/test/fixtures/generate.py, float64 on the
 * weights as stored): d(target logit)/d(input embeddings) under the reference's default
 * settings agrees to 1e-4 of its scale. The files are read by path: the rules package sits
 * below the models package.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { grad, variable } from "@gim/autograd";
import { loadModel } from "@gim/transformer/node";
import { describe, expect, it } from "vitest";
import { relativeError } from "../../transformer/test/golden.js";
import { bindRules, gim } from "../src/index.js";

const modelsPackage = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../models");
const goldenDir = path.join(modelsPackage, "test/fixtures/shipped");
const goldens = fs.readdirSync(goldenDir).filter((f) => f.endsWith(".json")).map((f) => f.replace(/\.json$/, "")).sort();

interface Golden {
  model: string;
  ids: number[];
  target_position: number;
  target_id: number;
  gim_settings: { temperature: number; freeze_norm: boolean; q_scale: number; k_scale: number; v_scale: number; gate_scale: number; up_scale: number };
  gim_grad_input_embeds: number[][];
}

describe("GIM on the shipped models matches the torch reference", () => {
  it("covers every shipped model folder", () => {
    const folders = fs.readdirSync(path.join(modelsPackage, "models")).sort();
    expect(goldens).toEqual(folders);
  });

  it.each(goldens)("%s", (name) => {
    const golden = JSON.parse(fs.readFileSync(path.join(goldenDir, `${name}.json`), "utf8")) as Golden;
    const model = loadModel(path.join(modelsPackage, "models", golden.model));
    const s = golden.gim_settings;
    const rules = bindRules(model, gim({ temperature: s.temperature, freezeNorm: s.freeze_norm, qScale: s.q_scale, kScale: s.k_scale, vScale: s.v_scale, gateScale: s.gate_scale, upScale: s.up_scale })).rules;
    const e = variable(model.embedTokens(golden.ids));
    const [g] = grad(model.forward({ embeds: e }).logit(golden.target_position, golden.target_id), [e], { rules });
    expect(relativeError(g!.toFlat(), golden.gim_grad_input_embeds.flat())).toBeLessThan(1e-4);
  });
});
