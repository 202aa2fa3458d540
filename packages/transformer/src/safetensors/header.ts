/**
 * Parsing and validating a safetensors header.
 *
 * Layout of a file: an 8-byte little-endian unsigned header length `N`, `N` bytes of UTF-8
 * JSON (padded with trailing spaces by writers), then the data section. The JSON maps each
 * tensor name to `{ dtype, shape, data_offsets: [begin, end] }`, with offsets counted from the
 * start of the data section; the optional key `__metadata__` maps strings to strings.
 *
 * The whole header is checked before any tensor is read, as the reference implementation
 * does: every dtype known, every shape a list of non-negative integers, every byte range inside
 * the data section and as long as its shape and dtype need, and the ranges tiling the data
 * section exactly (sorted by offset, each begins where the previous ends, the last ends where
 * the file ends). A file that passes cannot make a read go out of bounds or two tensors share
 * bytes.
 */
import { quote } from "@gim/tensor";
import { SafetensorsError, describeError } from "./error.js";
import { parseJsonText } from "../json-text.js";
import { DTYPE_BITS, isSafetensorsDType, type SafetensorsDType } from "./dtypes.js";

/** Bytes of the little-endian header-length prefix. */
export const PREFIX_BYTES = 8;

/**
 * The largest header accepted, so a bad length cannot make us allocate gigabytes: 16 MB, about
 * 130,000 tensors (real files describe at most a few thousand). Parsing a header this size
 * takes about 2 s and 250 MB. The reference implementation allows 100 MB, which would cost
 * about 10 times that.
 */
export const MAX_HEADER_BYTES = 16_000_000;

/** Where one tensor lives in a file, as the header describes it. */
export interface SafetensorsEntry {
  /** The tensor's name (the header key). */
  readonly name: string;
  /** The stored element type. */
  readonly dtype: SafetensorsDType;
  /** Dimensions, outermost first (row-major); `[]` for a scalar. */
  readonly shape: readonly number[];
  /** `[begin, end)` in bytes, relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute position of the first byte in the file (8 + header length + begin). */
  readonly byteOffset: number;
  /** Bytes the tensor occupies (end - begin). */
  readonly byteLength: number;
  /** The file that holds the tensor (the shard, for sharded checkpoints). */
  readonly file: string;
}

/** A validated header. */
export interface ParsedHeader {
  /** Entries sorted by position in the file. */
  readonly entries: readonly SafetensorsEntry[];
  /** Entries by name. */
  readonly byName: ReadonlyMap<string, SafetensorsEntry>;
  /** The `__metadata__` object (empty if absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Bytes of the JSON header. */
  readonly headerLength: number;
}

/** "an array", "null", "a number", ... for error messages about JSON values. */
export function kindOf(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** True for a JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads and checks the header length from the first 8 bytes of a file of `fileSize` bytes.
 * Returns the length; throws a {@link SafetensorsError} naming `file` if the file is too short,
 * the header does not fit in the file, or the header is over the size limit.
 */
export function readHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < PREFIX_BYTES || prefix.length < PREFIX_BYTES) {
    throw new SafetensorsError(
      file,
      `file is only ${fileSize} bytes, too short for the 8-byte header length (truncated or empty file)`,
    );
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES).getBigUint64(0, true);
  if (length > BigInt(fileSize - PREFIX_BYTES)) {
    throw new SafetensorsError(
      file,
      `header length ${length} exceeds the file size ${fileSize} (8 + ${length} > ${fileSize}; truncated or not a safetensors file)`,
    );
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `header length ${length} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  return Number(length);
}

/**
 * Parses and validates the JSON header of `file`, whose data section is `dataLength` bytes and
 * begins at byte `dataStart` of the file.
 */
export function parseHeader(file: string, headerBytes: Uint8Array, dataStart: number, dataLength: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, "header is not valid UTF-8");
  }
  const json = parseJsonText(
    text,
    (problem) => {
      throw new SafetensorsError(file, problem);
    },
    (error) => {
      throw new SafetensorsError(file, `header is not valid JSON (${describeError(error)})`);
    },
    "the header",
  );
  if (!isPlainObject(json)) {
    throw new SafetensorsError(file, `header is ${kindOf(json)}, not a JSON object`);
  }

  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(file, value);
      continue;
    }
    entries.push(parseEntry(file, name, value, dataStart, dataLength));
  }

  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  checkTiling(file, entries, dataLength);

  const byName = new Map<string, SafetensorsEntry>();
  for (const entry of entries) byName.set(entry.name, entry);
  return { entries, byName, metadata: Object.freeze(metadata), headerLength: headerBytes.length };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(file, `__metadata__ is ${kindOf(value)}, not an object of strings`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new SafetensorsError(
        file,
        `__metadata__ must map strings to strings, but key ${quote(key)} holds ${kindOf(item)}`,
      );
    }
  }
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(file: string, name: string, value: unknown, dataStart: number, dataLength: number): SafetensorsEntry {
  const tensor = `tensor ${quote(name)}`;
  if (!isPlainObject(value)) {
    throw new SafetensorsError(file, `${tensor} is described by ${kindOf(value)}, not an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  for (const [field, fieldValue] of [["dtype", dtype], ["shape", shape], ["data_offsets", offsets]] as const) {
    if (fieldValue === undefined) throw new SafetensorsError(file, `${tensor} has no ${field}`);
  }
  if (typeof dtype !== "string") {
    throw new SafetensorsError(file, `${tensor} has dtype ${quote(dtype)}, not a string`);
  }
  if (!isSafetensorsDType(dtype)) {
    throw new SafetensorsError(file, `${tensor} has unknown dtype ${quote(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(file, `${tensor} has shape ${quote(shape)}, not a list of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new SafetensorsError(file, `${tensor} has data_offsets ${quote(offsets)}, not two non-negative integers [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new SafetensorsError(file, `${tensor} has data_offsets [${begin}, ${end}] that end before they begin`);
  }
  if (end > dataLength) {
    throw new SafetensorsError(
      file,
      `${tensor} has data_offsets [${begin}, ${end}] outside the data section of ${dataLength} bytes (truncated file?)`,
    );
  }
  // BigInt: a forged shape can overflow doubles long before it is caught by the size check.
  let elements = 1n;
  for (const d of shape as number[]) elements *= BigInt(d);
  const neededBits = elements * BigInt(DTYPE_BITS[dtype]);
  if (neededBits !== BigInt(end - begin) * 8n) {
    const needed = neededBits % 8n === 0n ? `${neededBits / 8n} bytes` : `${neededBits} bits`;
    throw new SafetensorsError(
      file,
      `${tensor} of dtype ${dtype} and shape [${(shape as number[]).join(", ")}] needs ${needed}, but data_offsets [${begin}, ${end}] hold ${end - begin} bytes`,
    );
  }
  return Object.freeze({
    name,
    dtype,
    shape: Object.freeze([...(shape as number[])]),
    dataOffsets: Object.freeze([begin, end] as [number, number]),
    byteOffset: dataStart + begin,
    byteLength: end - begin,
    file,
  });
}

/** Checks that the sorted byte ranges tile `[0, dataLength)`: no overlap, no gap, nothing left over. */
function checkTiling(file: string, sorted: readonly SafetensorsEntry[], dataLength: number): void {
  let position = 0;
  let previous: SafetensorsEntry | undefined;
  for (const entry of sorted) {
    const [begin, end] = entry.dataOffsets;
    if (begin < position && previous) {
      throw new SafetensorsError(
        file,
        `tensors ${quote(previous.name)} [${previous.dataOffsets.join(", ")}] and ${quote(entry.name)} [${begin}, ${end}] overlap`,
      );
    }
    if (begin > position) {
      const where = previous
        ? `between tensor ${quote(previous.name)} (ending at ${position}) and tensor ${quote(entry.name)} (beginning at ${begin})`
        : `before the first tensor ${quote(entry.name)} (beginning at ${begin})`;
      throw new SafetensorsError(file, `the data section has ${begin - position} unused bytes ${where}`);
    }
    position = end;
    previous = entry;
  }
  if (position !== dataLength) {
    throw new SafetensorsError(
      file,
      `the data section holds ${dataLength} bytes but the tensors cover only ${position} (${dataLength - position} bytes after the last tensor)`,
    );
  }
}
