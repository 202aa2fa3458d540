/** Reads the golden fixtures written by fixtures/generate.py (an independent torch implementation). */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "models");

export interface GimResult {
  name: string;
  settings: { temperature: number; freeze_norm: boolean; q_scale: number; k_scale: number; v_scale: number; gate_scale: number; up_scale: number };
  grad_input_embeds: number[][];
  attributions: number[];
}

export interface Golden {
  case: string;
  ids: number[];
  logits: number[][];
  target_position: number;
  target_id: number;
  target_logit: number;
  grad_input_embeds: number[][];
  ids2: number[];
  logits2: number[][];
  baseline_id: number;
  gim: { baseline_id: number; target_position: number; target_id: number; results: GimResult[] };
}

export const fixtureCases = fs.readdirSync(fixturesDir).filter((d) => fs.existsSync(path.join(fixturesDir, d, "golden.json"))).sort();

export function readGolden(name: string): Golden {
  return JSON.parse(fs.readFileSync(path.join(fixturesDir, name, "golden.json"), "utf8")) as Golden;
}

/** Largest |a - b| relative to the largest |b| (1e-4 means agreement to 1e-4 of the scale of the values). */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst / Math.max(scale, 1e-30);
}
