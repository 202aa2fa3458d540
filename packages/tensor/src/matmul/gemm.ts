/**
 * The contract every matmul backend implements: one strided product `C = A @ B` of an
 * `m x k` and a `k x n` matrix into a row-major `m x n` block of `c`.
 */
import type { Storage } from "../dtype.js";

/** One matrix product. Element (i, j) of A is `a[aOffset + i * aRowStride + j * aColStride]`. */
export interface Gemm {
  m: number;
  n: number;
  k: number;
  a: Storage;
  aOffset: number;
  aRowStride: number;
  aColStride: number;
  b: Storage;
  bOffset: number;
  bRowStride: number;
  bColStride: number;
  /** Output, written (not accumulated) row-major at `c[cOffset + i * n + j]`. */
  c: Storage;
  cOffset: number;
}

/** A matmul backend: computes a batch of independent products. */
export interface MatmulBackend {
  readonly name: string;
  /** Runs every product of the batch; products never overlap in `c`. */
  run(batch: readonly Gemm[]): void;
}

/**
 * The reference backend: a plain triple loop with float64 accumulation. Slow, obviously
 * right, and the yardstick the fast backends are tested against.
 */
export const referenceBackend: MatmulBackend = {
  name: "reference",
  run(batch) {
    for (const g of batch) {
      for (let i = 0; i < g.m; i++) {
        for (let j = 0; j < g.n; j++) {
          let acc = 0;
          let pa = g.aOffset + i * g.aRowStride;
          let pb = g.bOffset + j * g.bColStride;
          for (let p = 0; p < g.k; p++) {
            acc += g.a[pa]! * g.b[pb]!;
            pa += g.aColStride;
            pb += g.bRowStride;
          }
          g.c[g.cOffset + i * g.n + j] = acc;
        }
      }
    }
  },
};
