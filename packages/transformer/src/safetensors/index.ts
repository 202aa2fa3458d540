/**
 * Reading and writing safetensors checkpoints (single files, buffers in memory, and sharded
 * folders), with every malformed file reported as a one-line {@link SafetensorsError}.
 * `portable.ts` holds the part that runs without Node's file API.
 *
 * @module
 */
export * from "./portable.js";
export { openSafetensors } from "./file.js";
export { INDEX_FILE_NAME, SINGLE_FILE_NAME, ShardedSafetensors, openShardedSafetensors, openSafetensorsFolder } from "./sharded.js";
export { writeSafetensors } from "./write-file.js";
