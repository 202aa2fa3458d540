/**
 * Sharded checkpoints: `model.safetensors.index.json` (`{"metadata": {...}, "weight_map":
 * {tensorName: shardFile}}`) next to the shard files, presented as one reader; and
 * {@link openSafetensorsFolder}, which opens whichever form a model folder holds.
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import type { Tensor } from "@gim/tensor";
import { SafetensorsError, describeError } from "./error.js";
import { openSafetensors } from "./file.js";
import { isPlainObject, kindOf, type SafetensorsEntry } from "./header.js";
import type { ReadOptions } from "./read-tensor.js";
import type { SafetensorsFile, SafetensorsReader } from "./reader.js";

/** The file name of a single-file checkpoint in a model folder. */
export const SINGLE_FILE_NAME = "model.safetensors";
/** The file name of a sharded checkpoint's index in a model folder. */
export const INDEX_FILE_NAME = "model.safetensors.index.json";

// Index files are a few hundred kB even for the largest models.
const MAX_INDEX_BYTES = 100_000_000;

/** A sharded checkpoint presented as one reader. */
export class ShardedSafetensors implements SafetensorsReader {
  /** The index file. */
  readonly file: string;
  /** The index's own `metadata` object (e.g. `total_size`), as written. */
  readonly indexMetadata: Readonly<Record<string, unknown>>;
  /** The shard files, as paths, in the order the index first names them. */
  readonly shards: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  private readonly readers: readonly SafetensorsFile[];
  private readonly readerOf: ReadonlyMap<string, SafetensorsFile>;
  private readonly order: readonly string[];

  /** Use {@link openShardedSafetensors}. */
  constructor(file: string, indexMetadata: Record<string, unknown>, readers: SafetensorsFile[], readerOf: Map<string, SafetensorsFile>) {
    this.file = file;
    this.indexMetadata = Object.freeze({ ...indexMetadata });
    this.readers = readers;
    this.readerOf = readerOf;
    this.shards = Object.freeze(readers.map((r) => r.file));
    this.order = Object.freeze(readers.flatMap((r) => r.names()));
    const merged: Record<string, string> = {};
    for (const reader of readers) {
      for (const [key, value] of Object.entries(reader.metadata)) if (!(key in merged)) merged[key] = value;
    }
    this.metadata = Object.freeze(merged);
  }

  names(): string[] {
    return [...this.order];
  }

  has(name: string): boolean {
    return this.readerOf.has(name);
  }

  entry(name: string): SafetensorsEntry {
    const reader = this.readerOf.get(name);
    if (!reader) {
      throw new SafetensorsError(this.file, `no tensor named ${JSON.stringify(name)} in weight_map (${this.order.length} tensors in ${this.readers.length} shards)`);
    }
    return reader.entry(name);
  }

  read(name: string, options?: ReadOptions): Tensor {
    this.entry(name); // the error for a missing name names the index
    return this.readerOf.get(name)!.read(name, options);
  }

  close(): void {
    for (const reader of this.readers) reader.close();
  }
}

/**
 * Opens a sharded checkpoint from its index file. Validates the index (a JSON object whose
 * `weight_map` maps tensor names to shard file names in the same folder), opens and validates
 * every shard, and checks that each tensor of `weight_map` is in the shard it names and that
 * the shards hold no tensor outside `weight_map` (so none is in two shards).
 */
export function openShardedSafetensors(indexPath: string): ShardedSafetensors {
  const fail: (problem: string) => never = (problem) => {
    throw new SafetensorsError(indexPath, problem);
  };
  let text = "";
  try {
    const size = fs.statSync(indexPath).size;
    if (size > MAX_INDEX_BYTES) fail(`index is ${size} bytes, over the limit of ${MAX_INDEX_BYTES}`);
    text = fs.readFileSync(indexPath, "utf8");
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    fail(`cannot read the index: ${describeError(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(`index is not valid JSON (${describeError(error)})`);
  }
  if (!isPlainObject(json)) return fail(`index is ${kindOf(json)}, not a JSON object`);
  const metadata = json["metadata"] ?? {};
  if (!isPlainObject(metadata)) fail(`index "metadata" is ${kindOf(metadata)}, not an object`);
  const weightMap = json["weight_map"];
  if (!isPlainObject(weightMap)) return fail(`index "weight_map" is ${kindOf(weightMap)}, not an object mapping tensor names to shard files`);

  const folder = nodePath.dirname(indexPath);
  // Shards by normalized path ("./a" and "a" are one file), keeping the name first written.
  const shardNames: string[] = [];
  const shardOf = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string") fail(`weight_map maps tensor ${JSON.stringify(tensor)} to ${kindOf(shard)}, not a shard file name`);
    const normalized = nodePath.normalize(shard as string);
    if (
      (shard as string).length === 0 ||
      nodePath.isAbsolute(normalized) ||
      normalized === ".." ||
      normalized.startsWith(`..${nodePath.sep}`) ||
      normalized.includes("\0")
    ) {
      fail(`weight_map maps tensor ${JSON.stringify(tensor)} to ${JSON.stringify(shard)}, which is not a file inside the index's folder`);
    }
    if (!shardNames.some((name) => nodePath.normalize(name) === normalized)) shardNames.push(shard as string);
  }
  for (const [tensor, shard] of Object.entries(weightMap as Record<string, string>)) {
    shardOf.set(tensor, shardNames.find((name) => nodePath.normalize(name) === nodePath.normalize(shard))!);
  }

  const readers: SafetensorsFile[] = [];
  const readerOf = new Map<string, SafetensorsFile>();
  try {
    for (const shard of shardNames) {
      const shardPath = nodePath.join(folder, shard);
      if (!fs.existsSync(shardPath)) fail(`weight_map names shard ${JSON.stringify(shard)}, but ${shardPath} does not exist`);
      readers.push(openSafetensors(shardPath));
    }
    const readerByShard = new Map(shardNames.map((shard, i) => [shard, readers[i]!]));
    for (const [tensor, shard] of shardOf) {
      const reader = readerByShard.get(shard)!;
      if (!reader.has(tensor)) fail(`weight_map puts tensor ${JSON.stringify(tensor)} in shard ${JSON.stringify(shard)}, which does not hold it`);
      readerOf.set(tensor, reader);
    }
    for (const [i, reader] of readers.entries()) {
      for (const tensor of reader.names()) {
        const owner = readerOf.get(tensor);
        if (owner === reader) continue;
        if (owner) {
          fail(`tensor ${JSON.stringify(tensor)} is in two shards, ${JSON.stringify(shardNames[readers.indexOf(owner)])} and ${JSON.stringify(shardNames[i])}`);
        }
        fail(`shard ${JSON.stringify(shardNames[i])} holds tensor ${JSON.stringify(tensor)}, which weight_map does not list`);
      }
    }
  } catch (error) {
    for (const reader of readers) reader.close();
    throw error;
  }
  return new ShardedSafetensors(indexPath, metadata as Record<string, unknown>, readers, readerOf);
}

/**
 * Opens the checkpoint in a model folder: the sharded checkpoint described by
 * `model.safetensors.index.json` if there is one, else `model.safetensors`.
 */
export function openSafetensorsFolder(dir: string): SafetensorsReader {
  let isDirectory: boolean;
  try {
    isDirectory = fs.statSync(dir).isDirectory();
  } catch (error) {
    throw new SafetensorsError(dir, `cannot open the model folder: ${describeError(error)}`);
  }
  if (!isDirectory) throw new SafetensorsError(dir, "is not a folder");
  const indexPath = nodePath.join(dir, INDEX_FILE_NAME);
  if (fs.existsSync(indexPath)) return openShardedSafetensors(indexPath);
  const singlePath = nodePath.join(dir, SINGLE_FILE_NAME);
  if (fs.existsSync(singlePath)) return openSafetensors(singlePath);
  throw new SafetensorsError(dir, `holds neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}`);
}
