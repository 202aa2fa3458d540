/**
 * The WebAssembly SIMD matmul kernels, written with the emitter at load time: a register-
 * blocked micro-kernel inside a cache-blocked tile loop, in float32 (`f32x4`) and float64
 * (`f64x2`), and a task loop that threads sharing the memory run at once.
 *
 * Layout (all offsets in bytes into the one memory): A is packed into panels of `mr` rows and
 * B into panels of `nr` columns, each interleaved along k (element p of the panel's vector v
 * at `panel + (p * width + v) * size`), zero-padded to full panels. C is written row-major
 * with a row stride `ldc` in bytes, in whole `mr x nr` blocks: its rows and columns are
 * padded to multiples of the block (the caller copies out the live part).
 */
import { FunctionBuilder, Module, type Local, type MemoryImport } from "../wasm/emit.js";

/** The shape of one micro-kernel: `mr` rows of A times `nr` columns of B per step along k. */
export interface KernelGeometry {
  /** Rows of A per panel and per micro-tile. */
  mr: number;
  /** Columns of B per panel and per micro-tile (a multiple of the vector's lanes). */
  nr: number;
  /** Depth of one k block: an `nr`-column B panel slice of `kc` steps stays in L1. */
  kc: number;
}

/**
 * Float32: 4 rows x 8 columns (2 vectors of 4): 8 accumulators, 2 B vectors, a splat and a
 * product fit V8's vector registers. Measured here at 512^3 on one thread (mul + add): 4x8
 * about 35-43 GFLOP/s; 2x16 40; 4x12, 4x16, 5x8, 6x8, 8x8 and 3x12 17-27 (their accumulators
 * spill); unrolling the k loop by 2 or 4 27 (V8 hoists the loads and spills).
 */
export const F32_GEOMETRY: KernelGeometry = { mr: 4, nr: 8, kc: 256 };
/** Float64: 4 rows x 4 columns (2 vectors of 2). */
export const F64_GEOMETRY: KernelGeometry = { mr: 4, nr: 4, kc: 256 };

/** Fields of one task record (int32 each): dtype (0 f32, 1 f64), A panels, B panels, k, A panels count, B panels count, C, ldc (offsets in bytes). */
export const TASK_FIELDS = 8;

/**
 * Where the shared job state lives, in bytes. A job's tasks live in one of two arena slots;
 * the claim word holds the job's id (mod 256) in its top 8 bits and the next task to claim
 * below, so a thread still holding an old job's state can never claim a task of a newer
 * job: its compare-and-swap fails. The slot is `id & 1`; its header holds the task count.
 * A finished job is closed (next task {@link CLOSED}) before its slot is used again, so a
 * thread that looks late never reads a count the slot holds for other work.
 */
export interface JobLayout {
  /** The claim word: `(jobId << 24) | nextTask`. */
  claim: number;
  /** Tasks finished; whoever finishes the last one notifies this address. */
  done: number;
  /** Byte offset of slot 0; slot 1 follows `slotBytes` later. */
  slots: number;
  slotBytes: number;
}

/** The claim word's next task once a job is closed: no task is ever claimed from it. */
export const CLOSED = 0xffffff;

/** Bytes before a slot's task table: the task count and padding to 16 bytes. */
export const SLOT_HEADER = 16;

/** What the module is built for. */
export interface KernelOptions {
  memory: MemoryImport;
  /** Where the job state lives (for `run_tasks`, built only on shared memory). */
  jobs: JobLayout;
  /** Use `relaxed_madd` (a fused multiply-add where the hardware has one) instead of mul + add. */
  relaxed: boolean;
  f32?: KernelGeometry;
  f64?: KernelGeometry;
}

/** The exports of the kernel module. */
export interface KernelExports {
  /** One tile of C from packed panels: `tile_f32(ap, bp, k, aPanels, bPanels, c, ldc)`. */
  tile_f32(ap: number, bp: number, k: number, aPanels: number, bPanels: number, c: number, ldc: number): void;
  tile_f64(ap: number, bp: number, k: number, aPanels: number, bPanels: number, c: number, ldc: number): void;
  /** Claims and computes tasks of the current job until none are left (shared memory only); returns how many this thread ran. */
  run_tasks?(): number;
  /** `dot_<dtype>(x, rows, ld, count, depth, y)`: a row vector times a matrix with contiguous columns (see {@link dotFunction}). */
  dot_f32(x: number, rows: number, ld: number, count: number, depth: number, y: number): void;
  dot_f64(x: number, rows: number, ld: number, count: number, depth: number, y: number): void;
  /** `axpy_<dtype>(xs, rows, ld, count, depth, y)`: y plus a combination of contiguous rows (see {@link axpyFunction}). */
  axpy_f32(xs: number, rows: number, ld: number, count: number, depth: number, y: number): void;
  axpy_f64(xs: number, rows: number, ld: number, count: number, depth: number, y: number): void;
  /** Packers by name, one per dtype, panel width and layout (see {@link packRowsFunction}). */
  [packer: PackerName]: ((src: number, ld: number, count: number, depth: number, dst: number, panelStride?: number) => void) | undefined;
}

/** `for (i = from; i < to; i += step) body()`, with the test at the bottom and one up front. */
function forRange(f: FunctionBuilder, i: Local, from: number | Local, to: Local, step: number, body: () => void): void {
  if (typeof from === "number") f.i32(from);
  else f.get(from);
  f.set(i);
  f.block((exit) => {
    f.get(i).get(to).op("i32.ge_s").brIf(exit);
    f.loop((top) => {
      body();
      f.get(i).i32(step).op("i32.add").tee(i).get(to).op("i32.lt_s").brIf(top);
    });
  });
}

/**
 * `tile_<dtype>(ap, bp, k, aPanels, bPanels, c, ldc)`: for each k block of `kc`, for each B
 * panel, for each A panel, the micro-kernel adds `A panel x B panel` over the block into an
 * `mr x nr` block of C (the first k block stores instead of adding). The B panel slice stays
 * in L1 while the tile's A panels stream past it from L2.
 */
function tileFunction(dtype: "f32" | "f64", g: KernelGeometry, relaxed: boolean): FunctionBuilder {
  const size = dtype === "f32" ? 4 : 8;
  const lanes = 16 / size;
  const vectors = g.nr / lanes;
  const splat = dtype === "f32" ? "v128.load32_splat" : "v128.load64_splat";
  const add = dtype === "f32" ? "f32x4.add" : "f64x2.add";
  const mul = dtype === "f32" ? "f32x4.mul" : "f64x2.mul";
  const madd = dtype === "f32" ? "f32x4.relaxed_madd" : "f64x2.relaxed_madd";
  const f = new FunctionBuilder(`tile_${dtype}`, ["i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [ap, bp, k, aPanels, bPanels, c, ldc] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
  const [pc, kc, jr, ir, pa, pb, end, crow] = f.localList("i32", 8) as [Local, Local, Local, Local, Local, Local, Local, Local];
  const a = f.local("v128");
  const b = f.localList("v128", vectors);
  const acc = Array.from({ length: g.mr }, () => f.localList("v128", vectors));

  // One step along k: acc[r][v] += a[r] * b[v].
  const step = (): void => {
    for (let v = 0; v < vectors; v++) f.get(pb).mem("v128.load", v * lanes * size).set(b[v]!);
    for (let r = 0; r < g.mr; r++) {
      f.get(pa).mem(splat, r * size).set(a);
      for (let v = 0; v < vectors; v++) {
        if (relaxed) f.get(a).get(b[v]!).get(acc[r]![v]!).op(madd);
        else f.get(acc[r]![v]!).get(a).get(b[v]!).op(mul).op(add);
        f.set(acc[r]![v]!);
      }
    }
  };

  forRange(f, pc, 0, k, g.kc, () => {
    // kc = min(g.kc, k - pc)
    f.i32(g.kc).get(k).get(pc).op("i32.sub").tee(kc).get(kc).i32(g.kc).op("i32.gt_s").op("select").set(kc);
    forRange(f, jr, 0, bPanels, 1, () => {
      forRange(f, ir, 0, aPanels, 1, () => {
        // pa = ap + (ir * mr * k + pc * mr) * size; pb = bp + (jr * nr * k + pc * nr) * size
        f.get(ap).get(ir).get(k).op("i32.mul").get(pc).op("i32.add").i32(g.mr * size).op("i32.mul").op("i32.add").set(pa);
        f.get(bp).get(jr).get(k).op("i32.mul").get(pc).op("i32.add").i32(g.nr * size).op("i32.mul").op("i32.add").set(pb);
        for (const row of acc) for (const x of row) f.f64(0).op("f64x2.splat").set(x);
        // end = pa + kc * mr * size
        f.get(pa).get(kc).i32(g.mr * size).op("i32.mul").op("i32.add").set(end);
        f.loop((top) => {
          step();
          f.get(pa).i32(g.mr * size).op("i32.add").set(pa);
          f.get(pb).i32(g.nr * size).op("i32.add").set(pb);
          f.get(pa).get(end).op("i32.lt_s").brIf(top);
        });
        // crow = c + ir * mr * ldc + jr * nr * size; store (first k block) or add into C.
        f.get(c).get(ir).i32(g.mr).op("i32.mul").get(ldc).op("i32.mul").op("i32.add").get(jr).i32(g.nr * size).op("i32.mul").op("i32.add").set(crow);
        const store = (accumulate: boolean): void => {
          for (let r = 0; r < g.mr; r++) {
            for (let v = 0; v < vectors; v++) {
              f.get(crow);
              if (accumulate) f.get(crow).mem("v128.load", v * 16).get(acc[r]![v]!).op(add);
              else f.get(acc[r]![v]!);
              f.mem("v128.store", v * 16);
            }
            if (r + 1 < g.mr) f.get(crow).get(ldc).op("i32.add").set(crow);
          }
        };
        f.get(pc).op("i32.eqz").if(() => store(false), () => store(true));
      });
    });
  });
  return f;
}

/** Pushes a zero of the dtype. */
function pushZero(f: FunctionBuilder, dtype: "f32" | "f64"): FunctionBuilder {
  return dtype === "f32" ? f.f32(0) : f.f64(0);
}

/** The operand layouts the packers read: `rows`, each vector contiguous along k; `cols`, the vectors side by side. */
export type RawLayout = "rows" | "cols";

/** The name of a packer export: `pack_rows_f32_8` packs rows of float32 into panels of 8. */
export type PackerName = `pack_${RawLayout}_${"f32" | "f64"}_${number}`;

/**
 * `pack_rows_<dtype>_<width>(src, ld, count, depth, dst)`: packs `count` vectors of `depth`
 * elements, vector v at `src + v * ld` (elements contiguous), into panels of `width` at `dst`,
 * interleaved along k (element p of vector v at panel `floor(v / width)`, `p * width + v % width`);
 * the last panel zero-padded. Offsets in bytes, `ld` in elements.
 */
function packRowsFunction(dtype: "f32" | "f64", width: number): FunctionBuilder {
  const size = dtype === "f32" ? 4 : 8;
  const load = dtype === "f32" ? "f32.load" : "f64.load";
  const store = dtype === "f32" ? "f32.store" : "f64.store";
  const f = new FunctionBuilder(`pack_rows_${dtype}_${width}`, ["i32", "i32", "i32", "i32", "i32"]);
  const [src, ld, count, depth, dst] = f.params as Local[] as [Local, Local, Local, Local, Local];
  const [vectors, v, p, s, d] = f.localList("i32", 5) as [Local, Local, Local, Local, Local];
  // vectors = count rounded up to whole panels
  f.get(count).i32(width - 1).op("i32.add").i32(width).op("i32.div_s").i32(width).op("i32.mul").set(vectors);
  forRange(f, v, 0, vectors, 1, () => {
    // d = dst + ((v / width) * width * depth + v % width) * size
    f.get(dst).get(v).i32(width).op("i32.div_s").i32(width).op("i32.mul").get(depth).op("i32.mul");
    f.get(v).i32(width).op("i32.rem_s").op("i32.add").i32(size).op("i32.mul").op("i32.add").set(d);
    f.get(src).get(v).get(ld).op("i32.mul").i32(size).op("i32.mul").op("i32.add").set(s);
    f.get(v).get(count).op("i32.lt_s").if(
      () => forRange(f, p, 0, depth, 1, () => {
        f.get(d).get(s).mem(load).mem(store);
        f.get(d).i32(width * size).op("i32.add").set(d);
        f.get(s).i32(size).op("i32.add").set(s);
      }),
      () => forRange(f, p, 0, depth, 1, () => {
        pushZero(f.get(d), dtype).mem(store);
        f.get(d).i32(width * size).op("i32.add").set(d);
      }),
    );
  });
  return f;
}

/**
 * `pack_cols_<dtype>_<width>(src, ld, count, depth, dst, panelStride)`: the same panels from
 * vectors side by side (element p of vector v at `src + p * ld + v`), so each step of a
 * panel is one contiguous run of `width`; panel q starts at `dst + q * panelStride` (bytes),
 * which lets a caller pack a block of k at a time.
 */
function packColsFunction(dtype: "f32" | "f64", width: number): FunctionBuilder {
  const size = dtype === "f32" ? 4 : 8;
  const load = dtype === "f32" ? "f32.load" : "f64.load";
  const store = dtype === "f32" ? "f32.store" : "f64.store";
  const f = new FunctionBuilder(`pack_cols_${dtype}_${width}`, ["i32", "i32", "i32", "i32", "i32", "i32"]);
  const [src, ld, count, depth, dst, panelStride] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
  const [q, panels, live, p, v, s, d] = f.localList("i32", 7) as [Local, Local, Local, Local, Local, Local, Local];
  f.get(count).i32(width - 1).op("i32.add").i32(width).op("i32.div_s").set(panels);
  forRange(f, q, 0, panels, 1, () => {
    // live = min(width, count - q * width)
    f.i32(width).get(count).get(q).i32(width).op("i32.mul").op("i32.sub").tee(live).get(live).i32(width).op("i32.gt_s").op("select").set(live);
    f.get(dst).get(q).get(panelStride).op("i32.mul").op("i32.add").set(d);
    f.get(src).get(q).i32(width * size).op("i32.mul").op("i32.add").set(s);
    forRange(f, p, 0, depth, 1, () => {
      f.get(live).i32(width).op("i32.eq").if(
        () => {
          for (let o = 0; o < width * size; o += 16) f.get(d).get(s).mem("v128.load", o).mem("v128.store", o);
        },
        () => {
          forRange(f, v, 0, live, 1, () => {
            f.at(d, v, size);
            f.at(s, v, size).mem(load);
            f.mem(store);
          });
          for (let o = 0; o < width; o++) {
            // Zero the padding lanes: lane o is padding when o >= live.
            f.i32(o).get(live).op("i32.ge_s").if(() => void pushZero(f.get(d), dtype).mem(store, o * size));
          }
        },
      );
      f.get(d).i32(width * size).op("i32.add").set(d);
      f.at(s, ld, size).set(s);
    });
  });
  return f;
}

/**
 * `dot_<dtype>(x, rows, ld, count, depth, y)`: `y[j] = sum_p x[p] * rows[j * ld + p]` for
 * j < count: a row vector times a matrix whose columns are contiguous (offsets in bytes, `ld`
 * in elements). SIMD along p, two vectors at a time, the rest one element at a time.
 */
function dotFunction(dtype: "f32" | "f64"): FunctionBuilder {
  const { f, size, lanes, t, params: [x, rows, ld, count, depth, y] } = vectorKernel("dot", dtype);
  const [j, p, row, vectorEnd] = f.localList("i32", 4) as [Local, Local, Local, Local];
  const [acc0, acc1] = f.localList("v128", 2) as [Local, Local];
  const sum = f.local(dtype);
  // vectorEnd = depth rounded down to whole pairs of vectors
  f.get(depth).i32(-2 * lanes).op("i32.and").set(vectorEnd);
  forRange(f, j, 0, count, 1, () => {
    f.get(rows).get(j).get(ld).op("i32.mul").i32(size).op("i32.mul").op("i32.add").set(row);
    f.f64(0).op("f64x2.splat").tee(acc0).set(acc1);
    forRange(f, p, 0, vectorEnd, 2 * lanes, () => {
      for (const [acc, o] of [[acc0, 0], [acc1, 16]] as const) {
        f.get(acc).at(x, p, size).mem("v128.load", o);
        f.at(row, p, size).mem("v128.load", o).op(t.mul).op(t.add).set(acc);
      }
    });
    f.get(acc0).get(acc1).op(t.add).set(acc0);
    f.get(acc0).lane(t.extract, 0);
    for (let lane = 1; lane < lanes; lane++) f.get(acc0).lane(t.extract, lane).op(t.scalarAdd);
    f.set(sum);
    forRange(f, p, vectorEnd, depth, 1, () => {
      f.get(sum).at(x, p, size).mem(t.load);
      f.at(row, p, size).mem(t.load).op(t.scalarMul).op(t.scalarAdd).set(sum);
    });
    f.at(y, j, size).get(sum).mem(t.store);
  });
  return f;
}

/**
 * `axpy_<dtype>(xs, rows, ld, count, depth, y)`: `y[j] += sum_r xs[r] * rows[r * ld + j]` for
 * j < count: a combination of `depth` rows (each contiguous), row by row. SIMD along j.
 */
function axpyFunction(dtype: "f32" | "f64"): FunctionBuilder {
  const { f, size, lanes, t, params: [xs, rows, ld, count, depth, y] } = vectorKernel("axpy", dtype);
  const [r, j, row, vectorEnd, at] = f.localList("i32", 5) as [Local, Local, Local, Local, Local];
  const scale = f.local("v128");
  const scalar = f.local(dtype);
  f.get(count).i32(-lanes).op("i32.and").set(vectorEnd);
  forRange(f, r, 0, depth, 1, () => {
    f.get(rows).get(r).get(ld).op("i32.mul").i32(size).op("i32.mul").op("i32.add").set(row);
    f.at(xs, r, size).mem(t.load).tee(scalar).op(t.splat).set(scale);
    forRange(f, j, 0, vectorEnd, lanes, () => {
      f.at(y, j, size).tee(at);
      f.get(at).mem("v128.load");
      f.at(row, j, size).mem("v128.load").get(scale).op(t.mul).op(t.add).mem("v128.store");
    });
    forRange(f, j, vectorEnd, count, 1, () => {
      f.at(y, j, size).tee(at);
      f.get(at).mem(t.load);
      f.at(row, j, size).mem(t.load).get(scalar).op(t.scalarMul).op(t.scalarAdd).mem(t.store);
    });
  });
  return f;
}

/** A vector kernel `<name>_<dtype>(a, rows, ld, count, depth, y)`, its element size, lanes and instructions. */
function vectorKernel(name: string, dtype: "f32" | "f64") {
  const size = dtype === "f32" ? 4 : 8;
  const f = new FunctionBuilder(`${name}_${dtype}`, ["i32", "i32", "i32", "i32", "i32", "i32"]);
  return { f, size, lanes: 16 / size, t: simdOps(dtype), params: f.params as Local[] as [Local, Local, Local, Local, Local, Local] };
}

/** The instructions of one dtype. */
function simdOps(dtype: "f32" | "f64") {
  return dtype === "f32"
    ? { add: "f32x4.add", mul: "f32x4.mul", splat: "f32x4.splat", extract: "f32x4.extract_lane", scalarAdd: "f32.add", scalarMul: "f32.mul", load: "f32.load", store: "f32.store" } as const
    : { add: "f64x2.add", mul: "f64x2.mul", splat: "f64x2.splat", extract: "f64x2.extract_lane", scalarAdd: "f64.add", scalarMul: "f64.mul", load: "f64.load", store: "f64.store" } as const;
}

/**
 * `run_tasks()`: claims tasks of the current job with a compare-and-swap on the claim word
 * until none are left, computes each with the tile function of its dtype, and counts it done;
 * the thread that finishes the last task wakes whoever waits on the done counter. Returns the
 * number of tasks this thread ran (the pool's statistics).
 */
function runTasksFunction(jobs: JobLayout, tileF32: number, tileF64: number): FunctionBuilder {
  const f = new FunctionBuilder("run_tasks", [], ["i32"]);
  const [cur, slot, total, r, ran] = f.localList("i32", 5) as [Local, Local, Local, Local, Local];
  f.loop((top) => {
    f.i32(jobs.claim).mem("i32.atomic.load").set(cur);
    // A closed job: its slot may already hold other work, so its header is not read.
    f.get(cur).i32(CLOSED).op("i32.and").i32(CLOSED).op("i32.eq").if(() => void f.get(ran).return());
    // slot = slots + (jobId & 1) * slotBytes; total = its task count
    f.i32(jobs.slots).get(cur).i32(24).op("i32.shr_u").i32(1).op("i32.and").i32(jobs.slotBytes).op("i32.mul").op("i32.add").tee(slot);
    f.mem("i32.load").set(total);
    f.get(cur).i32(0xffffff).op("i32.and").get(total).op("i32.ge_u").if(() => void f.get(ran).return());
    f.i32(jobs.claim).get(cur).get(cur).i32(1).op("i32.add").mem("i32.atomic.rmw.cmpxchg").get(cur).op("i32.ne").brIf(top);
    // r = slot + SLOT_HEADER + task * TASK_FIELDS * 4
    f.get(slot).get(cur).i32(0xffffff).op("i32.and").i32(TASK_FIELDS * 4).op("i32.mul").op("i32.add").set(r);
    const call = (tile: number): void => {
      for (let field = 1; field < TASK_FIELDS; field++) f.get(r).mem("i32.load", SLOT_HEADER + field * 4);
      f.call(tile);
    };
    f.get(r).mem("i32.load", SLOT_HEADER).op("i32.eqz").if(() => call(tileF32), () => call(tileF64));
    // if (atomic done++ + 1 === total) notify(done)
    f.i32(jobs.done).i32(1).mem("i32.atomic.rmw.add").i32(1).op("i32.add").get(total).op("i32.eq");
    f.if(() => void f.i32(jobs.done).i32(1 << 30).mem("memory.atomic.notify").op("drop"));
    f.get(ran).i32(1).op("i32.add").set(ran);
    f.br(top);
  });
  // Never reached (the loop only leaves by return), but the validator wants the result here.
  f.get(ran);
  return f;
}

/**
 * The matmul kernel modules' binaries: the tiles and the task loop (the module worker threads
 * instantiate), then the packers and the vector kernels. Two modules because Chrome compiles a
 * module synchronously on a page's main thread only up to 4 KiB.
 */
export function matmulModules(options: KernelOptions): Uint8Array<ArrayBuffer>[] {
  const tiles = new Module(options.memory);
  const tileF32 = tiles.add(tileFunction("f32", options.f32 ?? F32_GEOMETRY, options.relaxed));
  const tileF64 = tiles.add(tileFunction("f64", options.f64 ?? F64_GEOMETRY, options.relaxed));
  if (options.memory.shared) tiles.add(runTasksFunction(options.jobs, tileF32, tileF64));
  const packing = new Module(options.memory);
  for (const [dtype, g] of [["f32", options.f32 ?? F32_GEOMETRY], ["f64", options.f64 ?? F64_GEOMETRY]] as const) {
    for (const width of new Set([g.mr, g.nr])) {
      packing.add(packRowsFunction(dtype, width));
      packing.add(packColsFunction(dtype, width));
    }
    packing.add(dotFunction(dtype));
    packing.add(axpyFunction(dtype));
  }
  return [tiles.bytes(), packing.bytes()];
}
