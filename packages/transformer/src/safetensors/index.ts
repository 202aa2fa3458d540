/**
 * Reading and writing safetensors checkpoints (buffers in memory, and single or sharded
 * checkpoints in any `ModelFolder`), with every malformed file reported as a one-line
 * {@link SafetensorsError}. Reading and writing files on disk is in `@gim/transformer/node`.
 *
 * @module
 */
export { SafetensorsError } from "./error.js";
export {
  DTYPE_BITS,
  LOADABLE_DTYPES,
  bfloat16Bits,
  bfloat16Value,
  float16Bits,
  float16Value,
  isLoadableDType,
  isSafetensorsDType,
  type SafetensorsDType,
} from "./dtypes.js";
export { MAX_HEADER_BYTES, type SafetensorsEntry } from "./header.js";
export type { ByteSource, ReadOptions } from "./read-tensor.js";
export { SafetensorsFile, openSource, parseSafetensors, type SafetensorsReader } from "./reader.js";
export { serializeSafetensors, type RawTensorData, type SafetensorsWriteDType, type TensorsToWrite, type WriteOptions } from "./writer.js";
export { INDEX_FILE_NAME, SINGLE_FILE_NAME, ShardedSafetensors, openCheckpoint, openShardedIn, shardedLimits } from "./sharded.js";
