/**
 * Element types. Models run in float32; gradient checks run in float64, where central
 * finite differences are accurate enough to catch a wrong backward.
 */
export type DType = "float32" | "float64";

/** The typed array that backs a tensor of each dtype. */
export type Storage = Float32Array | Float64Array;

/** A new zero-filled storage of `length` elements. */
export function allocate(dtype: DType, length: number): Storage {
  return dtype === "float32" ? new Float32Array(length) : new Float64Array(length);
}

/** The dtype of a storage array. */
export function dtypeOf(storage: Storage): DType {
  return storage instanceof Float64Array ? "float64" : "float32";
}

/** The dtype of a result that mixes `a` and `b`: float64 wins, as in NumPy. */
export function promote(a: DType, b: DType): DType {
  return a === "float64" || b === "float64" ? "float64" : "float32";
}
