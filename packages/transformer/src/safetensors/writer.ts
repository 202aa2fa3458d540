/**
 * Serializing tensors to safetensors bytes ({@link serializeSafetensors}), and the layout shared
 * with `writeSafetensors` (write-file.ts), which writes tensor by tensor without holding the file.
 *
 * Layout as the reference implementation writes it: tensors ordered by element size (largest
 * first, so with the 8-byte aligned data section every tensor is aligned to its element size),
 * then by name; the header JSON padded with spaces to a multiple of 8 bytes.
 */
import { sizeOf, Tensor, type Storage } from "@gim/tensor";
import { LITTLE_ENDIAN_HOST, swapByteOrder } from "./byte-order.js";
import { encodeBfloat16Array, encodeFloat16Array, itemSize } from "./dtypes.js";
import { SafetensorsError } from "./error.js";
import { PREFIX_BYTES } from "./header.js";
import { CHUNK_BYTES } from "./read-tensor.js";

/** The dtypes the writer can store float data as. */
export type SafetensorsWriteDType = "F64" | "F32" | "F16" | "BF16";

/** Flat row-major values with a shape, stored as `dtype` (converted, rounding to nearest even). */
export interface RawTensorData {
  /** How to store the values. */
  dtype: SafetensorsWriteDType;
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** `product(shape)` values in row-major order. */
  data: Float32Array | Float64Array;
}

/** Tensors to write, by name. */
export type TensorsToWrite = Readonly<Record<string, Tensor | RawTensorData>> | ReadonlyMap<string, Tensor | RawTensorData>;

/** Options of {@link serializeSafetensors} and `writeSafetensors`. */
export interface WriteOptions {
  /** Written as the header's `__metadata__` (strings only). */
  metadata?: Readonly<Record<string, string>>;
  /**
   * Storage dtype for every `Tensor` given (raw entries carry their own). Default: F32 for
   * float32 tensors and F64 for float64 tensors, so nothing is rounded unless asked.
   */
  dtype?: SafetensorsWriteDType;
}

const WRITE_DTYPES: readonly string[] = ["F64", "F32", "F16", "BF16"];

/** One tensor laid out in the data section. */
export interface PlannedTensor {
  name: string;
  dtype: SafetensorsWriteDType;
  shape: readonly number[];
  /** The flat values (a copy is made only here, for non-contiguous tensors). */
  values: () => Storage;
  begin: number;
  end: number;
}

/** A file laid out: its head (length prefix and header) and where each tensor goes. */
export interface Plan {
  /** 8-byte length prefix followed by the padded header. */
  head: Uint8Array;
  items: PlannedTensor[];
  dataLength: number;
}

function flatValues(t: Tensor): Storage {
  // A contiguous tensor covering its whole storage is written from the storage itself.
  if (t.isContiguous() && t.offset === 0 && t.data.length === t.size) return t.data;
  return t.toFlat();
}

/** Validates the input and lays the file out (header text and byte ranges); `file` names it in errors. */
export function planFile(file: string, tensors: TensorsToWrite, options: WriteOptions): Plan {
  if (options.dtype !== undefined && !WRITE_DTYPES.includes(options.dtype)) {
    throw new SafetensorsError(file, `cannot write dtype ${JSON.stringify(options.dtype)}; use one of ${WRITE_DTYPES.join(", ")}`);
  }
  const pairs = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items: PlannedTensor[] = [];
  for (const [name, value] of pairs as [string, Tensor | RawTensorData][]) {
    const tensor = `tensor ${JSON.stringify(name)}`;
    if (name === "__metadata__") throw new SafetensorsError(file, `cannot write a tensor named "__metadata__" (the key is reserved)`);
    if (value instanceof Tensor) {
      const dtype = options.dtype ?? (value.dtype === "float64" ? "F64" : "F32");
      items.push({ name, dtype, shape: value.shape, values: () => flatValues(value), begin: 0, end: 0 });
      continue;
    }
    if (typeof value !== "object" || value === null || !("data" in value)) {
      throw new SafetensorsError(file, `${tensor} is not a Tensor or { dtype, shape, data }`);
    }
    const { dtype, shape, data } = value;
    if (!WRITE_DTYPES.includes(dtype)) {
      throw new SafetensorsError(file, `${tensor} has dtype ${JSON.stringify(dtype)}; the writer stores ${WRITE_DTYPES.join(", ")}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `${tensor} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
    }
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new SafetensorsError(file, `${tensor} has data that is not a Float32Array or Float64Array`);
    }
    const count = sizeOf(shape);
    if (count !== data.length) {
      throw new SafetensorsError(file, `${tensor} has shape [${shape.join(", ")}] (${count} elements) but ${data.length} values`);
    }
    items.push({ name, dtype, shape: [...shape], values: () => data, begin: 0, end: 0 });
  }

  // Largest element first keeps every tensor aligned; then by name for a stable order.
  items.sort((a, b) => itemSize(b.dtype) - itemSize(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let position = 0;
  for (const item of items) {
    const count = sizeOf(item.shape);
    item.begin = position;
    position += count * itemSize(item.dtype);
    item.end = position;
  }

  const parts: string[] = [];
  if (options.metadata !== undefined) {
    const metadata = options.metadata;
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      throw new SafetensorsError(file, "metadata must be an object mapping strings to strings");
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new SafetensorsError(file, `metadata key ${JSON.stringify(key)} holds ${typeof value}, but metadata values must be strings`);
      }
    }
    // Built as text: assigning a "__proto__" key to an object would not make a property.
    const fields = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${fields.join(",")}}`);
  }
  for (const item of items) {
    parts.push(
      `${JSON.stringify(item.name)}:{"dtype":"${item.dtype}","shape":[${item.shape.join(",")}],"data_offsets":[${item.begin},${item.end}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(PREFIX_BYTES + headerLength).fill(0x20); // pad with spaces
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, PREFIX_BYTES);
  return { head, items, dataLength: position };
}

/** Calls `emit` with the little-endian bytes of `item`, chunk by chunk. */
export function encodeTensor(item: PlannedTensor, emit: (bytes: Uint8Array) => void): void {
  const values = item.values();
  const size = itemSize(item.dtype);
  const chunkElements = Math.floor(CHUNK_BYTES / size);
  for (let start = 0; start < values.length; start += chunkElements) {
    const n = Math.min(chunkElements, values.length - start);
    let bytes: Uint8Array;
    if (item.dtype === "F32" || item.dtype === "F64") {
      const Target = item.dtype === "F32" ? Float32Array : Float64Array;
      if (values instanceof Target && LITTLE_ENDIAN_HOST) {
        emit(new Uint8Array(values.buffer, values.byteOffset + start * size, n * size)); // no copy
        continue;
      }
      const chunk = new Target(n);
      chunk.set(values.subarray(start, start + n)); // float64 -> float32 rounds to nearest even
      bytes = new Uint8Array(chunk.buffer);
    } else {
      const chunk = new Uint16Array(n);
      if (item.dtype === "F16") encodeFloat16Array(values, start, n, chunk);
      else encodeBfloat16Array(values, start, n, chunk);
      bytes = new Uint8Array(chunk.buffer);
    }
    if (!LITTLE_ENDIAN_HOST) swapByteOrder(bytes, size);
    emit(bytes);
  }
}

/**
 * The bytes of a safetensors file holding `tensors`.
 *
 * ```ts
 * const bytes = serializeSafetensors({ "wte.weight": wte }, { dtype: "BF16" });
 * ```
 */
export function serializeSafetensors(tensors: TensorsToWrite, options: WriteOptions = {}): Uint8Array {
  const plan = planFile("<memory>", tensors, options);
  const out = new Uint8Array(plan.head.length + plan.dataLength);
  out.set(plan.head, 0);
  let position = plan.head.length;
  for (const item of plan.items) {
    encodeTensor(item, (bytes) => {
      out.set(bytes, position);
      position += bytes.length;
    });
  }
  return out;
}
