/**
 * The softmax kernels against the definition, row by row, with causal and sliding-window
 * masks, on views and in both dtypes; the backward against p * (dy - sum(dy p)).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { div, randNormal, softmax, softmaxBackward, tensor, transpose } from "../src/index.js";
import { expectClose, tolFor } from "./arbitraries.js";

describe("softmax kernels", () => {
  it("follow the definition over the visible keys, masked entries exactly 0, and the backward over them", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(undefined, 1, 2, 4),
        fc.constantFrom("float32" as const, "float64" as const),
        fc.integer({ min: 0, max: 999 }),
        (rows, extraKeys, window, dtype, seed) => {
          const cols = rows + extraKeys;
          const x = transpose(randNormal([2, cols, rows], { seed, dtype, std: 3 })); // [2, rows, cols], a view
          const mask = { causal: true, ...(window === undefined ? {} : { window }) };
          const p = softmax(x, mask);
          const dy = randNormal([2, rows, cols], { seed: seed + 1, dtype });
          const dx = softmaxBackward(p, dy);
          const xs = x.toFlat();
          const ps = p.toFlat();
          const gs = dy.toFlat();
          const want: number[] = [];
          const wantDx: number[] = [];
          for (let r = 0; r < 2 * rows; r++) {
            const i = r % rows;
            const end = i + cols - rows + 1;
            const first = window === undefined ? 0 : Math.max(0, end - window);
            const visible = (j: number): boolean => j >= first && j < end;
            const row = Array.from({ length: cols }, (_, j) => xs[r * cols + j]!);
            const top = Math.max(...row.filter((_, j) => visible(j)));
            const e = row.map((v, j) => (visible(j) ? Math.exp(v - top) : 0));
            const total = e.reduce((s, v) => s + v, 0);
            want.push(...e.map((v) => v / total));
            const dot = Array.from({ length: cols }, (_, j) => gs[r * cols + j]! * ps[r * cols + j]!).reduce((s, v) => s + v, 0);
            for (let j = 0; j < cols; j++) wantDx.push(ps[r * cols + j]! * (gs[r * cols + j]! - dot));
          }
          expectClose(ps, want, tolFor(dtype), "softmax");
          want.forEach((w, i) => w === 0 && expect(ps[i]).toBe(0));
          expectClose(dx.toFlat(), wantDx, { ...tolFor(dtype), atol: dtype === "float32" ? 1e-6 : 1e-14 }, "backward");
        },
      ),
      { numRuns: 60 },
    );
  });

  it("at a temperature, equals the softmax of x / temperature, masks included", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(undefined, 2),
        fc.oneof(fc.constant(2), fc.double({ min: 0.05, max: 20, noNaN: true })),
        fc.integer({ min: 0, max: 999 }),
        (rows, extraKeys, window, temperature, seed) => {
          const x = transpose(randNormal([2, rows + extraKeys, rows], { seed, dtype: "float64", std: 3 }));
          const mask = { causal: true, ...(window === undefined ? {} : { window }) };
          const flat = softmax(x, mask, temperature).toFlat();
          expectClose(flat, softmax(div(x, temperature), mask).toFlat(), { rtol: 1e-12, atol: 1e-15 }, "softmax at a temperature");
          // A row that sees two keys or more flattens (the fused path does use the temperature).
          if (rows + extraKeys > 1) expect(flat).not.toEqual(softmax(x, mask).toFlat());
        },
      ),
      { numRuns: 60 },
    );
  });

  it("stays finite at a temperature far below the scores' scale", () => {
    // x / 1e-30 overflows float32 (and 1e300 / 1e-30 overflows float64); (x - max) / T does not.
    expect(Array.from(softmax(tensor([[1e30, 0, -1e30]]), {}, 1e-30).toFlat())).toEqual([1, 0, 0]);
    expect(Array.from(softmax(tensor([[1, 1, 0]], { dtype: "float64" }), {}, 1e-30).toFlat())).toEqual([0.5, 0.5, 0]);
  });

  it("names what is wrong with a mask or a gradient", () => {
    for (const bad of [0, -1, Number.NaN, Infinity]) expect(() => softmax(tensor([[1, 2]]), {}, bad)).toThrow(`softmax: the temperature must be a positive finite number, got ${bad}`);
    expect(() => softmax(tensor([[1, 2, 3]]), { window: 2 })).toThrow("softmax: a sliding window needs causal: true");
    expect(() => softmax(tensor([[1], [2]]), { causal: true })).toThrow(/needs \[\.\.\., queries, keys\] with queries <= keys/);
    expect(() => softmaxBackward(tensor([1, 2]), tensor([1, 2, 3]))).toThrow("softmax backward: probabilities [2] and gradient [3] differ in shape");
  });
});
