/**
 * The TypeScript matmul kernel, the fallback where WebAssembly SIMD is missing: the 4x4
 * register-blocked micro-kernel over panels packed as float64 (see `pack.ts`), and the
 * cache-blocked tile loop around it. Sums are float64 whatever the dtype.
 */

/** Rows of A per packed panel and per micro-tile (the micro-kernel is MR x NR). */
export const MR = 4;
/** Columns of B per packed panel and per micro-tile. */
export const NR = 4;
/** Depth of one k block inside `computeTile`: a 4-column B panel slice of KC rows (8 KiB) stays in L1. */
export const KC = 256;
/** Largest tile of C one `computeTile` call computes: MC rows x NC columns (a 128 KiB float64 accumulator). */
export const MC = 64;
/** See {@link MC}. */
export const NC = 256;

/**
 * The micro-kernel: `C[cOff + i * ldc + j] += sum_p Ap[pa + 4p + i] * Bp[pb + 4p + j]`
 * for a 4x4 tile over `kc` steps. The 16 sums live in local variables (registers or stack
 * slots, not memory V8 must re-check), which is what makes this fast.
 */
export function microKernel4x4(
  Ap: Float64Array, pa: number, Bp: Float64Array, pb: number, kc: number,
  C: Float64Array, cOff: number, ldc: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = Ap[pa]!, a1 = Ap[pa + 1]!, a2 = Ap[pa + 2]!, a3 = Ap[pa + 3]!;
    const b0 = Bp[pb]!, b1 = Bp[pb + 1]!, b2 = Bp[pb + 2]!, b3 = Bp[pb + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    pa += 4;
    pb += 4;
  }
  let c = cOff;
  C[c] += c00; C[c + 1] += c01; C[c + 2] += c02; C[c + 3] += c03;
  c += ldc;
  C[c] += c10; C[c + 1] += c11; C[c + 2] += c12; C[c + 3] += c13;
  c += ldc;
  C[c] += c20; C[c + 1] += c21; C[c + 2] += c22; C[c + 3] += c23;
  c += ldc;
  C[c] += c30; C[c + 1] += c31; C[c + 2] += c32; C[c + 3] += c33;
}

/**
 * One tile of C from packed panels: `mPanels` A panels starting at `apOff` and
 * `nPanels` B panels starting at `bpOff`, all of depth `k`. The float64 sums go to
 * `acc[0 .. 4 mPanels * 4 nPanels)` row-major (overwritten). Blocked over k by 256 so one B
 * panel slice stays in L1 while every A panel of the tile streams past it from L2.
 */
export function computeTile(
  Ap: Float64Array, apOff: number, Bp: Float64Array, bpOff: number, k: number,
  mPanels: number, nPanels: number, acc: Float64Array,
): void {
  const ldc = nPanels * 4;
  acc.fill(0, 0, mPanels * 4 * ldc);
  for (let pc = 0; pc < k; pc += 256) {
    const kc = Math.min(256, k - pc);
    for (let jr = 0; jr < nPanels; jr++) {
      const pb = bpOff + jr * 4 * k + pc * 4;
      for (let ir = 0; ir < mPanels; ir++) {
        microKernel4x4(Ap, apOff + ir * 4 * k + pc * 4, Bp, pb, kc, acc, ir * 4 * ldc + jr * 4, ldc);
      }
    }
  }
}

/**
 * Writes the top-left `rows x cols` of a tile accumulator (row length `ldAcc`)
 * to `out[outOff + i * ldOut + j]`, rounding to the output's dtype.
 */
export function storeTile(
  acc: Float64Array, ldAcc: number, rows: number, cols: number,
  out: Float32Array | Float64Array, outOff: number, ldOut: number,
): void {
  for (let i = 0; i < rows; i++) {
    const s = i * ldAcc;
    const d = outOff + i * ldOut;
    for (let j = 0; j < cols; j++) out[d + j] = acc[s + j]!;
  }
}

