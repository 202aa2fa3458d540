import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Tensor, tensor } from "@gim/tensor";
import {
  SafetensorsError,
  bfloat16Bits,
  bfloat16Value,
  float16Bits,
  float16Value,
  parseSafetensors,
  serializeSafetensors,
  type SafetensorsReader,
} from "../src/safetensors/index.js";
import { openSafetensors, openSafetensorsFolder, openShardedSafetensors, writeSafetensors } from "../src/node/index.js";
import { MAX_HEADER_BYTES, readHeaderLength } from "../src/safetensors/header.js";
import { swapByteOrder } from "../src/safetensors/byte-order.js";

// ---------------------------------------------------------------------------------------------
// Helpers that build files by hand, independently of the writer under test.

/** A safetensors file from a header (object or raw JSON text) and data bytes. */
function buildFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes of values written through a DataView setter. */
function leBytes(values: readonly (number | bigint)[], size: number, set: (view: DataView, at: number, v: never) => void): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => set(view, i * size, v as never));
  return out;
}
const f32Bytes = (values: number[]) => leBytes(values, 4, (d, at, v: number) => d.setFloat32(at, v, true));

/** The error a function throws (failing the test if it throws none). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, none was thrown");
}

/** Asserts `fn` throws a one-line SafetensorsError naming `file` and containing every fragment. */
function expectSafetensorsError(fn: () => unknown, file: string, ...fragments: string[]): SafetensorsError {
  const error = errorOf(fn);
  expect(error).toBeInstanceOf(SafetensorsError);
  expect(error.message.startsWith(`${file}: `)).toBe(true);
  expect(error.message).not.toMatch(/[\r\n]/);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error as SafetensorsError;
}

function flat(t: Tensor): number[] {
  return Array.from(t.toFlat());
}

let tmp = "";
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-safetensors-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe("half-precision conversion", () => {
  it("encodes F16 like Python's struct 'e' (round to nearest even, subnormals, overflow to inf)", () => {
    for (const [x, bits] of F16_REFERENCE) expect([x, float16Bits(x)]).toEqual([x, bits]);
  });

  it("matches hand-derived F16 bit patterns", () => {
    expect(float16Bits(1)).toBe(0x3c00);
    expect(float16Bits(65504)).toBe(0x7bff);
    expect(float16Bits(2 ** -24)).toBe(0x0001);
    expect(float16Bits(2 ** -14)).toBe(0x0400);
    expect(float16Bits(-2)).toBe(0xc000);
    expect(float16Bits(Infinity)).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x03ff).not.toBe(0);
    expect(float16Value(0x3c00)).toBe(1);
    expect(float16Value(0x7bff)).toBe(65504);
    expect(float16Value(0x0001)).toBe(2 ** -24);
    expect(float16Value(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16Value(0x7c00)).toBe(Infinity);
    expect(float16Value(0xfc00)).toBe(-Infinity);
    expect(float16Value(0x7e00)).toBeNaN();
    expect(Object.is(float16Value(0x8000), -0)).toBe(true);
    expect(float16Value(0x3555)).toBe(0.333251953125);
  });

  it("decodes every F16 bit pattern to a value that encodes back to it, in increasing order", () => {
    let previous = -Infinity;
    for (let bits = 0; bits < 0x7c00; bits++) {
      const v = float16Value(bits);
      expect(v > previous || bits === 0).toBe(true);
      previous = v;
    }
    for (let bits = 0; bits < 65536; bits++) {
      const v = float16Value(bits);
      if (Number.isNaN(v)) expect(bits & 0x7c00).toBe(0x7c00);
      else if (float16Bits(v) !== bits) expect.fail(`F16 0x${bits.toString(16)} does not round-trip`);
    }
  });

  it("encodes BF16 like torch's float32 -> bfloat16", () => {
    for (const [x, bits] of BF16_REFERENCE) expect([x, bfloat16Bits(x)]).toEqual([x, bits]);
  });

  it("decodes every BF16 pattern as the float32 whose top half it is", () => {
    const view = new DataView(new ArrayBuffer(4));
    for (let bits = 0; bits < 65536; bits++) {
      view.setUint32(0, bits << 16);
      const expected = view.getFloat32(0);
      const actual = bfloat16Value(bits);
      if (Number.isNaN(expected)) expect(actual).toBeNaN();
      else if (!Object.is(actual, expected)) expect.fail(`BF16 0x${bits.toString(16)}: ${actual} != ${expected}`);
    }
  });

  it("rounds float32 to BF16 like the integer bit trick (bits + 0x7fff + lsb) >> 16", () => {
    const view = new DataView(new ArrayBuffer(4));
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        view.setFloat32(0, x);
        const bits = view.getUint32(0);
        const expected = Math.floor((bits + 0x7fff + ((bits >>> 16) & 1)) / 65536);
        expect(bfloat16Bits(x)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it("rounds float64 once, not through float32", () => {
    // 1 + 2^-8 + 2^-30 is just above the midpoint between 1 and 1 + 2^-7; through float32 it
    // would become exactly the midpoint and round to even (1.0).
    expect(bfloat16Bits(1 + 2 ** -8 + 2 ** -30)).toBe(0x3f81);
    expect(bfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(float16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(bfloat16Bits(2 ** -133)).toBe(0x0001);
    expect(bfloat16Bits(3.4028234663852886e38)).toBe(0x7f80);
    expect(bfloat16Bits(-NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it("swaps byte order for big-endian hosts", () => {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    swapByteOrder(bytes, 4);
    expect([...bytes]).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
    swapByteOrder(bytes, 2);
    expect([...bytes]).toEqual([3, 4, 1, 2, 7, 8, 5, 6]);
  });
});

describe("writer and reader round trip", () => {
  const shapes: number[][] = [[], [0], [2, 0, 3], [5], [3, 4], [2, 1, 3]];

  it.each(["F32", "F64", "F16", "BF16"] as const)("round-trips %s tensors of every shape, including 0-d and empty", (dtype) => {
    // Values that every format holds exactly: small integers and halves.
    const tensors: Record<string, { dtype: typeof dtype; shape: number[]; data: Float64Array }> = {};
    shapes.forEach((shape, k) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Float64Array.from({ length: size }, (_, i) => (i % 2 ? -1 : 1) * (i + k) * 0.5);
      tensors[`t${k}`] = { dtype, shape, data };
    });
    const reader = parseSafetensors(serializeSafetensors(tensors));
    expect(reader.names().sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, { shape, data }] of Object.entries(tensors)) {
      const entry = reader.entry(name);
      expect(entry.dtype).toBe(dtype);
      expect(entry.shape).toEqual(shape);
      for (const out of ["float32", "float64"] as const) {
        const t = reader.read(name, { dtype: out });
        expect(t.dtype).toBe(out);
        expect(t.shape).toEqual(shape);
        expect(flat(t)).toEqual(Array.from(data));
      }
    }
  });

  it("keeps F32 and F64 values exactly and F16/BF16 within half an ulp", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -60000, max: 60000 }), { maxLength: 40 }),
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 40 }),
        (f32, f64) => {
          const a = Float32Array.from(f32);
          const b = Float64Array.from(f64);
          const reader = parseSafetensors(
            serializeSafetensors({
              a: tensor(a, { shape: [a.length] }),
              b: tensor(b, { shape: [b.length], dtype: "float64" }),
              h: { dtype: "F16", shape: [a.length], data: a },
              g: { dtype: "BF16", shape: [a.length], data: a },
            }),
          );
          expect(reader.entry("a").dtype).toBe("F32");
          expect(reader.entry("b").dtype).toBe("F64");
          expect(Array.from(reader.read("a").data)).toEqual(Array.from(a));
          expect(Array.from(reader.read("b", { dtype: "float64" }).data)).toEqual(Array.from(b));
          const h = reader.read("h").data;
          const g = reader.read("g").data;
          for (let i = 0; i < a.length; i++) {
            const x = a[i]!;
            // Half an ulp: F16 has 11 significant bits above 2^-14 and spacing 2^-24 below;
            // BF16 has 8 significant bits above 2^-126 and spacing 2^-133 below.
            expect(Math.abs(h[i]! - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
            expect(Math.abs(g[i]! - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -8, 2 ** -134));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("writes the layout the format describes: padded header, sorted tensors, metadata", () => {
    const bytes = serializeSafetensors(
      {
        zeta: tensor([1, 2, 3]),
        alpha: { dtype: "F16", shape: [3], data: new Float32Array([1, 2, 3]) },
        beta: tensor([[1, 2]], { dtype: "float64" }),
        gamma: { dtype: "BF16", shape: [1], data: new Float32Array([1]) },
        a32: tensor([5]),
      },
      { metadata: { format: "pt", note: "x" } },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(text).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ format: "pt", note: "x" });
    // Largest element size first, then by name; each begins where the previous ends.
    expect(header.beta).toEqual({ dtype: "F64", shape: [1, 2], data_offsets: [0, 16] });
    expect(header.a32).toEqual({ dtype: "F32", shape: [1], data_offsets: [16, 20] });
    expect(header.zeta).toEqual({ dtype: "F32", shape: [3], data_offsets: [20, 32] });
    expect(header.alpha).toEqual({ dtype: "F16", shape: [3], data_offsets: [32, 38] });
    expect(header.gamma).toEqual({ dtype: "BF16", shape: [1], data_offsets: [38, 40] });
    expect(bytes.length).toBe(8 + headerLength + 40);
    const data = new DataView(bytes.buffer, 8 + headerLength);
    expect(data.getFloat64(8, true)).toBe(2);
    expect(data.getFloat32(24, true)).toBe(2);
    expect(data.getUint16(34, true)).toBe(0x4000); // F16 2.0
    expect(data.getUint16(38, true)).toBe(0x3f80); // BF16 1.0
    expect(parseSafetensors(bytes).metadata).toEqual({ format: "pt", note: "x" });
  });

  it("stores Tensors as the dtype option asks, and writes non-contiguous views in row-major order", () => {
    const base = tensor([[1, 2, 3], [4, 5, 6]]);
    const transposed = new Tensor(base.data, [3, 2], [1, 3]); // [[1, 4], [2, 5], [3, 6]]
    const reader = parseSafetensors(serializeSafetensors({ t: transposed }, { dtype: "F16" }));
    expect(reader.entry("t").dtype).toBe("F16");
    expect(reader.read("t").toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const sliced = new Tensor(base.data, [2], [1], 4); // [5, 6]
    expect(parseSafetensors(serializeSafetensors({ s: sliced })).read("s").toArray()).toEqual([5, 6]);
  });

  it("rejects bad writer input with an error naming the tensor", () => {
    expectSafetensorsError(() => serializeSafetensors({ __metadata__: tensor([1]) }), "<memory>", "__metadata__");
    expectSafetensorsError(
      () => serializeSafetensors({ w: { dtype: "F32", shape: [2, 2], data: new Float32Array(3) } }),
      "<memory>",
      'tensor "w"',
      "4 elements",
      "3 values",
    );
    expectSafetensorsError(
      () => serializeSafetensors({ w: { dtype: "I8" as never, shape: [1], data: new Float32Array(1) } }),
      "<memory>",
      'tensor "w"',
      '"I8"',
    );
    expectSafetensorsError(
      () => serializeSafetensors({ w: tensor([1]) }, { metadata: { n: 3 as never } }),
      "<memory>",
      'metadata key "n"',
    );
    const file = path.join(tmp, "bad-write.safetensors");
    expectSafetensorsError(() => writeSafetensors(file, { w: { dtype: "F32", shape: [-1], data: new Float32Array(0) } }), file, 'tensor "w"', "shape");
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe("reading files", () => {
  it("reads a written file lazily, tensor by tensor, with exact values", () => {
    const file = path.join(tmp, "model.safetensors");
    const w = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 100);
    const d = Float64Array.from({ length: 5 }, (_, i) => Math.PI * i);
    writeSafetensors(file, { w: tensor(w, { shape: [3, 4] }), d: tensor(d, { shape: [5] }), s: tensor(7) }, { metadata: { format: "pt" } });
    const reader = openSafetensors(file);
    try {
      expect(reader.file).toBe(file);
      expect(reader.metadata).toEqual({ format: "pt" });
      expect(reader.names().sort()).toEqual(["d", "s", "w"]);
      expect(reader.entry("w")).toMatchObject({ name: "w", dtype: "F32", shape: [3, 4], byteLength: 48, file });
      expect(Array.from(reader.read("w").data)).toEqual(Array.from(w));
      expect(Array.from(reader.read("d", { dtype: "float64" }).data)).toEqual(Array.from(d));
      expect(Array.from(reader.read("d").data)).toEqual(Array.from(Float32Array.from(d)));
      expect(reader.read("s").shape).toEqual([]);
      expect(reader.read("s").item()).toBe(7);
      // The entry's byte range is where the bytes are in the file.
      const raw = fs.readFileSync(file);
      const e = reader.entry("w");
      expect(raw.readFloatLE(e.byteOffset + 4)).toBe(w[1]);
    } finally {
      reader.close();
    }
    reader.close(); // twice is harmless
    expectSafetensorsError(() => reader.read("w"), file, "closed");
  });

  it("allocates only the output for F32, F16 and BF16 reads from a file", () => {
    const file = path.join(tmp, "alloc.safetensors");
    const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 256) / 8); // 8 significant bits: exact in BF16
    writeSafetensors(file, {
      f32: tensor(values, { shape: [10, 100] }),
      f16: { dtype: "F16", shape: [1000], data: values },
      bf16: { dtype: "BF16", shape: [1000], data: values },
    });
    const reader = openSafetensors(file);
    for (const name of ["f32", "f16", "bf16"]) {
      const t = reader.read(name);
      expect(t.data).toBeInstanceOf(Float32Array);
      expect(t.data.buffer.byteLength).toBe(1000 * 4);
      expect(t.offset).toBe(0);
      expect(Array.from(t.data)).toEqual(Array.from(values));
    }
    expect(reader.read("f32", { dtype: "float64" }).data.buffer.byteLength).toBe(1000 * 8);
    reader.close();
  });

  it("returns views of the buffer from parseSafetensors when aligned, and copies when not", () => {
    const bytes = serializeSafetensors({ w: tensor([1.5, 2.5, -3]), h: { dtype: "F16", shape: [2], data: new Float32Array([0.5, 4]) } });
    const aligned = parseSafetensors(bytes).read("w");
    expect(aligned.data.buffer).toBe(bytes.buffer);
    expect(Array.from(aligned.data)).toEqual([1.5, 2.5, -3]);
    // The same file one byte into a bigger buffer: every F32 is misaligned.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const reader = parseSafetensors(shifted.subarray(1), "shifted.safetensors");
    const copy = reader.read("w");
    expect(copy.data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(copy.data)).toEqual([1.5, 2.5, -3]);
    expect(Array.from(reader.read("h").data)).toEqual([0.5, 4]);
  });

  it("converts integer and BOOL tensors when exact, and names the value when not", () => {
    const i8 = new Uint8Array(new Int8Array([-128, 0, 127]).buffer);
    const u16 = leBytes([0, 65535], 2, (d, at, v: number) => d.setUint16(at, v, true));
    const i32 = leBytes([-5, 1 << 24, (1 << 24) + 1], 4, (d, at, v: number) => d.setInt32(at, v, true));
    const u32 = leBytes([4294967295], 4, (d, at, v: number) => d.setUint32(at, v, true));
    const i64 = leBytes([-3n, 2n ** 53n + 1n], 8, (d, at, v: bigint) => d.setBigInt64(at, v, true));
    const u64 = leBytes([12n], 8, (d, at, v: bigint) => d.setBigUint64(at, v, true));
    const bool = new Uint8Array([1, 0, 2]);
    const parts = { i8, u16, i32, u32, i64, u64, bool };
    const dtypes = { i8: "I8", u16: "U16", i32: "I32", u32: "U32", i64: "I64", u64: "U64", bool: "BOOL" } as const;
    const header: Record<string, unknown> = {};
    let offset = 0;
    const chunks: Uint8Array[] = [];
    for (const [name, raw] of Object.entries(parts)) {
      const size = { I8: 1, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8, BOOL: 1 }[dtypes[name as keyof typeof dtypes]];
      header[name] = { dtype: dtypes[name as keyof typeof dtypes], shape: [raw.length / size], data_offsets: [offset, offset + raw.length] };
      offset += raw.length;
      chunks.push(raw);
    }
    const data = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    const reader = parseSafetensors(buildFile(header, data), "ints.safetensors");
    expect(flat(reader.read("i8"))).toEqual([-128, 0, 127]);
    expect(flat(reader.read("u16"))).toEqual([0, 65535]);
    expect(flat(reader.read("i32", { dtype: "float64" }))).toEqual([-5, 2 ** 24, 2 ** 24 + 1]);
    expectSafetensorsError(() => reader.read("i32"), "ints.safetensors", 'tensor "i32"', "I32 value 16777217", "element 2", "float32", '{ dtype: "float64" }');
    expectSafetensorsError(() => reader.read("u32"), "ints.safetensors", "U32 value 4294967295", "float32");
    expect(flat(reader.read("u32", { dtype: "float64" }))).toEqual([4294967295]);
    expectSafetensorsError(() => reader.read("i64", { dtype: "float64" }), "ints.safetensors", 'tensor "i64"', "I64 value 9007199254740993", "element 1", "float64");
    expect(flat(reader.read("u64"))).toEqual([12]);
    expectSafetensorsError(() => reader.read("bool"), "ints.safetensors", 'tensor "bool"', "byte 2", "element 2", "BOOL");
  });

  it("opens files holding dtypes it cannot load, and refuses only those tensors", () => {
    const header = {
      ok: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
      q: { dtype: "F8_E4M3", shape: [2], data_offsets: [4, 6] },
      f4: { dtype: "F4", shape: [4], data_offsets: [6, 8] },
    };
    const reader = parseSafetensors(buildFile(header, new Uint8Array([0, 0, 0x80, 0x3f, 1, 2, 3, 4])), "mixed.safetensors");
    expect(flat(reader.read("ok"))).toEqual([1]);
    expectSafetensorsError(() => reader.read("q"), "mixed.safetensors", 'tensor "q" has dtype F8_E4M3, which cannot be loaded as float');
    expectSafetensorsError(() => reader.read("f4"), "mixed.safetensors", 'tensor "f4"', "F4");
  });

  it("reads the committed Hugging Face style fixtures to the values Python computes", () => {
    const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "models");
    for (const [file, tensors, elements, sum, sumSquares, firstName, firstValue] of FIXTURE_DIGESTS) {
      const reader = openSafetensors(path.join(root, file));
      try {
        expect(reader.names().length).toBe(tensors);
        let count = 0;
        let s = 0;
        let sq = 0;
        for (const name of reader.names()) {
          const t = reader.read(name, { dtype: "float64" });
          expect(t.shape).toEqual(reader.entry(name).shape);
          for (const v of t.data) {
            s += v;
            sq += v * v;
          }
          count += t.size;
        }
        expect(count).toBe(elements);
        expect(s).toBeCloseTo(sum, 6);
        expect(sq / sumSquares).toBeCloseTo(1, 12);
        expect(reader.read(firstName).data[0]).toBe(Math.fround(firstValue));
        expect(reader.metadata).toEqual({ format: "pt" });
      } finally {
        reader.close();
      }
    }
    const sharded = openSafetensorsFolder(path.join(root, "llama-gqa-sharded"));
    try {
      expect(sharded.names().length).toBe(30);
      expect(sharded.entry("lm_head.weight").file).toBe(path.join(root, "llama-gqa-sharded", "model-00002-of-00002.safetensors"));
      expect(sharded.read("lm_head.weight").data[0]).toBe(Math.fround(0.5450668334960938));
    } finally {
      sharded.close();
    }
  });
});

describe("bad files", () => {
  const name = "model.safetensors";
  const good = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const eightBytes = f32Bytes([1, 2]);
  const parse = (bytes: Uint8Array) => () => parseSafetensors(bytes, name);

  it("accepts the hand-built reference file", () => {
    expect(flat(parseSafetensors(buildFile(good, eightBytes), name).read("w"))).toEqual([1, 2]);
  });

  it("truncated before the header length", () => {
    expectSafetensorsError(parse(new Uint8Array(5)), name, "5 bytes", "too short", "header length");
    expectSafetensorsError(parse(new Uint8Array(0)), name, "0 bytes", "too short");
  });

  it("header length beyond the file", () => {
    const bytes = buildFile(good, eightBytes, 9999999n);
    expectSafetensorsError(parse(bytes), name, `header length 9999999 exceeds the file size ${bytes.length}`);
    expectSafetensorsError(parse(buildFile(good, eightBytes, 2n ** 64n - 1n)), name, "header length 18446744073709551615 exceeds");
    // A file truncated inside the header.
    expectSafetensorsError(parse(buildFile(good, eightBytes).subarray(0, 20)), name, "exceeds the file size 20");
  });

  it("header length over the 100 MB limit", () => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    expectSafetensorsError(() => readHeaderLength(name, prefix, 2 ** 40), name, `header length ${MAX_HEADER_BYTES + 1} exceeds the limit`);
  });

  it("header that is not JSON, not UTF-8, or not an object", () => {
    expectSafetensorsError(parse(buildFile('{"w": {"dtype": "F32",')), name, "header is not valid JSON");
    expectSafetensorsError(parse(buildFile("")), name, "header is not valid JSON");
    const invalidUtf8 = buildFile("{}");
    invalidUtf8[8] = 0xff;
    expectSafetensorsError(parse(invalidUtf8), name, "not valid UTF-8");
    expectSafetensorsError(parse(buildFile([1, 2])), name, "header is an array, not a JSON object");
    expectSafetensorsError(parse(buildFile("null")), name, "header is null, not a JSON object");
    expectSafetensorsError(parse(buildFile("42")), name, "header is a number, not a JSON object");
  });

  it("__metadata__ that is not an object of strings", () => {
    expectSafetensorsError(parse(buildFile({ __metadata__: "pt" })), name, "__metadata__ is a string");
    expectSafetensorsError(parse(buildFile({ __metadata__: { format: "pt", n: 3 } })), name, '__metadata__', 'key "n" holds a number');
  });

  it("entries without a known dtype, shape or data_offsets", () => {
    const entry = (e: unknown) => parse(buildFile({ w: e }, eightBytes));
    expectSafetensorsError(entry([1]), name, 'tensor "w" is described by an array');
    expectSafetensorsError(entry({ shape: [2], data_offsets: [0, 8] }), name, 'tensor "w" has no dtype');
    expectSafetensorsError(entry({ dtype: "F32", shape: [2] }), name, 'tensor "w" has no data_offsets');
    expectSafetensorsError(entry({ dtype: 3, shape: [2], data_offsets: [0, 8] }), name, 'tensor "w" has dtype 3, not a string');
    expectSafetensorsError(entry({ dtype: "Q4", shape: [2], data_offsets: [0, 8] }), name, 'tensor "w" has unknown dtype "Q4"');
    expectSafetensorsError(entry({ dtype: "F32", shape: [2, -1], data_offsets: [0, 8] }), name, 'tensor "w" has shape [2,-1]', "non-negative integers");
    expectSafetensorsError(entry({ dtype: "F32", shape: [1.5], data_offsets: [0, 8] }), name, 'tensor "w" has shape [1.5]');
    expectSafetensorsError(entry({ dtype: "F32", shape: "2", data_offsets: [0, 8] }), name, 'tensor "w" has shape "2"');
    expectSafetensorsError(entry({ dtype: "F32", shape: [2], data_offsets: [0] }), name, 'tensor "w" has data_offsets [0]');
    expectSafetensorsError(entry({ dtype: "F32", shape: [2], data_offsets: [-8, 0] }), name, 'tensor "w" has data_offsets [-8,0]');
    expectSafetensorsError(entry({ dtype: "F32", shape: [2], data_offsets: [0, 1e300] }), name, "data_offsets [0,1e+300]");
    expectSafetensorsError(entry({ dtype: "F32", shape: [2], data_offsets: [8, 0] }), name, 'tensor "w" has data_offsets [8, 0] that end before they begin');
  });

  it("data_offsets outside the data section (including a truncated file)", () => {
    expectSafetensorsError(
      parse(buildFile({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, eightBytes)),
      name,
      'tensor "w" has data_offsets [0, 16] outside the data section of 8 bytes',
    );
    const whole = serializeSafetensors({ a: tensor([1, 2, 3, 4]), b: tensor([5, 6]) });
    expectSafetensorsError(parse(whole.subarray(0, whole.length - 3)), name, 'tensor "b"', "outside the data section", "truncated");
  });

  it("shape times dtype size not matching the byte range", () => {
    expectSafetensorsError(
      parse(buildFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, eightBytes)),
      name,
      'tensor "w" of dtype F32 and shape [3] needs 12 bytes, but data_offsets [0, 8] hold 8 bytes',
    );
    expectSafetensorsError(
      parse(buildFile({ w: { dtype: "F16", shape: [2], data_offsets: [0, 8] } }, eightBytes)),
      name,
      "needs 4 bytes",
    );
    // A forged shape whose element count overflows doubles is still caught.
    expectSafetensorsError(
      parse(buildFile({ w: { dtype: "F32", shape: [2 ** 40, 2 ** 40, 0.5 * 2 ** 20], data_offsets: [0, 8] } }, eightBytes)),
      name,
      'tensor "w"',
      "needs",
    );
  });

  it("overlapping or gapped byte ranges, and data past the last tensor", () => {
    expectSafetensorsError(
      parse(
        buildFile(
          { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } },
          eightBytes,
        ),
      ),
      name,
      'tensors "a" [0, 8] and "b" [4, 8] overlap',
    );
    expectSafetensorsError(
      parse(buildFile({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, eightBytes)),
      name,
      "4 unused bytes before the first tensor",
    );
    expectSafetensorsError(
      parse(
        buildFile(
          { a: { dtype: "F16", shape: [1], data_offsets: [0, 2] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } },
          eightBytes,
        ),
      ),
      name,
      '2 unused bytes between tensor "a" (ending at 2) and tensor "b" (beginning at 4)',
    );
    expectSafetensorsError(
      parse(buildFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, eightBytes)),
      name,
      "the data section holds 8 bytes but the tensors cover only 4",
    );
  });

  it("missing tensors, missing files and folders", () => {
    const reader = parseSafetensors(buildFile(good, eightBytes), name);
    expectSafetensorsError(() => reader.entry("nope"), name, 'no tensor named "nope"');
    expectSafetensorsError(() => reader.read("nope"), name, 'no tensor named "nope"');
    const missing = path.join(tmp, "missing.safetensors");
    expectSafetensorsError(() => openSafetensors(missing), missing, "does not exist");
    expectSafetensorsError(() => openSafetensors(tmp), tmp, "not a regular file");
    // A named pipe would block a reader that opened it; it must be refused without opening.
    const fifo = path.join(tmp, "pipe.safetensors");
    if (spawnSync("mkfifo", [fifo]).status === 0) expectSafetensorsError(() => openSafetensors(fifo), fifo, "not a regular file");
  });

  it("reports file problems of openSafetensors with the path", () => {
    const file = path.join(tmp, "bad.safetensors");
    fs.writeFileSync(file, buildFile({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, eightBytes));
    expectSafetensorsError(() => openSafetensors(file), file, "needs 12 bytes");
    fs.writeFileSync(file, new Uint8Array(3));
    expectSafetensorsError(() => openSafetensors(file), file, "3 bytes", "too short");
  });
});

describe("sharded checkpoints and model folders", () => {
  let folderCount = 0;
  function folder(files: Record<string, Uint8Array | string>): string {
    const dir = path.join(tmp, `folder-${folderCount++}`);
    fs.mkdirSync(dir);
    for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
    return dir;
  }
  const shard1 = serializeSafetensors({ a: tensor([1, 2]), b: tensor([3]) }, { metadata: { format: "pt" } });
  const shard2 = serializeSafetensors({ c: tensor([[4, 5]]) }, { metadata: { format: "pt" } });
  const index = (weightMap: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ metadata: { total_size: 20 }, weight_map: weightMap, ...extra });
  const goodMap = { a: "s1.safetensors", b: "s1.safetensors", c: "s2.safetensors" };

  it("presents shards as one reader", () => {
    const dir = folder({ "model.safetensors.index.json": index(goodMap), "s1.safetensors": shard1, "s2.safetensors": shard2 });
    const reader: SafetensorsReader = openSafetensorsFolder(dir);
    try {
      expect(reader.file).toBe(path.join(dir, "model.safetensors.index.json"));
      expect(reader.names().sort()).toEqual(["a", "b", "c"]);
      expect(reader.has("c")).toBe(true);
      expect(reader.has("d")).toBe(false);
      expect(reader.metadata).toEqual({ format: "pt" });
      expect(reader.entry("c")).toMatchObject({ file: path.join(dir, "s2.safetensors"), shape: [1, 2] });
      expect(reader.read("c").toArray()).toEqual([[4, 5]]);
      expect(reader.read("a").toArray()).toEqual([1, 2]);
      const sharded = openShardedSafetensors(path.join(dir, "model.safetensors.index.json"));
      expect(sharded.indexMetadata).toEqual({ total_size: 20 });
      expect(sharded.shards).toEqual([path.join(dir, "s1.safetensors"), path.join(dir, "s2.safetensors")]);
      sharded.close();
      expectSafetensorsError(() => reader.read("d"), reader.file, 'no tensor named "d"');
    } finally {
      reader.close();
    }
    expectSafetensorsError(() => reader.read("a"), path.join(dir, "s1.safetensors"), "closed");
  });

  it("opens model.safetensors when there is no index, and names what a folder lacks", () => {
    const single = folder({ "model.safetensors": shard1 });
    const reader = openSafetensorsFolder(single);
    expect(reader.file).toBe(path.join(single, "model.safetensors"));
    expect(reader.read("b").toArray()).toEqual([3]);
    reader.close();
    const empty = folder({ "config.json": "{}" });
    expectSafetensorsError(() => openSafetensorsFolder(empty), empty, "neither model.safetensors nor model.safetensors.index.json");
    const nowhere = path.join(tmp, "no-such-folder");
    expectSafetensorsError(() => openSafetensorsFolder(nowhere), nowhere, "the model folder does not exist");
    const file = path.join(single, "model.safetensors");
    expectSafetensorsError(() => openSafetensorsFolder(file), file, "the model folder is a regular file, not a folder");
  });

  it("rejects bad indexes with the index file and the problem", () => {
    const check = (indexText: string, files: Record<string, Uint8Array>, ...fragments: string[]) => {
      const dir = folder({ "model.safetensors.index.json": indexText, ...files });
      expectSafetensorsError(() => openSafetensorsFolder(dir), path.join(dir, "model.safetensors.index.json"), ...fragments);
    };
    const shards = { "s1.safetensors": shard1, "s2.safetensors": shard2 };
    check("{not json", shards, "index is not valid JSON");
    check("[]", shards, "index is an array, not a JSON object");
    check(JSON.stringify({ metadata: {} }), shards, '"weight_map" is missing');
    check(JSON.stringify({ weight_map: [] }), shards, '"weight_map" is an array');
    check(index({ ...goodMap, a: 7 }), shards, 'maps tensor "a" to a number');
    check(index({ ...goodMap, a: "../s1.safetensors" }), shards, 'tensor "a"', "not a file inside the index's folder");
    check(index({ ...goodMap, a: "/etc/passwd" }), shards, "not a file inside");
    check(index({ ...goodMap, c: "s3.safetensors" }), shards, 'names shard "s3.safetensors"', "does not exist");
    check(index({ ...goodMap, d: "s2.safetensors" }), shards, 'puts tensor "d" in shard "s2.safetensors", which does not hold it');
    check(index({ a: "s1.safetensors", c: "s2.safetensors" }), shards, 'shard "s1.safetensors" holds tensor "b", which weight_map does not list');
    const twice = serializeSafetensors({ c: tensor([9]), b: tensor([3]) });
    check(index(goodMap), { "s1.safetensors": shard1, "s2.safetensors": twice }, 'tensor "b" is in two shards, "s1.safetensors" and "s2.safetensors"');
    check(JSON.stringify({ metadata: 3, weight_map: goodMap }), shards, '"metadata" is a number');
  });

  it("treats differently written names of one shard file as one shard", () => {
    const dir = folder({
      "model.safetensors.index.json": index({ a: "./s1.safetensors", b: "s1.safetensors", c: "s2.safetensors" }),
      "s1.safetensors": shard1,
      "s2.safetensors": shard2,
    });
    const reader = openShardedSafetensors(path.join(dir, "model.safetensors.index.json"));
    expect(reader.shards).toEqual([path.join(dir, "s1.safetensors"), path.join(dir, "s2.safetensors")]);
    expect(reader.read("b").toArray()).toEqual([3]);
    reader.close();
  });

  it("reports a bad shard with the shard's own path", () => {
    const broken = shard2.slice(0, shard2.length - 4);
    const dir = folder({ "model.safetensors.index.json": index(goodMap), "s1.safetensors": shard1, "s2.safetensors": broken });
    expectSafetensorsError(() => openSafetensorsFolder(dir), path.join(dir, "s2.safetensors"), "outside the data section");
  });
});

// ---------------------------------------------------------------------------------------------
// Reference data, generated once with /usr/bin/python3 (Python 3.11, numpy 1.24, torch 1.13):
//
//   F16: struct.unpack('<H', struct.pack('<e', x)) for each float64 x (numpy's float64 ->
//   float16 cast where struct refuses to overflow); the inputs are anchors, 120 values 2^U(-27,17)
//   with random signs, and 20 exact ties (m + 0.5) * 2^(e-10).
//   BF16: torch.from_numpy(float32 array).to(torch.bfloat16) bits.
//   FIXTURE_DIGESTS: the committed fixtures decoded with numpy ("<f4", "<f2") and torch
//   (bfloat16 -> float64); per file the tensor count, element count, float64 sum and sum of
//   squares, and the first value of the first tensor name in sorted order.
// [float64 input, F16 bits] from Python struct.pack('<e') (numpy float16 for overflow)
const F16_REFERENCE: [number, number][] = [
  [0.0, 0x0000],
  [-0.0, 0x8000],
  [1.0, 0x3c00],
  [-1.0, 0xbc00],
  [65504.0, 0x7bff],
  [-65504.0, 0xfbff],
  [65519.99, 0x7bff],
  [65520.0, 0x7c00],
  [1000000.0, 0x7c00],
  [5.960464477539063e-08, 0x0001],
  [2.9802322387695312e-08, 0x0000],
  [2.980232536792755e-08, 0x0001],
  [4.470348358154297e-08, 0x0001],
  [6.103515625e-05, 0x0400],
  [6.097555160522461e-05, 0x03ff],
  [0.1, 0x2e66],
  [0.3333333333333333, 0x3555],
  [2049.0, 0x6800],
  [2051.0, 0x6802],
  [1.00048828125, 0x3c00],
  [1.00146484375, 0x3c02],
  [1.0004882812509095, 0x3c01],
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
  [6.1e-05, 0x03ff],
  [5.96e-08, 0x0001],
  [3e-08, 0x0001],
  [-1145.6668049846637, 0xe47a],
  [-0.00011095969465458985, 0x8746],
  [22276.183912127388, 0x7570],
  [1.8924146441650484e-06, 0x0020],
  [-100.40050393932349, 0xd646],
  [6.46142898501422e-05, 0x043c],
  [-1083.8015936676522, 0xe43c],
  [2568.2250242270657, 0x6904],
  [-2053.006551570433, 0xe803],
  [1.607440460782348e-08, 0x0000],
  [-9810.540482160759, 0xf0ca],
  [-1.2355072513425651, 0xbcf1],
  [3.438504385430908e-05, 0x0241],
  [156.64654718108082, 0x58e5],
  [0.0006210130781692047, 0x1116],
  [69.8066937883252, 0x545d],
  [1.3486413054489975e-08, 0x0000],
  [2.2283925215815774, 0x4075],
  [-0.0011458447014663744, 0x94b2],
  [-15.990747135222255, 0xcbff],
  [7.61246758884348e-06, 0x0080],
  [3.1666806858407346e-06, 0x0035],
  [-3.3709295103494984e-08, 0x8001],
  [-7.805142512643998e-05, 0x851d],
  [3.329889940324345e-07, 0x0006],
  [-4951.364660637088, 0xecd6],
  [0.3456081452127669, 0x3588],
  [90854.11715831183, 0x7c00],
  [3.1706183634964375e-06, 0x0035],
  [-1.8542652221321494e-08, 0x8000],
  [1.7345491261170612e-06, 0x001d],
  [2.4766453017300527e-07, 0x0004],
  [1622.7787180704854, 0x6657],
  [2.899544455796522e-05, 0x01e6],
  [-0.002687922283829042, 0x9981],
  [-1.065951054136615e-05, 0x80b3],
  [0.0004110823026109863, 0x0ebc],
  [-0.007014377544333065, 0x9f2f],
  [-3.3570771040290644e-08, 0x8001],
  [-0.44594606692533073, 0xb723],
  [-116.55999622940259, 0xd749],
  [0.016906841054619894, 0x2454],
  [1.9037801859920572e-07, 0x0003],
  [-4.830102317666531, 0xc4d5],
  [-1.4431841692737365e-05, 0x80f2],
  [-0.00011899090397790177, 0x87cc],
  [-0.8671216738374762, 0xbaf0],
  [9.11708694143102e-09, 0x0000],
  [-0.025985136048763582, 0xa6a7],
  [-73981.53104465941, 0xfc00],
  [-1.8333331714531842, 0xbf55],
  [3.324079534433837e-05, 0x022e],
  [0.3097119030297998, 0x34f5],
  [-501.6299426293234, 0xdfd7],
  [-196.8535600641826, 0xda27],
  [-0.011086761981759322, 0xa1ad],
  [-116061.82152146049, 0xfc00],
  [0.07779620000464961, 0x2cfb],
  [26.715516051468214, 0x4eae],
  [2.895555118998317, 0x41cb],
  [0.02365202185127554, 0x260e],
  [-0.00012850365786808358, 0x8836],
  [-236.3350826001094, 0xdb63],
  [-36.83157856678866, 0xd09b],
  [1.6712391883336217e-08, 0x0000],
  [-19584.848533678676, 0xf4c8],
  [0.0012384914910829083, 0x1513],
  [-7324.366576156074, 0xef27],
  [0.0028833625988940728, 0x19e8],
  [0.04928542577187849, 0x2a4f],
  [-0.0003278178152174844, 0x8d5f],
  [-1.359355683151677e-05, 0x80e4],
  [0.02512635582793507, 0x266f],
  [4.316746239512125e-08, 0x0001],
  [0.38066187925182693, 0x3617],
  [115859.1377496602, 0x7c00],
  [46.507683261210474, 0x51d0],
  [14517.758500608923, 0x7317],
  [-0.004762804116970902, 0x9ce1],
  [0.00014741537619049433, 0x08d5],
  [-0.009952769869135632, 0xa119],
  [-3036.5347938207997, 0xe9ee],
  [1.0099918041012366, 0x3c0a],
  [45.68483632993942, 0x51b6],
  [545.5268478802942, 0x6043],
  [-0.032661641455648996, 0xa82e],
  [1.0332249943853941e-08, 0x0000],
  [0.014931571704156401, 0x23a5],
  [-0.0002609914022452633, 0x8c47],
  [-0.49207112776608014, 0xb7e0],
  [0.00046213878229479146, 0x0f92],
  [-73637.58558092928, 0xfc00],
  [-2.419167796370172e-05, 0x8196],
  [4.439103333758724, 0x4470],
  [5405.370630319317, 0x6d47],
  [-4.10074288721946, 0xc41a],
  [1.978632916129943e-07, 0x0003],
  [-4.538085352143123e-06, 0x804c],
  [-2.1951913152713334, 0xc064],
  [6.1392963197025195e-06, 0x0067],
  [-2.6270198468945487e-06, 0x802c],
  [1.1868915986131987e-07, 0x0002],
  [0.015792738158328455, 0x240b],
  [-0.0367032727442954, 0xa8b3],
  [6.637605195693179e-05, 0x045a],
  [351.5411910030872, 0x5d7e],
  [-0.032911466517161765, 0xa836],
  [3.1467975267809554e-05, 0x0210],
  [0.05627543034071205, 0x2b34],
  [-7.398397205470934e-07, 0x800c],
  [-0.23150886661047754, 0xb369],
  [-0.00020954619745223085, 0x8ade],
  [-1.0134357231636199e-08, 0x8000],
  [0.0005242670752635423, 0x104b],
  [1.155987527592122e-08, 0x0000],
  [4.7668119136095446e-06, 0x0050],
  [2463.2400611426556, 0x68d0],
  [-1.133203014311227e-08, 0x8000],
  [355.9273320031881, 0x5d90],
  [1.32317929305159e-07, 0x0002],
  [1184.5, 0x64a0],
  [4.333984375, 0x4456],
  [55664.0, 0x7acc],
  [0.0009076595306396484, 0x1370],
  [0.0065784454345703125, 0x1ebc],
  [1.31591796875, 0x3d44],
  [94.78125, 0x55ec],
  [0.3216552734375, 0x3526],
  [2.8837890625, 0x41c4],
  [0.00021582841873168945, 0x0b12],
  [218.4375, 0x5ad4],
  [0.16802978515625, 0x3160],
  [0.00022679567337036133, 0x0b6e],
  [11156.0, 0x7172],
  [3.1201171875, 0x423e],
  [9196.0, 0x707e],
  [0.02457427978515625, 0x264a],
  [5158.0, 0x6d0a],
  [62.609375, 0x53d4],
  [3051.0, 0x69f6],
];
// [float32 input, BF16 bits] from torch 1.13 float32 -> bfloat16
const BF16_REFERENCE: [number, number][] = [
  [1.0, 0x3f80],
  [-1.0, 0xbf80],
  [3.1415927410125732, 0x4049],
  [1.00390625, 0x3f80],
  [1.01171875, 0x3f82],
  [1.0039072036743164, 0x3f81],
  [3.3895313892515355e+38, 0x7f7f],
  [3.4028234663852886e+38, 0x7f80],
  [9.99994610111476e-41, 0x0001],
  [1.401298464324817e-45, 0x0000],
  [1.1754943508222875e-38, 0x0080],
  [-0.0, 0x8000],
  [-4.1639903474434556e-27, 0x93a5],
  [8.872794996182888e+30, 0x72e0],
  [6.888997542177417e-18, 0x22fe],
  [2.3069903192646235e-12, 0x2c22],
  [6.4959472922485565e-31, 0x0d53],
  [1.5221415165626861e-13, 0x2a2b],
  [1386.4713134765625, 0x44ad],
  [4.381919120838386e+21, 0x636e],
  [1.1207962607326786e+30, 0x7162],
  [9.526117373868014e+20, 0x624f],
  [1.8284815883617966e-09, 0x30fb],
  [21717363720192.0, 0x559e],
  [1.0928654110555297e-29, 0x0f5e],
  [-5.245839570025557e-13, 0xab14],
  [1.163460519417349e-26, 0x1466],
  [7.054546578703709e+36, 0x7caa],
  [-2.7218243334391982e-24, 0x9853],
  [-7.425795869766582e+18, 0xdece],
  [2.260089664451846e-18, 0x2227],
  [1.891997999337036e-05, 0x379f],
  [4.443474193737036e-14, 0x2948],
  [-1.5489513179539888e+28, 0xee48],
  [1.0497190883916486e-30, 0x0daa],
  [2553949440.0, 0x4f18],
  [-6.293934562854732e-18, 0xa2e8],
  [-1.3851119017453274e+22, 0xe43c],
  [1.779328886186704e-05, 0x3795],
  [3.6224739286781744e-27, 0x1390],
  [1.6453921921580545e-23, 0x199f],
  [-2.649277562093568e+17, 0xdc6b],
  [2.404683255008422e-05, 0x37ca],
  [4.1954452358912513e-35, 0x065f],
  [-1000285601792.0, 0xd369],
  [-5.701830739455395e-17, 0xa483],
  [-111.11431884765625, 0xc2de],
  [-3.2080991598693027e-20, 0x9f17],
  [-3.2940370164890893e-16, 0xa5be],
  [1.3501864556952903e-12, 0x2bbe],
  [-3.8222946137985223e+31, 0xf3f1],
  [5.9480753655805074e-09, 0x31cc],
  [-1.0014594714741425e-37, 0x8208],
  [1.1254920996978688e+16, 0x5a20],
  [-9.103605267062829e+28, 0xef93],
  [-1.1541625988265025e-10, 0xaefe],
  [-9.701858553155779e-30, 0x8f45],
  [1.5850772065446433e+38, 0x7eee],
  [-4.4716961658559557e-35, 0x866e],
  [-2.2765319322161237e-26, 0x94e1],
  [1.8630754372654353e-16, 0x2557],
  [1262744.75, 0x499a],
  [42724016128.0, 0x511f],
  [-5.003813991225454e+25, 0xea26],
  [-1.7185779199735407e-07, 0xb439],
  [3.104760046425211e+17, 0x5c8a],
  [-9.426538838397391e-08, 0xb3ca],
  [7.303203375386147e-08, 0x339d],
  [4.019111373463093e+18, 0x5e5f],
  [-274205.96875, 0xc886],
  [2.2005965547577944e-06, 0x3614],
  [-7.018547599273941e+34, 0xf958],
  [52536757190656.0, 0x563f],
  [1.590887112913492e+28, 0x6e4e],
  [7.302695278535986e-19, 0x2158],
  [-4.19646312559805e-24, 0x98a2],
  [9.95993993655113e-30, 0x0f4a],
  [-2.4128477293149637e+25, 0xe9a0],
  [3120524058165248.0, 0x5931],
  [-65212653568.0, 0xd173],
  [7.849138021696294e+35, 0x7b17],
  [-3.0227042362201315e+37, 0xfdb6],
  [1.5346273243063008e-13, 0x2a2d],
  [1.393199695065447e-26, 0x148a],
  [0.09528322517871857, 0x3dc3],
  [-4.519105532663312e-16, 0xa602],
  [4.7785095201885027e+33, 0x776c],
  [7.477965027566199e-19, 0x215d],
  [-2.2412913687417324e+18, 0xddf9],
  [-2.86814252348222e-08, 0xb2f6],
  [1.36051397204363e-19, 0x2021],
  [-6.331130064651802e-12, 0xacdf],
  [3.191528102150127e-37, 0x02d9],
  [-3.155747553213611e-22, 0x9bbf],
  [-0.0002510840422473848, 0xb984],
  [-6.290467100959965e+18, 0xdeaf],
  [-4.1075112192291355e-26, 0x954b],
  [3.1324387262407147e-30, 0x0e7e],
  [-1.3682571949393271e+35, 0xf9d3],
  [6.818968014619649e-15, 0x27f6],
  [-218159382528.0, 0xd24b],
  [-7.552658823755257e-37, 0x8381],
  [-9.655376054240605e-09, 0xb226],
  [5.323233900896065e+27, 0x6d8a],
  [-45231837184.0, 0xd129],
  [-1.9120745571681415e-39, 0x8015],
  [5.3072039008839056e-05, 0x385f],
  [3.877022163497891e-29, 0x1045],
  [-7.10293026681322e+36, 0xfcab],
  [21332525842432.0, 0x559b],
  [2.5939043796532603e-34, 0x07ac],
  [-2.112365926620896e-08, 0xb2b5],
];
// [file, tensor count, element count, sum, sum of squares, first name, its first value]
const FIXTURE_DIGESTS: [string, number, number, number, number, string, number][] = [
  ["gpt2-f32/model.safetensors", 32, 31618, -18726.932896076756, 200004104.91056505, "h.0.attn.bias", 1.0],
  ["gpt2-prefixed-f16/model.safetensors", 41, 68840, 127.77183282375336, 5768.4512079682945, "lm_head.weight", 0.053497314453125],
  ["llama-gqa-sharded/model-00001-of-00002.safetensors", 10, 12480, -23.846975181806215, 1633.5737016820697, "model.embed_tokens.weight", -0.5108661651611328],
  ["llama-gqa-sharded/model-00002-of-00002.safetensors", 20, 21792, 151.04438599427158, 2503.7650365187023, "lm_head.weight", 0.5450668334960938],
  ["llama-head-dim/model.safetensors", 21, 28064, 147.50991096543203, 3651.9258003112936, "lm_head.weight", -0.43313613533973694],
  ["llama-tied-bf16/model.safetensors", 20, 51120, 259.42475497722626, 4227.768591009771, "model.embed_tokens.weight", 0.006805419921875],
  ["qwen2-f32/model.safetensors", 27, 28192, 220.37553314039815, 3478.9902365744933, "lm_head.weight", 0.6759507656097412],
];
