/**
 * Seeded random numbers, so that tests, initialisation and training are reproducible.
 * The generator is xoshiro128** (Blackman and Vigna), seeded through splitmix32.
 */
import { allocate } from "./dtype.js";
import { checkShape, sizeOf, type Shape } from "./shape.js";
import { Tensor, type FactoryOptions } from "./tensor.js";
import { InputError } from "./errors.js";

/**
 * A seeded pseudo-random generator (xoshiro128**, 32-bit state words, period 2^128 - 1).
 * The same seed gives the same sequence on every platform. Seeds are taken modulo 2^32.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** A generator whose state is derived from `seed` (an integer; taken modulo 2^32). */
  constructor(seed = 0) {
    let z = seed >>> 0;
    const splitmix = (): number => {
      z = (z + 0x9e3779b9) | 0;
      let t = z ^ (z >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal sample (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new InputError(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Where random values come from: a generator to draw from (and advance), or a seed for a
 * fresh one. With neither, seed 0 is used, so two calls without options return the same
 * values: pass one shared `rng` to draw different tensors (for example weight matrices).
 */
export interface RandomOptions extends FactoryOptions {
  /** Generator to draw from; it advances, so successive calls give new values. */
  rng?: Rng;
  /** Seed of a fresh generator (ignored when `rng` is given; default 0). */
  seed?: number;
}

function generator(options: RandomOptions): Rng {
  return options.rng ?? new Rng(options.seed ?? 0);
}

/**
 * Uniform values in `[low, high)` (default `[0, 1)`). Values are drawn in float64 and rounded
 * to the dtype; a float32 value that rounds up to `high` is drawn again, so `high` never appears.
 */
export function randUniform(shape: Shape, options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape(shape);
  const { low = 0, high = 1 } = options;
  if (!Number.isFinite(high - low) || !(low < high)) {
    throw new InputError(`randUniform: [low, high) = [${low}, ${high}) must be a non-empty interval of finite numbers`);
  }
  const dtype = options.dtype ?? "float32";
  // The redraw loop below needs at least one float32 in [low, high) to ever finish.
  if (dtype === "float32" && !(smallestFloat32AtLeast(low) < high)) {
    throw new InputError(`randUniform: no float32 value lies in [${low}, ${high})`);
  }
  const rng = generator(options);
  const data = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) {
    do data[i] = low + (high - low) * rng.uniform();
    while (data[i]! >= high || data[i]! < low);
  }
  return new Tensor(data, shape);
}

// The smallest float32 that is >= x (x finite).
function smallestFloat32AtLeast(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  // f is the float32 just below x: step its bit pattern one unit towards +Infinity.
  const bits = new DataView(new ArrayBuffer(4));
  bits.setFloat32(0, f);
  if (f === 0) return 1.401298464324817e-45; // 0 < x < least positive float32: that float32
  bits.setInt32(0, bits.getInt32(0) + (f > 0 ? 1 : -1));
  return bits.getFloat32(0);
}

/** Normal values with the given mean (default 0) and standard deviation (default 1). */
export function randNormal(shape: Shape, options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape(shape);
  const { mean = 0, std = 1 } = options;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
    throw new InputError(`randNormal: mean ${mean} and std ${std} must be finite, with std >= 0`);
  }
  const rng = generator(options);
  const data = allocate(options.dtype ?? "float32", sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return new Tensor(data, shape);
}
