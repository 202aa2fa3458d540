/**
 * The part of the safetensors module that needs no Node APIs (for browsers): parsing bytes in
 * memory, serializing to bytes, the dtype conversions and the error type.
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
export { serializeSafetensors, type RawTensorData, type SafetensorsWriteDType, type TensorsToWrite, type WriteOptions } from "./writer.js";
