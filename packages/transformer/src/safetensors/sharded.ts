/**
 * Sharded checkpoints: `model.safetensors.index.json` (`{"metadata": {...}, "weight_map":
 * {tensorName: shardFile}}`) next to the shard files, presented as one reader; and
 * {@link openCheckpoint}, which opens whichever form a model folder holds. Both read through
 * a {@link ModelFolder}, so they work on disk and in memory alike.
 */
import type { Tensor } from "@gim/tensor";
import { normalizeFileName, readText, type ModelFolder } from "../folder.js";
import { SafetensorsError, describeError } from "./error.js";
import { isPlainObject, kindOf, type SafetensorsEntry } from "./header.js";
import type { ReadOptions } from "./read-tensor.js";
import { openSource, type SafetensorsFile, type SafetensorsReader } from "./reader.js";

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
  /** The shard files, as messages name them, in the order the index first names them. */
  readonly shards: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  private readonly readers: readonly SafetensorsFile[];
  private readonly readerOf: ReadonlyMap<string, SafetensorsFile>;
  private readonly order: readonly string[];

  /** Use `openShardedIn`. */
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
 * Opens a sharded checkpoint from its index file `indexFile` in `folder`. Validates the index
 * (a JSON object whose `weight_map` maps tensor names to shard file names in the same folder),
 * opens and validates every shard, and checks that each tensor of `weight_map` is in the
 * shard it names and that the shards hold no tensor outside `weight_map` (so none is in two
 * shards).
 */
export function openShardedIn(folder: ModelFolder, indexFile: string = INDEX_FILE_NAME): ShardedSafetensors {
  const indexPath = folder.pathOf(indexFile);
  const fail: (problem: string) => never = (problem) => {
    throw new SafetensorsError(indexPath, problem);
  };
  let text = "";
  try {
    text = readText(folder, indexFile, MAX_INDEX_BYTES);
  } catch (error) {
    fail(`cannot read the index: ${describeError(error instanceof SafetensorsError ? error.problem : error)}`);
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

  // Shards by normalized name ("./a" and "a" are one file), keeping the name first written.
  const shardNames: string[] = [];
  const shardByNormal = new Map<string, string>();
  const shardOf = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string") fail(`weight_map maps tensor ${JSON.stringify(tensor)} to ${kindOf(shard)}, not a shard file name`);
    const normalized = normalizeFileName(shard as string);
    if (normalized === undefined) {
      fail(`weight_map maps tensor ${JSON.stringify(tensor)} to ${JSON.stringify(shard)}, which is not a file inside the index's folder`);
    }
    if (!shardByNormal.has(normalized)) {
      shardByNormal.set(normalized, shard as string);
      shardNames.push(shard as string);
    }
    shardOf.set(tensor, shardByNormal.get(normalized)!);
  }

  const readers: SafetensorsFile[] = [];
  const readerOf = new Map<string, SafetensorsFile>();
  try {
    for (const shard of shardNames) {
      if (!folder.has(shard)) fail(`weight_map names shard ${JSON.stringify(shard)}, but ${folder.pathOf(shard)} does not exist`);
      readers.push(openSource(folder.pathOf(shard), folder.open(shard)));
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
export function openCheckpoint(folder: ModelFolder): SafetensorsReader {
  if (folder.has(INDEX_FILE_NAME)) return openShardedIn(folder, INDEX_FILE_NAME);
  if (folder.has(SINGLE_FILE_NAME)) return openSource(folder.pathOf(SINGLE_FILE_NAME), folder.open(SINGLE_FILE_NAME));
  throw new SafetensorsError(folder.name, `holds neither ${SINGLE_FILE_NAME} nor ${INDEX_FILE_NAME}`);
}
