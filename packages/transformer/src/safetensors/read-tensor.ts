/**
 * Turning the bytes of one validated header entry into a float tensor, reading from a file or
 * from memory through one small interface.
 *
 * Memory: a tensor stored as the dtype asked for (F32 read as float32, F64 as float64) is read
 * straight into the output array's own buffer, so the output is the only allocation (and from
 * memory it is a view, when aligned). Other dtypes are read in chunks of at most
 * {@link CHUNK_BYTES} into one scratch buffer and converted into the output.
 */
import { Tensor, allocate, sizeOf, type DType, type Storage, InputError, quote } from "@gim/tensor";
import { LITTLE_ENDIAN_HOST, swapByteOrder } from "./byte-order.js";
import { decodeBfloat16Array, decodeFloat16Array, isLoadableDType, itemSize, type SafetensorsDType } from "./dtypes.js";
import { SafetensorsError } from "./error.js";
import type { SafetensorsEntry } from "./header.js";

/** Largest scratch buffer used to convert a tensor. */
export const CHUNK_BYTES = 1 << 22;

/** Where the bytes of a file come from: an open file or an array in memory. */
export interface ByteSource {
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** Fills `target` with the file's bytes from `position` on; `what` names them for errors. */
  readInto(target: Uint8Array, position: number, what: string): void;
  /** The bytes `[position, position + length)` without copying, for sources held in memory. */
  view?(position: number, length: number): Uint8Array;
  /** Releases the source (closes the file). */
  close(): void;
}

/** Options of `read`. */
export interface ReadOptions {
  /** Element type of the returned tensor; `"float32"` unless asked. */
  dtype?: DType;
}

/** Reads the tensor `entry` describes from `source` as a `dtype` tensor. */
export function readTensor(source: ByteSource, entry: SafetensorsEntry, dtype: DType): Tensor {
  if (dtype !== "float32" && dtype !== "float64") {
    throw new InputError(`read(): dtype must be "float32" or "float64", got ${JSON.stringify(dtype)}`);
  }
  if (!isLoadableDType(entry.dtype)) {
    throw new SafetensorsError(entry.file, `tensor ${quote(entry.name)} has dtype ${entry.dtype}, which cannot be loaded as float`);
  }
  const count = sizeOf(entry.shape);
  const size = itemSize(entry.dtype);
  const what = `tensor ${quote(entry.name)}`;

  if ((entry.dtype === "F32" && dtype === "float32") || (entry.dtype === "F64" && dtype === "float64")) {
    const view = LITTLE_ENDIAN_HOST ? source.view?.(entry.byteOffset, entry.byteLength) : undefined;
    if (view && view.byteOffset % size === 0) {
      const data = dtype === "float32" ? new Float32Array(view.buffer, view.byteOffset, count) : new Float64Array(view.buffer, view.byteOffset, count);
      return new Tensor(data, entry.shape);
    }
    const out = allocate(dtype, count);
    const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    source.readInto(outBytes, entry.byteOffset, what);
    if (!LITTLE_ENDIAN_HOST) swapByteOrder(outBytes, size);
    return new Tensor(out, entry.shape);
  }

  const out = allocate(dtype, count);
  const chunkElements = Math.max(1, Math.floor(CHUNK_BYTES / size));
  let scratch: Uint8Array | undefined;
  for (let start = 0; start < count; start += chunkElements) {
    const n = Math.min(chunkElements, count - start);
    const position = entry.byteOffset + start * size;
    let bytes = LITTLE_ENDIAN_HOST ? source.view?.(position, n * size) : undefined;
    if (!bytes || bytes.byteOffset % size !== 0) {
      // Typed arrays need aligned offsets; copy misaligned (or file) bytes into the scratch.
      scratch ??= new Uint8Array(Math.min(chunkElements, count) * size);
      bytes = scratch.subarray(0, n * size);
      source.readInto(bytes, position, what);
      if (!LITTLE_ENDIAN_HOST) swapByteOrder(bytes, size);
    }
    decodeChunk(entry, bytes, n, out, start);
  }
  return new Tensor(out, entry.shape);
}

/** Converts `n` little-endian (host-order) elements of `entry.dtype` in `bytes` into `out[start...]`. */
function decodeChunk(entry: SafetensorsEntry, bytes: Uint8Array, n: number, out: Storage, start: number): void {
  const buffer = bytes.buffer;
  const at = bytes.byteOffset;
  switch (entry.dtype) {
    case "F64":
      out.set(new Float64Array(buffer, at, n), start); // to float32: rounds to nearest
      return;
    case "F32":
      out.set(new Float32Array(buffer, at, n), start); // to float64: exact
      return;
    case "F16":
      decodeFloat16Array(new Uint16Array(buffer, at, n), out, start);
      return;
    case "BF16":
      decodeBfloat16Array(new Uint16Array(buffer, at, n), out, start);
      return;
    case "I8":
      out.set(new Int8Array(buffer, at, n), start);
      return;
    case "U8":
      out.set(new Uint8Array(buffer, at, n), start);
      return;
    case "I16":
      out.set(new Int16Array(buffer, at, n), start);
      return;
    case "U16":
      out.set(new Uint16Array(buffer, at, n), start);
      return;
    case "I32":
      copyExactly(entry, new Int32Array(buffer, at, n), out, start);
      return;
    case "U32":
      copyExactly(entry, new Uint32Array(buffer, at, n), out, start);
      return;
    case "I64":
      copyBigExactly(entry, new BigInt64Array(buffer, at, n), out, start);
      return;
    case "U64":
      copyBigExactly(entry, new BigUint64Array(buffer, at, n), out, start);
      return;
    case "BOOL": {
      const src = new Uint8Array(buffer, at, n);
      for (let i = 0; i < n; i++) {
        if (src[i]! > 1) {
          throw new SafetensorsError(entry.file, `tensor ${quote(entry.name)} holds the byte ${src[i]} at element ${start + i}, which is not a BOOL (0 or 1)`);
        }
      }
      out.set(src, start);
      return;
    }
    default:
      throw new SafetensorsError(entry.file, `tensor ${quote(entry.name)} has dtype ${entry.dtype as SafetensorsDType}, which cannot be loaded as float`);
  }
}

function notExact(entry: SafetensorsEntry, value: bigint | number, index: number, out: Storage): SafetensorsError {
  const single = out instanceof Float32Array;
  const advice = single && Number.isSafeInteger(Number(value)) ? `; read it with { dtype: "float64" }` : "";
  return new SafetensorsError(
    entry.file,
    `tensor ${quote(entry.name)} holds the ${entry.dtype} value ${value} at element ${index}, which ${single ? "float32" : "float64"} cannot represent exactly${advice}`,
  );
}

/** Copies 32-bit integers, refusing values float32 would round (float64 holds them all). */
function copyExactly(entry: SafetensorsEntry, src: Int32Array | Uint32Array, out: Storage, start: number): void {
  if (out instanceof Float32Array) {
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (Math.fround(v) !== v) throw notExact(entry, v, start + i, out);
    }
  }
  out.set(src, start);
}

/** Copies 64-bit integers, refusing values the output type would round. */
function copyBigExactly(entry: SafetensorsEntry, src: BigInt64Array | BigUint64Array, out: Storage, start: number): void {
  const single = out instanceof Float32Array;
  for (let i = 0; i < src.length; i++) {
    const big = src[i]!;
    const v = Number(big); // rounds to the nearest double
    if (BigInt(v) !== big || (single && Math.fround(v) !== v)) throw notExact(entry, big, start + i, out);
    out[start + i] = v;
  }
}
