// Fuzzing the safetensors reader: valid files made by the writer are mutated (truncated, bytes
// flipped in the header, the length prefix changed, data_offsets shuffled or perturbed, header
// fields replaced, random bytes). Every outcome must be either a reader whose byte ranges are
// consistent and whose tensors read to the right shapes, or a one-line SafetensorsError naming
// the file, within a time bound per file and a bound on memory growth (./hostile/bounds.ts).
// Any other error type is a crash inside the reader.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { tensor } from "@gim/tensor";
import {
  DTYPE_BITS,
  SafetensorsError,
  parseSafetensors,
  serializeSafetensors,
  type RawTensorData,
  type SafetensorsReader,
} from "../src/safetensors/index.js";
import { openSafetensors } from "../src/node/index.js";
import { acceptOrRefuse, runs, withinMemory } from "./hostile/bounds.js";

const FILE = "fuzz.safetensors";

// --- valid files -------------------------------------------------------------------------------

const dims = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
const rawTensor: fc.Arbitrary<RawTensorData> = fc
  .record({ dtype: fc.constantFrom("F32", "F64", "F16", "BF16" as const), shape: dims, seed: fc.integer() })
  .map(({ dtype, shape, seed }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, (_, i) => Math.sin(seed + i) * 10);
    return { dtype, shape, data };
  });
const tensorName = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor", "0", "h.0.attn.weight", "é\u0000\n"));
const validFile = fc
  .record({
    tensors: fc.dictionary(tensorName.filter((n) => n !== "__metadata__"), rawTensor, { maxKeys: 5 }),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }), { nil: undefined }),
  })
  .map(({ tensors, metadata }) => serializeSafetensors(tensors, metadata ? { metadata } : {}));

// --- mutations ---------------------------------------------------------------------------------

function headerLengthOf(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

/** Rebuilds a file from a header object (or text) and the data of `original`. */
function withHeader(original: Uint8Array, header: unknown, pad = true): Uint8Array {
  const n = headerLengthOf(original);
  const data = original.subarray(8 + n);
  let json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  if (pad && json.length % 8) {
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): Record<string, { dtype: unknown; shape: unknown; data_offsets: unknown }> {
  const n = headerLengthOf(bytes);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

type Mutation = (file: Uint8Array) => Uint8Array;

const truncate: fc.Arbitrary<Mutation> = fc.double({ min: 0, max: 1, noNaN: true }).map((f) => (file) => file.slice(0, Math.floor(file.length * f)));

const flipHeaderBytes: fc.Arbitrary<Mutation> = fc
  .array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 })
  .map((flips) => (file) => {
    const out = file.slice();
    const end = Math.min(out.length, 8 + headerLengthOf(file));
    for (const { at, value } of flips) out[Math.min(end - 1, Math.floor(at * end))] = value;
    return out;
  });

const changeLength: fc.Arbitrary<Mutation> = fc
  .oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: -16, max: 16 }).map((d) => BigInt(d)))
  .map((change) => (file) => {
    const out = file.slice();
    const view = new DataView(out.buffer);
    const current = view.getBigUint64(0, true);
    const next = change > 16n ? change : current + change;
    view.setBigUint64(0, BigInt.asUintN(64, next), true);
    return out;
  });

const shuffleOffsets: fc.Arbitrary<Mutation> = fc
  .record({ seed: fc.integer(), deltas: fc.array(fc.integer({ min: -9, max: 9 }), { maxLength: 4 }), pad: fc.boolean() })
  .map(({ seed, deltas, pad }) => (file) => {
    const header = headerOf(file);
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    const offsets = names.map((n) => header[n]!.data_offsets as number[]);
    // Rotate the offsets among entries by a seeded amount, then perturb a few numbers.
    const shift = names.length ? Math.abs(seed) % names.length : 0;
    names.forEach((n, i) => {
      header[n]!.data_offsets = [...offsets[(i + shift) % names.length]!];
    });
    deltas.forEach((d, i) => {
      if (!names.length) return;
      const entry = header[names[i % names.length]!]!.data_offsets as number[];
      entry[i % 2] = entry[i % 2]! + d;
    });
    return withHeader(file, header, pad);
  });

const replaceField: fc.Arbitrary<Mutation> = fc
  .record({
    index: fc.nat(),
    field: fc.constantFrom("dtype", "shape", "data_offsets", "__metadata__"),
    value: fc.oneof(
      fc.constantFrom("F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E5M2", "F4", "Q4", "f32"),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  })
  .map(({ index, field, value }) => (file) => {
    const header = headerOf(file) as Record<string, Record<string, unknown>>;
    if (field === "__metadata__") {
      (header as Record<string, unknown>)["__metadata__"] = value;
      return withHeader(file, header);
    }
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    if (!names.length) return withHeader(file, { ...header, x: { [field]: value } });
    header[names[index % names.length]!]![field] = value;
    return withHeader(file, header);
  });

const randomHeaderText: fc.Arbitrary<Mutation> = fc
  .oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)))
  .map((text) => (file) => withHeader(file, text, false));

const randomBytes: fc.Arbitrary<Mutation> = fc
  .record({ bytes: fc.uint8Array({ maxLength: 64 }), keepPrefix: fc.boolean() })
  .map(({ bytes, keepPrefix }) => () => {
    if (!keepPrefix) return bytes;
    // A plausible length prefix in front of random bytes.
    const out = new Uint8Array(8 + bytes.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(Math.floor(bytes.length / 2)), true);
    out.set(bytes, 8);
    return out;
  });

const appendBytes: fc.Arbitrary<Mutation> = fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => (file) => {
  const out = new Uint8Array(file.length + extra.length);
  out.set(file);
  out.set(extra, file.length);
  return out;
});

const mutation = fc.oneof(truncate, flipHeaderBytes, changeLength, shuffleOffsets, replaceField, randomHeaderText, randomBytes, appendBytes);

// --- the property ------------------------------------------------------------------------------

/** What a reader yields: its tensors (shape and values) or the error, for comparing readers. */
type Outcome = { error: string } | { tensors: [string, number[], number[] | string][] };

function checkError(error: unknown, file: string): { error: string } {
  if (!(error instanceof SafetensorsError)) throw new Error(`not a SafetensorsError: ${String(error)}`, { cause: error });
  expect(error.message.startsWith(`${file}: `)).toBe(true);
  expect(error.message).not.toMatch(/[\r\n]/);
  return { error: error.problem };
}

/** Checks a reader that opened: consistent byte ranges, and every tensor reads or fails cleanly. */
function checkReader(reader: SafetensorsReader, fileLength: number, file: string): Outcome {
  const entries = reader.names().map((n) => reader.entry(n));
  let previousEnd = -1;
  for (const e of entries) {
    expect(e.byteOffset).toBeGreaterThanOrEqual(8);
    expect(e.byteOffset + e.byteLength).toBeLessThanOrEqual(fileLength);
    expect(e.byteOffset).toBeGreaterThanOrEqual(previousEnd); // in file order, no overlap
    previousEnd = e.byteOffset + e.byteLength;
    const elements = e.shape.reduce((a, b) => a * b, 1);
    expect(elements * DTYPE_BITS[e.dtype]).toBe(e.byteLength * 8);
    expect(e.dataOffsets[1] - e.dataOffsets[0]).toBe(e.byteLength);
  }
  if (entries.length) expect(previousEnd).toBe(fileLength);
  const tensors: [string, number[], number[] | string][] = [];
  for (const e of entries) {
    try {
      const t = reader.read(e.name);
      expect(t.shape).toEqual(e.shape);
      expect(t.data.length).toBe(t.size);
      tensors.push([e.name, [...t.shape], Array.from(t.data, (v) => (Number.isNaN(v) ? 0.5 : v))]);
    } catch (error) {
      tensors.push([e.name, [...e.shape], checkError(error, file).error]);
    }
  }
  return { tensors };
}

function outcomeOfBytes(bytes: Uint8Array): Outcome {
  let reader: SafetensorsReader;
  try {
    reader = parseSafetensors(bytes, FILE);
  } catch (error) {
    return checkError(error, FILE);
  }
  return checkReader(reader, bytes.length, FILE);
}

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-safetensors-fuzz-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("safetensors reader under fuzzing", () => {
  it("reads every unmutated file back", () => {
    fc.assert(
      fc.property(validFile, (bytes) => {
        const outcome = outcomeOfBytes(bytes);
        expect("tensors" in outcome).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("either parses mutated files consistently or throws SafetensorsError, in bounded time and memory", () => {
    withinMemory(() =>
      fc.assert(
        fc.property(validFile, mutation, (bytes, mutate) => {
          const mutated = mutate(bytes);
          acceptOrRefuse(() => void outcomeOfBytes(mutated), FILE);
        }),
        runs(3000),
      ),
    );
  });

  it("gives the same result from a file on disk as from memory", () => {
    const file = path.join(tmp, "fuzz.safetensors");
    fc.assert(
      fc.property(validFile, mutation, (bytes, mutate) => {
        const mutated = mutate(bytes);
        fs.writeFileSync(file, mutated);
        let fromFile: Outcome;
        let reader: SafetensorsReader | undefined;
        try {
          reader = openSafetensors(file);
          fromFile = checkReader(reader, mutated.length, file);
        } catch (error) {
          fromFile = checkError(error, file);
        } finally {
          reader?.close();
        }
        expect(fromFile).toEqual(outcomeOfBytes(mutated));
      }),
      { numRuns: 300 },
    );
  });

  it("finds the problem in a few hand-picked mutations of a real file", () => {
    const bytes = serializeSafetensors({ a: tensor([1, 2, 3]), b: tensor([[4, 5]]) });
    const header = headerOf(bytes);
    header["a"]!.data_offsets = header["b"]!.data_offsets;
    expect(outcomeOfBytes(withHeader(bytes, header))).toEqual({ error: expect.stringMatching(/overlap|unused|needs/) });
  });
});
