/**
 * Reading and writing safetensors checkpoints (single files, buffers in memory, and sharded
 * folders), with every malformed file reported as a one-line {@link SafetensorsError}.
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
export type { ReadOptions } from "./read-tensor.js";
export { SafetensorsFile, parseSafetensors, type SafetensorsReader } from "./reader.js";
export { openSafetensors } from "./file.js";
export { INDEX_FILE_NAME, SINGLE_FILE_NAME, ShardedSafetensors, openShardedSafetensors, openSafetensorsFolder } from "./sharded.js";
export {
  serializeSafetensors,
  writeSafetensors,
  type RawTensorData,
  type SafetensorsWriteDType,
  type TensorsToWrite,
  type WriteOptions,
} from "./writer.js";
