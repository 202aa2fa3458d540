/**
 * Packing: copying rows of A or columns of B from any strides into panels of `width`
 * vectors interleaved along k, the layout both CPU kernels read in sequence. Packing is what
 * makes a transposed, sliced, reversed or broadcast (stride 0) view cost the same as a
 * contiguous one: the caller never copies.
 */
import type { Storage } from "../dtype.js";

/**
 * Packs `count` strided vectors of length `k` into panels of `width`, interleaved along k:
 * element `p` of vector `v` goes to `dst[dstOff + floor(v / width) * width * k + p * width + v % width]`.
 * Vector `v` element `p` is `src[srcOff + v * vecStride + p * kStride]`. The last panel is
 * zero-padded to `width` vectors.
 */
export function packPanels(
  src: Storage, srcOff: number, vecStride: number, kStride: number,
  count: number, k: number, width: number, dst: Storage, dstOff: number,
): void {
  const panels = Math.ceil(count / width);
  // Read along whichever direction is closer together in memory.
  const alongK = Math.abs(kStride) <= Math.abs(vecStride);
  for (let q = 0; q < panels; q++) {
    const base = dstOff + q * width * k;
    const live = Math.min(width, count - q * width);
    if (alongK) {
      for (let v = 0; v < width; v++) {
        let d = base + v;
        if (v >= live) {
          for (let p = 0; p < k; p++, d += width) dst[d] = 0;
          continue;
        }
        let s = srcOff + (q * width + v) * vecStride;
        for (let p = 0; p < k; p++, d += width, s += kStride) dst[d] = src[s]!;
      }
    } else {
      let d = base;
      let s = srcOff + q * width * vecStride;
      for (let p = 0; p < k; p++, s += kStride) {
        for (let v = 0; v < live; v++) dst[d++] = src[s + v * vecStride]!;
        for (let v = live; v < width; v++) dst[d++] = 0;
      }
    }
  }
}
