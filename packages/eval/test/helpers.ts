/** Test helpers for @gim/eval: the golden fixture models of @gim/transformer's tests. */
import * as path from "node:path";
import type { CausalLM } from "@gim/transformer";
import { loadModel } from "@gim/transformer/node";
import { fixturesDir } from "../../transformer/test/golden.js";

const models = new Map<string, CausalLM>();

/** A golden fixture model (cached: loading is the slow part). */
export function fixtureModel(name: string): CausalLM {
  let model = models.get(name);
  if (!model) {
    model = loadModel(path.join(fixturesDir, name));
    models.set(name, model);
  }
  return model;
}

/** Seeded pseudo-random token ids in 1..95 (inside every fixture model's vocabulary). */
export function ids(length: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return 1 + (s % 95);
  });
}
