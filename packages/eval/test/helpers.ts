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
