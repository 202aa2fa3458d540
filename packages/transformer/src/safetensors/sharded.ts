/**
 * Sharded checkpoints: `model.safetensors.index.json` (`{"metadata": {...}, "weight_map":
 * {tensorName: shardFile}}`) next to the shard files, presented as one reader; and
 * {@link openCheckpoint}, which opens whichever form a model folder holds. Both read through
 * a {@link ModelFolder}, so they work on disk and in memory alike.
 */
import { FileFormatError, type Tensor, quote } from "@gim/tensor";
import { normalizeFileName, readText, type ModelFolder } from "../folder.js";
import { SafetensorsError, describeError } from "./error.js";
import { parseJsonText } from "../json-text.js";
import { isPlainObject, kindOf, type SafetensorsEntry } from "./header.js";
import type { ByteSource, ReadOptions } from "./read-tensor.js";
import { openSource, type SafetensorsFile, type SafetensorsReader } from "./reader.js";

/** The file name of a single-file checkpoint in a model folder. */
export const SINGLE_FILE_NAME = "model.safetensors";
/** The file name of a sharded checkpoint's index in a model folder. */
export const INDEX_FILE_NAME = "model.safetensors.index.json";

/**
 * Limits on a sharded checkpoint, checked before the shards are opened or as their headers
 * are read: the index file's size (DeepSeek-V3's, of 91,000 tensors, is 9 MB), the number of
 * shard files (the largest published models have a few hundred), and the bytes of all the
 * shards' headers together (DeepSeek-V3's: 14 MB).
 */
export const shardedLimits = { indexBytes: 32_000_000, shards: 4096, headerBytes: 32_000_000 } as const;

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
      throw new SafetensorsError(this.file, `no tensor named ${quote(name)} in weight_map (${this.order.length} tensors in ${this.readers.length} shards)`);
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
 * The bytes of one shard, opened only while they are read: a checkpoint of thousands of shards
 * holds no file open between reads (and cannot run out of file descriptors). A shard whose
 * size changes after its header was read is an error. Sources in memory are used as they are.
 */
function shardSource(folder: ModelFolder, shard: string): ByteSource {
  const opened = folder.open(shard);
  if (opened.view) return opened;
  const size = opened.size;
  opened.close();
  return {
    size,
    readInto(target, position, what) {
      const source = folder.open(shard);
      try {
        if (source.size !== size) throw new SafetensorsError(folder.pathOf(shard), `changed from ${size} to ${source.size} bytes while it was open`);
        source.readInto(target, position, what);
      } finally {
        source.close();
      }
    },
    close() {},
  };
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
    text = readText(folder, indexFile, shardedLimits.indexBytes);
  } catch (error) {
    fail(error instanceof FileFormatError ? error.problem : `cannot read the index: ${describeError(error)}`);
  }
  const json = parseJsonText(text, fail, (error) => fail(`index is not valid JSON (${describeError(error)})`));
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
    if (typeof shard !== "string") fail(`weight_map maps tensor ${quote(tensor)} to ${kindOf(shard)}, not a shard file name`);
    const normalized = normalizeFileName(shard as string);
    if (normalized === undefined) {
      fail(`weight_map maps tensor ${quote(tensor)} to ${quote(shard)}, which is not a file inside the index's folder`);
    }
    if (!shardByNormal.has(normalized)) {
      shardByNormal.set(normalized, shard as string);
      shardNames.push(shard as string);
    }
    shardOf.set(tensor, shardByNormal.get(normalized)!);
  }

  if (shardNames.length > shardedLimits.shards) fail(`weight_map names ${shardNames.length} shard files; at most ${shardedLimits.shards}`);

  const readers: SafetensorsFile[] = [];
  const readerOf = new Map<string, SafetensorsFile>();
  let headerBytes = 0;
  try {
    for (const shard of shardNames) {
      if (!folder.has(shard)) fail(`weight_map names shard ${quote(shard)}, but ${folder.pathOf(shard)} does not exist`);
      const reader = openSource(folder.pathOf(shard), shardSource(folder, shard));
      readers.push(reader);
      headerBytes += reader.headerLength;
      if (headerBytes > shardedLimits.headerBytes) fail(`the shards' headers together are over ${shardedLimits.headerBytes} bytes (at shard ${quote(shard)})`);
    }
    const readerByShard = new Map(shardNames.map((shard, i) => [shard, readers[i]!]));
    for (const [tensor, shard] of shardOf) {
      const reader = readerByShard.get(shard)!;
      if (!reader.has(tensor)) fail(`weight_map puts tensor ${quote(tensor)} in shard ${quote(shard)}, which does not hold it`);
      readerOf.set(tensor, reader);
    }
    for (const [i, reader] of readers.entries()) {
      for (const tensor of reader.names()) {
        const owner = readerOf.get(tensor);
        if (owner === reader) continue;
        if (owner) {
          fail(`tensor ${quote(tensor)} is in two shards, ${quote(shardNames[readers.indexOf(owner)])} and ${quote(shardNames[i])}`);
        }
        fail(`shard ${quote(shardNames[i])} holds tensor ${quote(tensor)}, which weight_map does not list`);
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
