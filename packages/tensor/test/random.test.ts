import { describe, expect, it } from "vitest";
import { randNormal, randUniform, Rng } from "../src/index.js";

/**
 * Reference outputs printed once by this Python 3.11 transcription of splitmix32 seeding and
 * xoshiro128** (written from the published algorithm with explicit 32-bit masks, so JavaScript
 * signed-integer slips show up). `state1234` is the generator started from state {1, 2, 3, 4}.
 *
 * ```python
 * # Independent transcription of splitmix32 seeding + xoshiro128** (Blackman & Vigna) with explicit 32-bit masks.
 * import math
 * M = 0xFFFFFFFF
 * def rotl(x, k): return ((x << k) | (x >> (32 - k))) & M
 * class X:
 *     def __init__(self, seed=None, state=None):
 *         if state: self.s = list(state); return
 *         z = seed & M
 *         s = []
 *         for _ in range(4):
 *             z = (z + 0x9E3779B9) & M
 *             t = z ^ (z >> 16); t = (t * 0x21F0AAAD) & M; t ^= t >> 15; t = (t * 0x735A2D97) & M
 *             s.append(t ^ (t >> 15))
 *         self.s = s
 *     def next(self):
 *         s = self.s
 *         r = (rotl((s[1] * 5) & M, 7) * 9) & M
 *         t = (s[1] << 9) & M
 *         s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11)
 *         return r
 *     def uniform(self):
 *         hi = self.next() >> 5; lo = self.next() >> 6
 *         return (hi * 2**26 + lo) / 2**53
 * out = {}
 * x = X(state=[1,2,3,4]); out['state1234'] = [x.next() for _ in range(6)]
 * for seed in [0, 1, 42, 4294967295]:
 *     x = X(seed); out['u32_%d' % seed] = [x.next() for _ in range(6)]
 * x = X(7); out['uniform_7'] = [x.uniform() for _ in range(5)]
 * x = X(7); n = []
 * while len(n) < 4:
 *     u = 0
 *     while u == 0: u = x.uniform()
 *     v = x.uniform(); r = math.sqrt(-2 * math.log(u))
 *     n += [r * math.cos(2 * math.pi * v), r * math.sin(2 * math.pi * v)]
 * out['normal_7'] = n
 * for k, v in out.items(): print('  %s: %r,' % (k, v))
 * ```
 */
const PYTHON = {
  state1234: [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  u32_0: [1789933344, 44971166, 2521387044, 3848737593, 1138324114, 749234105],
  u32_1: [393288148, 2174103013, 3814759091, 2092745082, 1865176206, 2179171167],
  u32_42: [660444221, 3652823732, 77672526, 910233633, 2297337756, 3786072677],
  u32_4294967295: [4104197751, 1825856343, 1152209388, 2427537429, 3685145430, 609215610],
  uniform_7: [0.049009592574554284, 0.9298532154569821, 0.3972365680289133, 0.3065906174992611, 0.6571925410014113],
  normal_7: [2.221205614508097, -1.0477232862187897, -0.4730450681428622, 1.2738425870394694],
};

const N = 100_000;

function meanOf(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

function varianceOf(values: ArrayLike<number>): number {
  const m = meanOf(values);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i]! - m) ** 2;
  return s / (values.length - 1);
}

describe("Rng", () => {
  it("follows xoshiro128** from a given state (published first outputs 11520, 0, 5927040, ...)", () => {
    const rng = new Rng(0);
    // Set the private state words directly to check the core step apart from seeding.
    Object.assign(rng, { s0: 1, s1: 2, s2: 3, s3: 4 });
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual(PYTHON.state1234);
  });

  it("seeds through splitmix32 as the reference does, for small, large and wrapped seeds", () => {
    for (const seed of [0, 1, 42, 4294967295]) {
      const rng = new Rng(seed);
      expect(Array.from({ length: 6 }, () => rng.nextUint32()), `seed ${seed}`).toEqual(PYTHON[`u32_${seed}` as keyof typeof PYTHON]);
    }
    // Seeds are taken modulo 2^32.
    expect(new Rng(2 ** 32 + 42).nextUint32()).toBe(PYTHON.u32_42[0]);
    expect(new Rng(-1).nextUint32()).toBe(PYTHON.u32_4294967295[0]);
  });

  it("uniform() uses 53 bits from two draws; normal() is Box-Muller with the pair's second value kept", () => {
    const u = new Rng(7);
    expect(Array.from({ length: 5 }, () => u.uniform())).toEqual(PYTHON.uniform_7);
    const n = new Rng(7);
    const got = Array.from({ length: 4 }, () => n.normal());
    got.forEach((v, i) => expect(Math.abs(v - PYTHON.normal_7[i]!)).toBeLessThan(1e-13));
  });

  it("int(n) is uniform over [0, n): chi-square of 1e5 draws into 10 bins is below the 99.99% point", () => {
    const rng = new Rng(3);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < N; i++) {
      const k = rng.int(10);
      expect(Number.isInteger(k) && k >= 0 && k < 10).toBe(true);
      counts[k]!++;
    }
    const chi2 = counts.reduce((s, c) => s + (c - N / 10) ** 2 / (N / 10), 0);
    expect(chi2).toBeLessThan(33.7); // 9 degrees of freedom
    expect(() => rng.int(0)).toThrow("Rng.int: n must be a positive integer, got 0");
  });

  it("shuffle permutes in place, reproducibly, with all orders about equally likely", () => {
    expect(new Rng(5).shuffle([1, 2, 3, 4, 5, 6])).toEqual(new Rng(5).shuffle([1, 2, 3, 4, 5, 6]));
    expect([...new Rng(5).shuffle([1, 2, 3, 4, 5, 6])].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const rng = new Rng(11);
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const key = rng.shuffle(["a", "b", "c"]).join("");
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // Each of the 6 orders: expected 1000, standard deviation about 29.
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});

describe("randUniform", () => {
  it("is reproducible from a seed, differs across seeds, and advances a shared generator", () => {
    expect(Array.from(randUniform([50], { seed: 9 }).data)).toEqual(Array.from(randUniform([50], { seed: 9 }).data));
    const a = randUniform([50], { seed: 9 }).data;
    const b = randUniform([50], { seed: 10 }).data;
    expect(Array.from(a).filter((v, i) => v === b[i]).length).toBe(0);
    const rng = new Rng(9);
    const first = randUniform([50], { rng, dtype: "float64" }).data;
    const second = randUniform([50], { rng, dtype: "float64" }).data;
    expect(Array.from(first)).not.toEqual(Array.from(second));
    // The shared generator continues where the first call stopped.
    const fresh = new Rng(9);
    for (let i = 0; i < 50; i++) fresh.uniform();
    expect(second[0]).toBe(fresh.uniform());
    // Without a seed or generator, seed 0 is used.
    expect(Array.from(randUniform([5]).data)).toEqual(Array.from(randUniform([5], { seed: 0 }).data));
  });

  it("has mean 1/2 and variance 1/12 on [0, 1) for 1e5 samples (within 5 standard errors)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = randUniform([N], { seed: 1, dtype }).data;
      expect(x.every((v) => v >= 0 && v < 1)).toBe(true);
      expect(Math.abs(meanOf(x) - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
      // Var of (U - 1/2)^2 is 1/80 - 1/144 = 1/180.
      expect(Math.abs(varianceOf(x) - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
    }
  });

  it("scales to [low, high) and never returns high, even when float32 rounding would reach it", () => {
    const x = randUniform([1000], { seed: 2, low: -3, high: 5, dtype: "float64" }).data;
    expect(x.every((v) => v >= -3 && v < 5)).toBe(true);
    expect(Math.abs(meanOf(x) - 1)).toBeLessThan(5 * 8 * Math.sqrt(1 / 12 / 1000));
    // Only one float32 lies in [1, 1 + 1e-7): about half of the raw draws would round up to 1 + 2^-23.
    const tight = randUniform([1000], { seed: 3, low: 1, high: 1 + 1e-7 }).data;
    expect(tight.every((v) => v === 1)).toBe(true);
  });

  it("rejects empty, infinite and float32-empty intervals", () => {
    expect(() => randUniform([2], { low: 1, high: 1 })).toThrow("randUniform: [low, high) = [1, 1) must be a non-empty interval of finite numbers");
    expect(() => randUniform([2], { low: 0, high: Infinity })).toThrow(/finite numbers/);
    expect(() => randUniform([2], { low: -1e308, high: 1e308 })).toThrow(/finite numbers/);
    expect(() => randUniform([2], { low: 1 + 1e-8, high: 1 + 2e-8 })).toThrow("randUniform: no float32 value lies in [1.00000001, 1.00000002)");
    expect(randUniform([2], { low: 1 + 1e-8, high: 1 + 2e-8, dtype: "float64" }).size).toBe(2);
    expect(() => randUniform([-1])).toThrow("shape [-1] has a dimension that is not a non-negative integer");
  });
});

describe("randNormal", () => {
  it("has mean 0 and std 1 for 1e5 samples, with the normal's mass within 1 and 2 std", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const x = randNormal([N], { seed: 4, dtype }).data;
      expect(Math.abs(meanOf(x))).toBeLessThan(5 / Math.sqrt(N));
      // Sample variance of a normal has standard error sqrt(2 / N).
      expect(Math.abs(varianceOf(x) - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
      const within = (k: number) => x.filter((v) => Math.abs(v) < k).length / N;
      // P(|Z| < 1) = erf(1/sqrt 2), P(|Z| < 2) = erf(sqrt 2).
      expect(Math.abs(within(1) - 0.6826894921370859)).toBeLessThan(5 * Math.sqrt(0.68 * 0.32 / N));
      expect(Math.abs(within(2) - 0.9544997361036416)).toBeLessThan(5 * Math.sqrt(0.95 * 0.05 / N));
    }
  });

  it("shifts and scales by mean and std, reproducibly", () => {
    const z = randNormal([1000], { seed: 6, dtype: "float64" }).data;
    const x = randNormal([1000], { seed: 6, mean: 3, std: 0.5, dtype: "float64" }).data;
    x.forEach((v, i) => expect(v).toBeCloseTo(3 + 0.5 * z[i]!, 12));
    expect(Array.from(randNormal([4], { seed: 1, std: 0 }).data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(randNormal([7], { seed: 8 }).data)).not.toEqual(Array.from(randNormal([7], { seed: 9 }).data));
    expect(() => randNormal([2], { std: -1 })).toThrow("randNormal: mean 0 and std -1 must be finite, with std >= 0");
  });
});
