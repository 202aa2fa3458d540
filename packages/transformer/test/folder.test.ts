import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FileFormatError } from "@gim/tensor";
import { loadModelFrom, memoryFolder, normalizeFileName, tokenizerFromFolder } from "../src/index.js";
import { loadModel, loadTokenizer } from "../src/node/index.js";
import { fixturesDir, readGolden, relativeError } from "./golden.js";

/** Every file of a folder, in memory, as a browser would hold dropped or fetched files. */
function inMemory(dir: string): Map<string, Uint8Array> {
  return new Map(fs.readdirSync(dir).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
}

describe("model folders in memory (the browser path)", () => {
  for (const name of ["gpt2-f32", "llama-gqa-sharded"]) {
    it(`${name} loads from memory with the same weights and logits as from disk`, () => {
      const dir = path.join(fixturesDir, name);
      const fromMemory = loadModelFrom(memoryFolder(inMemory(dir), "dropped files"));
      const fromDisk = loadModel(dir);
      expect([...fromMemory.params.keys()]).toEqual([...fromDisk.params.keys()]);
      const golden = readGolden(name);
      const logits = fromMemory.forward({ ids: golden.ids }).logits.value.toFlat();
      expect(relativeError(logits, golden.logits.flat())).toBeLessThan(1e-4);
    });
  }

  it("reads a tokenizer from memory as from disk", async () => {
    const dir = path.join(fixturesDir, "..", "..", "..", "..", "models", "models", "ioi-gpt2");
    const fromMemory = tokenizerFromFolder(memoryFolder(inMemory(dir)));
    const fromDisk = await loadTokenizer(dir);
    const text = "When Mary and John went to the store, John gave a drink to";
    expect(fromMemory.encode(text)).toEqual(fromDisk.encode(text));
  });

  it("names the missing file, and refuses a file over the size limit or one that is not bytes", () => {
    const dir = path.join(fixturesDir, "gpt2-f32");
    const files = inMemory(dir);
    files.delete("model.safetensors");
    expect(() => loadModelFrom(memoryFolder(files, "https://example.org/m"))).toThrow(/^https:\/\/example\.org\/m: holds neither model\.safetensors nor model\.safetensors\.index\.json$/);
    const folder = memoryFolder(inMemory(dir), "m");
    expect(() => folder.readBytes("config.json", 10)).toThrow(FileFormatError);
    expect(() => folder.readBytes("config.json", 10)).toThrow(/^m\/config\.json: is \d+ bytes, over the limit of 10$/);
    expect(() => memoryFolder({ "config.json": "{}" as unknown as Uint8Array }, "m")).toThrow(/^m\/config\.json: is not a Uint8Array/);
    expect(() => loadModelFrom(memoryFolder({ "config.json": new Uint8Array([0xff, 0xfe, 0x00]) }, "m"))).toThrow(/m\/config\.json: is not valid UTF-8 text/);
  });
});

describe("normalizeFileName", () => {
  it("normalizes names inside a folder and refuses the others", () => {
    expect(normalizeFileName("./a//b")).toBe("a/b");
    expect(normalizeFileName("a/../b")).toBe("b");
    expect(normalizeFileName("a\\b")).toBe("a/b");
    for (const bad of ["", ".", "..", "../x", "a/../../x", "/etc/passwd", "\\x", "C:x", "a\0b"]) expect(normalizeFileName(bad), JSON.stringify(bad)).toBeUndefined();
  });
});
