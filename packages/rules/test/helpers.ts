/**
 * Test helpers for @gim/rules: fixture models, float64 random tensors, and comparisons.
 * The references in the tests are written with plain loops over `Float64Array`s, never with
 * the rules or the tensor kernels under test.
 */
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { type CausalLM } from "@gim/transformer";
import { loadModel } from "@gim/transformer/node";
import * as path from "node:path";
import { expect } from "vitest";
import { fixturesDir, readGolden, type Golden } from "../../transformer/test/golden.js";

export { fixturesDir, readGolden, relativeError, type Golden } from "../../transformer/test/golden.js";

const models = new Map<string, CausalLM>();

/** A golden fixture model (cached: loading is the slow part), float32 unless asked for float64. */
export function fixtureModel(name: string, dtype: "float32" | "float64" = "float32"): CausalLM {
  const key = `${name}:${dtype}`;
  let model = models.get(key);
  if (!model) {
    model = loadModel(path.join(fixturesDir, name), { dtype });
    models.set(key, model);
  }
  return model;
}

/** A fixture model with its golden values. */
export function fixture(name: string, dtype: "float32" | "float64" = "float32"): { model: CausalLM; golden: Golden } {
  return { model: fixtureModel(name, dtype), golden: readGolden(name) };
}

/** A float64 normal tensor from a seeded generator. */
export function randn(shape: readonly number[], rng: T.Rng, std = 1): Tensor {
  return T.randNormal(shape, { rng, std, dtype: "float64" });
}

/** The values of a tensor in row-major order, as a plain array (views read logically). */
export function values(t: Tensor): number[] {
  return Array.from(T.contiguousData(t));
}

/** Asserts elementwise |a - b| <= atol + rtol * |b|, naming the first bad index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-12, rtol = 1e-10): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      expect.fail(`index ${i}: got ${a}, expected ${b} (|diff| ${Math.abs(a - b)})`);
    }
  }
}

/** Asserts two arrays are equal bit for bit (NaN equal to NaN, 0 equal to -0 is not accepted). */
export function expectBitwise(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`index ${i}: got ${actual[i]}, expected exactly ${expected[i]}`);
  }
}

/** sqrt(sum (a - b)^2) / sqrt(sum b^2): how much two results differ, relative to the second. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}
