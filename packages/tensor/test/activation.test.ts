/**
 * The activation kernels: float32 (WebAssembly SIMD for the tanh GELU and SiLU) against the
 * definitions evaluated in float64 here, over ordinary, large and special values, views and
 * sizes that cross the kernels' blocks; float64 equal to the definitions exactly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gelu, geluBackward, randNormal, silu, siluBackward, slice, Tensor, transpose, type DType } from "../src/index.js";
import { erfScalar } from "../src/elementwise.js";

const C = Math.sqrt(2 / Math.PI);
const K = 0.044715;
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

const definitions = {
  geluTanh: (v: number) => 0.5 * v * (1 + Math.tanh(C * (v + K * v * v * v))),
  geluTanhGrad: (v: number) => {
    const t = Math.tanh(C * (v + K * v * v * v));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * C * (1 + 3 * K * v * v);
  },
  geluExact: (v: number) => 0.5 * v * (1 + erfScalar(v * Math.SQRT1_2)),
  silu: (v: number) => v * sigmoid(v),
  siluGrad: (v: number) => sigmoid(v) * (1 + v * (1 - sigmoid(v))),
};

/**
 * Expects float32 results within a few float32 roundings of the float64 definition, measured
 * against the size of the terms the definition adds (so cancellation near a zero of the result
 * or of the derivative is not held against the kernel).
 */
function expectNear(got: Tensor, inputs: ArrayLike<number>, want: (v: number) => number, scale: (v: number) => number, label: string): void {
  const values = got.toFlat();
  for (let i = 0; i < inputs.length; i++) {
    const v = inputs[i]!;
    const w = want(v);
    if (Number.isNaN(w)) {
      expect(values[i], `${label} at ${v}`).toBeNaN();
      continue;
    }
    const allowed = 8 * 2 ** -24 * scale(v) + 1e-37;
    if (!(Math.abs(values[i]! - w) <= allowed)) throw new Error(`${label}(${v}) is ${values[i]}, expected ${w} (allowed error ${allowed})`);
  }
}

const special = [0, -0, 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.5, 3, -3, 10, -10, 20, -20, 50, -50, 88, -88, 100, -100, 1e4, -1e4, NaN];

describe("activation kernels", () => {
  it("float32 tanh GELU and SiLU and their derivatives agree with the definitions, at special and random values", () => {
    const random = randNormal([3000], { seed: 4, std: 4 }).toFlat();
    const xs = Float32Array.from([...special, ...random]);
    const x = new Tensor(xs, [xs.length]);
    const ones = new Tensor(new Float32Array(xs.length).fill(1), [xs.length]);
    // Scales: |x| for the functions; 1 + |x| |the tanh/sigmoid derivative term| for the derivatives.
    expectNear(gelu(x), xs, definitions.geluTanh, (v) => Math.abs(v), "gelu");
    expectNear(geluBackward(x, ones), xs, definitions.geluTanhGrad, (v) => 1 + Math.abs(v) * C * (1 + 3 * K * v * v), "gelu'");
    expectNear(silu(x), xs, definitions.silu, (v) => Math.abs(v), "silu");
    expectNear(siluBackward(x, ones), xs, definitions.siluGrad, (v) => 1 + Math.abs(v), "silu'");
  });

  it("multiplies the derivative by the upstream gradient, on views and across blocks of the scratch", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 3, 17, 5000, 70_001), fc.integer({ min: 0, max: 1000 }), (rows, cols, seed) => {
        const x = transpose(randNormal([cols, rows], { seed, std: 3 })); // [rows, cols], not contiguous
        const dy = slice(randNormal([rows, 2 * cols], { seed: seed + 1 }), 1, 0, undefined, 2); // every other column
        const xs = x.toFlat();
        const gs = dy.toFlat();
        const check = (got: Tensor, f: (v: number) => number, label: string): void => {
          expect(got.shape).toEqual([rows, cols]);
          const values = got.toFlat();
          for (let i = 0; i < xs.length; i++) {
            const want = gs[i]! * f(xs[i]!);
            const allowed = 8 * 2 ** -24 * Math.abs(gs[i]!) * (1 + 4 * Math.abs(xs[i]!) * (1 + xs[i]! * xs[i]!)) + 1e-37;
            if (!(Math.abs(values[i]! - want) <= allowed)) throw new Error(`${label} element ${i}: ${values[i]}, expected ${want}`);
          }
        };
        check(geluBackward(x, dy), definitions.geluTanhGrad, "gelu'");
        check(siluBackward(x, dy), definitions.siluGrad, "silu'");
      }),
      { numRuns: 12 },
    );
  });

  it("float64 (and the exact GELU in float32) follow the definitions in JavaScript numbers", () => {
    const xs = Float64Array.from([...special, ...randNormal([500], { seed: 9, std: 3, dtype: "float64" }).toFlat()]);
    const x = new Tensor(xs, [xs.length]);
    const g = new Tensor(Float64Array.from(xs, (_, i) => 1 + i / 100), [xs.length]);
    const same = (got: Tensor, want: (v: number, i: number) => number, dtype: DType): void => {
      expect(got.dtype).toBe(dtype);
      const values = got.toFlat();
      xs.forEach((v, i) => expect(values[i]).toBe(dtype === "float32" ? Math.fround(want(v, i)) : want(v, i)));
    };
    same(gelu(x), definitions.geluTanh, "float64");
    same(silu(x), definitions.silu, "float64");
    same(gelu(x, "none"), definitions.geluExact, "float64");
    same(siluBackward(x, g), (v, i) => (1 + i / 100) * sigmoid(v) * (1 + v * (1 - sigmoid(v))), "float64");
    const x32 = new Tensor(Float32Array.from(xs), [xs.length]);
    const values = gelu(x32, "none").toFlat();
    x32.data.forEach((v, i) => expect(values[i]).toBe(Math.fround(definitions.geluExact(v))));
  });

  it("refuses a gradient whose shape or dtype differs from the input's", () => {
    const x = randNormal([2, 3], { seed: 1 });
    expect(() => geluBackward(x, randNormal([3, 2], { seed: 2 }))).toThrow("geluBackward: the input is float32 [2, 3] and the gradient float32 [3, 2]; they must match");
    expect(() => siluBackward(x, randNormal([2, 3], { seed: 2, dtype: "float64" }))).toThrow(/siluBackward: .* float64 \[2, 3\]/);
  });
});
