/**
 * Safetensors element types, and exact conversions between IEEE half precision (F16),
 * bfloat16 (BF16) and JavaScript numbers.
 */

/**
 * The dtype names a safetensors header may use. F64, F32, F16, BF16 and the integer and
 * boolean types load as float tensors; the 8-, 6- and 4-bit floats and complex numbers are
 * recognised (so a file holding them still opens) but cannot be loaded.
 */
export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL"
  | "F8_E4M3"
  | "F8_E5M2"
  | "F8_E8M0"
  | "F6_E2M3"
  | "F6_E3M2"
  | "F4"
  | "C64";

/** Bits per element of every known dtype (sub-byte types pack several elements per byte). */
export const DTYPE_BITS: Readonly<Record<SafetensorsDType, number>> = Object.freeze({
  F64: 64,
  F32: 32,
  F16: 16,
  BF16: 16,
  I64: 64,
  I32: 32,
  I16: 16,
  I8: 8,
  U64: 64,
  U32: 32,
  U16: 16,
  U8: 8,
  BOOL: 8,
  F8_E4M3: 8,
  F8_E5M2: 8,
  F8_E8M0: 8,
  F6_E2M3: 6,
  F6_E3M2: 6,
  F4: 4,
  C64: 64,
});

/** The dtypes the reader can turn into float tensors. */
export const LOADABLE_DTYPES: readonly SafetensorsDType[] = Object.freeze([
  "F64",
  "F32",
  "F16",
  "BF16",
  "I64",
  "I32",
  "I16",
  "I8",
  "U64",
  "U32",
  "U16",
  "U8",
  "BOOL",
] as SafetensorsDType[]);

/** True when `name` is a dtype this module knows. */
export function isSafetensorsDType(name: string): name is SafetensorsDType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, name);
}

/** True when tensors of this dtype can be read as float32/float64. */
export function isLoadableDType(dtype: SafetensorsDType): boolean {
  return LOADABLE_DTYPES.includes(dtype);
}

/** Bytes per element of a loadable (whole-byte) dtype. */
export function itemSize(dtype: SafetensorsDType): number {
  return DTYPE_BITS[dtype] / 8;
}

// ---------------------------------------------------------------------------------------------
// Half-precision formats. Both are 16 bits: a sign bit, `exponentBits` and `mantissaBits`.
// F16 (IEEE binary16): 5 exponent bits, 10 mantissa bits, bias 15.
// BF16: 8 exponent bits, 7 mantissa bits, bias 127 (the top half of a float32).

interface HalfFormat {
  readonly mantissaBits: number;
  readonly bias: number;
}

const F16_FORMAT: HalfFormat = { mantissaBits: 10, bias: 15 };
const BF16_FORMAT: HalfFormat = { mantissaBits: 7, bias: 127 };

/** Rounds a non-negative finite number to the nearest integer, ties to even. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor; // exact: x < 2^53 here
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The bits of the half-format value nearest to `x` (round to nearest, ties to even), rounding
 * once from the exact value of `x` (so float64 inputs are not rounded twice). Values at or past
 * the rounding threshold of the largest finite value become infinity; NaN becomes a quiet NaN
 * with the sign of `x`.
 */
function encodeHalf(x: number, format: HalfFormat): number {
  const { mantissaBits, bias } = format;
  const signBit = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const exponentMask = 0x7fff & ~((1 << mantissaBits) - 1);
  if (Number.isNaN(x)) return signBit | exponentMask | (1 << (mantissaBits - 1));
  const a = Math.abs(x);
  const minNormalExponent = 1 - bias;
  if (a < 2 ** minNormalExponent) {
    // Subnormal: a multiple of 2^(minNormalExponent - mantissaBits). A result of
    // 2^mantissaBits is the smallest normal number, whose bits are exactly that integer.
    return signBit | roundHalfEven(a / 2 ** (minNormalExponent - mantissaBits));
  }
  if (a >= 2 ** (bias + 1)) return signBit | exponentMask; // infinity, or past every finite value
  let exponent = Math.floor(Math.log2(a));
  // Math.log2 may be off by one next to powers of two; fix it exactly.
  if (2 ** exponent > a) exponent--;
  else if (2 ** (exponent + 1) <= a) exponent++;
  let significand = roundHalfEven(a / 2 ** (exponent - mantissaBits)); // in [2^m, 2^(m+1)]
  if (significand === 2 ** (mantissaBits + 1)) {
    significand /= 2;
    exponent++;
  }
  if (exponent > bias) return signBit | exponentMask; // rounded up past the largest finite value
  return signBit | ((exponent + bias) << mantissaBits) | (significand - 2 ** mantissaBits);
}

/** The value of half-format bits. */
function decodeHalf(bits: number, format: HalfFormat): number {
  const { mantissaBits, bias } = format;
  const sign = bits & 0x8000 ? -1 : 1;
  const exponentField = (bits & 0x7fff) >> mantissaBits;
  const mantissa = bits & ((1 << mantissaBits) - 1);
  const maxExponentField = (1 << (15 - mantissaBits)) - 1;
  if (exponentField === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  if (exponentField === maxExponentField) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (2 ** mantissaBits + mantissa) * 2 ** (exponentField - bias - mantissaBits);
}

/** IEEE half-precision bits of the F16 value nearest to `x` (ties to even). */
export function float16Bits(x: number): number {
  return encodeHalf(x, F16_FORMAT);
}

/** The value of IEEE half-precision bits (subnormals, infinities and NaN included). */
export function float16Value(bits: number): number {
  return decodeHalf(bits, F16_FORMAT);
}

/** bfloat16 bits of the BF16 value nearest to `x` (ties to even). */
export function bfloat16Bits(x: number): number {
  return encodeHalf(x, BF16_FORMAT);
}

/** The value of bfloat16 bits. */
export function bfloat16Value(bits: number): number {
  return decodeHalf(bits, BF16_FORMAT);
}

// Every F16 value as a float32 (exact: float32 holds every F16 value), built on first use.
let float16Table: Float32Array | undefined;

function getFloat16Table(): Float32Array {
  if (!float16Table) {
    float16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) float16Table[bits] = float16Value(bits);
  }
  return float16Table;
}

/** Writes the values of F16 bits `src` into `out` from element `outOffset` on. */
export function decodeFloat16Array(src: Uint16Array, out: Float32Array | Float64Array, outOffset: number): void {
  const table = getFloat16Table();
  for (let i = 0; i < src.length; i++) out[outOffset + i] = table[src[i]!]!;
}

/** Writes the values of BF16 bits `src` into `out` from element `outOffset` on. */
export function decodeBfloat16Array(src: Uint16Array, out: Float32Array | Float64Array, outOffset: number): void {
  if (out instanceof Float32Array) {
    // A BF16 value is the top half of a float32: shift the bits into place. Same-size typed
    // arrays over one buffer agree on the bits whatever the host's byte order.
    const outBits = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, src.length);
    for (let i = 0; i < src.length; i++) outBits[i] = src[i]! << 16;
    return;
  }
  const scratch = new Float32Array(src.length);
  decodeBfloat16Array(src, scratch, 0);
  out.set(scratch, outOffset);
}

/** Writes the F16 bits of `count` values of `src` from `start` on into `out`. */
export function encodeFloat16Array(src: ArrayLike<number>, start: number, count: number, out: Uint16Array): void {
  for (let i = 0; i < count; i++) out[i] = float16Bits(src[start + i]!);
}

/** Writes the BF16 bits of `count` values of `src` from `start` on into `out`. */
export function encodeBfloat16Array(src: ArrayLike<number>, start: number, count: number, out: Uint16Array): void {
  for (let i = 0; i < count; i++) out[i] = bfloat16Bits(src[start + i]!);
}
