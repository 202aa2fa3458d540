/**
 * The softmax kernels against the definition, row by row, with causal and sliding-window
 * masks, on views and in both dtypes; the backward against p * (dy - sum(dy p)).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { randNormal, softmax, softmaxBackward, tensor, transpose } from "../src/index.js";
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

  it("names what is wrong with a mask or a gradient", () => {
    expect(() => softmax(tensor([[1, 2, 3]]), { window: 2 })).toThrow("softmax: a sliding window needs causal: true");
    expect(() => softmax(tensor([[1], [2]]), { causal: true })).toThrow(/needs \[\.\.\., queries, keys\] with queries <= keys/);
    expect(() => softmaxBackward(tensor([1, 2]), tensor([1, 2, 3]))).toThrow("softmax backward: probabilities [2] and gradient [3] differ in shape");
  });
});
