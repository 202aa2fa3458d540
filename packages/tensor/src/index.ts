/**
 * `@gim/tensor`: strided float32/float64 tensors, views without copies, elementwise and
 * reduction kernels with NumPy broadcasting, gathering, seeded random numbers and matmul.
 *
 * Every function takes tensors and returns new tensors (or views); nothing mutates its inputs.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./dtype.js";
export * from "./shape.js";
export * from "./tensor.js";
export * from "./finite.js";
export * from "./format.js";
export * from "./views.js";
export * from "./elementwise.js";
export * from "./reduce.js";
export * from "./indexing.js";
export * from "./random.js";
export * from "./activation.js";
export * from "./norm.js";
export * from "./softmax.js";
export * from "./matmul/gemm.js";
export * from "./matmul/matmul.js";
