/**
 * The reader interface shared by single files, in-memory buffers and sharded checkpoints, and
 * {@link parseSafetensors} for bytes already in memory (no Node APIs, so it runs in browsers).
 */
import { quote } from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { memorySource } from "../folder.js";
import { SafetensorsError, describeError } from "./error.js";
import { PREFIX_BYTES, parseHeader, readHeaderLength, type ParsedHeader, type SafetensorsEntry } from "./header.js";
import { readTensor, type ByteSource, type ReadOptions } from "./read-tensor.js";

/**
 * An opened safetensors checkpoint whose header has been validated. Tensors are read one at a
 * time, on demand, so holding a reader costs only the header.
 */
export interface SafetensorsReader {
  /** The file, buffer name or index file the tensors come from (as errors name it). */
  readonly file: string;
  /** The string-to-string `__metadata__` of the file (merged over shards). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor name, in file order. */
  names(): string[];
  /** True when the checkpoint holds a tensor called `name`. */
  has(name: string): boolean;
  /** Where tensor `name` lives and what it is; throws a {@link SafetensorsError} if it is missing. */
  entry(name: string): SafetensorsEntry;
  /**
   * Reads tensor `name` as a new float tensor (float32 unless `options.dtype` says float64).
   * F16 and BF16 are converted exactly; integer and BOOL tensors are converted if every value
   * is exact in the output type, else a {@link SafetensorsError} says which value is not.
   */
  read(name: string, options?: ReadOptions): Tensor;
  /** Releases open files. Reading afterwards throws. Calling it twice is harmless. */
  close(): void;
}

/** A reader over one validated file or buffer. */
export class SafetensorsFile implements SafetensorsReader {
  readonly file: string;
  private readonly header: ParsedHeader;
  private source: ByteSource | undefined;

  /**
   * Wraps a source whose header `header` was validated (use {@link parseSafetensors} or `openSafetensors`).
   * @internal
   */
  constructor(file: string, source: ByteSource, header: ParsedHeader) {
    this.file = file;
    this.source = source;
    this.header = header;
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  /** Bytes of the file's JSON header. */
  get headerLength(): number {
    return this.header.headerLength;
  }

  names(): string[] {
    return this.header.entries.map((e) => e.name);
  }

  has(name: string): boolean {
    return this.header.byName.has(name);
  }

  entry(name: string): SafetensorsEntry {
    const entry = this.header.byName.get(name);
    if (!entry) {
      throw new SafetensorsError(this.file, `no tensor named ${quote(name)} among its ${this.header.entries.length} tensors`);
    }
    return entry;
  }

  read(name: string, options: ReadOptions = {}): Tensor {
    const entry = this.entry(name);
    if (!this.source) throw new SafetensorsError(this.file, `is closed; cannot read tensor ${quote(name)}`);
    return readTensor(this.source, entry, options.dtype ?? "float32");
  }

  close(): void {
    this.source?.close();
    this.source = undefined;
  }
}

/**
 * Validates the safetensors header of `source` (the 8-byte length, then the JSON header) and
 * returns a reader over it; `file` names it in errors. On failure `source` is closed.
 */
export function openSource(file: string, source: ByteSource): SafetensorsFile {
  try {
    const prefix = new Uint8Array(Math.min(PREFIX_BYTES, source.size));
    source.readInto(prefix, 0, "the header length");
    const headerLength = readHeaderLength(file, prefix, source.size);
    const dataStart = PREFIX_BYTES + headerLength;
    const headerBytes = source.view?.(PREFIX_BYTES, headerLength) ?? new Uint8Array(headerLength);
    if (!source.view) source.readInto(headerBytes, PREFIX_BYTES, "the header");
    const header = parseHeader(file, headerBytes, dataStart, source.size - dataStart);
    return new SafetensorsFile(file, source, header);
  } catch (error) {
    source.close();
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(file, `cannot read: ${describeError(error)}`);
  }
}

/**
 * Validates the safetensors file held in `bytes` and returns a reader over it. `fileName`
 * names the buffer in error messages.
 *
 * F32 tensors read as float32 (and F64 as float64) are views of `bytes` when their offset is
 * aligned, not copies: they change if `bytes` is changed.
 */
export function parseSafetensors(bytes: Uint8Array, fileName = "<memory>"): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new SafetensorsError(fileName, "parseSafetensors() needs a Uint8Array");
  }
  return openSource(fileName, memorySource(bytes));
}
