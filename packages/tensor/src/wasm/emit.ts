/**
 * A small typed WebAssembly emitter: enough of the binary format to write the matmul and
 * row kernels of this package at load time, as gpu.js writes its shaders. A module imports
 * one memory (`env.memory`, shared or not) and exports functions; a function is built by
 * pushing instructions onto a stack machine, with structured control flow through labels.
 *
 * Only the instructions the kernels use are here; each carries its opcode from the spec
 * (core, SIMD `0xfd`, threads `0xfe`). Nothing is interpreted: `Module.bytes()` returns the
 * binary that `WebAssembly.Module` compiles, and the engine validates it.
 */

/** A value type of WebAssembly. */
export type ValueType = "i32" | "f32" | "f64" | "v128";

const TYPE_CODE: Record<ValueType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128. */
function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function name(out: number[], text: string): void {
  const bytes = new TextEncoder().encode(text);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** Operators without immediates, by their text-format name. */
const PLAIN = {
  "drop": [0x1a],
  "select": [0x1b],
  "i32.eqz": [0x45],
  "i32.eq": [0x46],
  "i32.ne": [0x47],
  "i32.lt_s": [0x48],
  "i32.lt_u": [0x49],
  "i32.gt_s": [0x4a],
  "i32.le_s": [0x4c],
  "i32.ge_s": [0x4e],
  "i32.ge_u": [0x4f],
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "i32.mul": [0x6c],
  "i32.div_s": [0x6d],
  "i32.rem_s": [0x6f],
  "i32.and": [0x71],
  "i32.or": [0x72],
  "i32.shl": [0x74],
  "i32.shr_s": [0x75],
  "i32.shr_u": [0x76],
  "f32.neg": [0x8c],
  "f32.add": [0x92],
  "f32.sub": [0x93],
  "f32.mul": [0x94],
  "f32.div": [0x95],
  "f32.max": [0x97],
  "f64.add": [0xa0],
  "f64.sub": [0xa1],
  "f64.mul": [0xa2],
  "f64.div": [0xa3],
  "f64.max": [0xa5],
  "f32.demote_f64": [0xb6],
  "f64.promote_f32": [0xbb],
  "i32x4.splat": [0xfd, 0x11],
  "f32x4.splat": [0xfd, 0x13],
  "f32x4.nearest": [0xfd, 0x6a],
  "f32x4.neg": [0xfd, 0xe1, 0x01],
  "f32x4.min": [0xfd, 0xe8, 0x01],
  "i32x4.shl": [0xfd, 0xab, 0x01],
  "i32x4.add": [0xfd, 0xae, 0x01],
  "i32x4.trunc_sat_f32x4_s": [0xfd, 0xf8, 0x01],
  "f64x2.splat": [0xfd, 0x14],
  "f32x4.add": [0xfd, 0xe4, 0x01],
  "f32x4.sub": [0xfd, 0xe5, 0x01],
  "f32x4.mul": [0xfd, 0xe6, 0x01],
  "f32x4.div": [0xfd, 0xe7, 0x01],
  "f32x4.max": [0xfd, 0xe9, 0x01],
  "f64x2.add": [0xfd, 0xf0, 0x01],
  "f64x2.sub": [0xfd, 0xf1, 0x01],
  "f64x2.mul": [0xfd, 0xf2, 0x01],
  "f64x2.div": [0xfd, 0xf3, 0x01],
  "f64x2.max": [0xfd, 0xf5, 0x01],
  // Relaxed SIMD: a * b + c, fused or not as the hardware prefers. Feature-detect before use.
  "f32x4.relaxed_madd": [0xfd, 0x85, 0x02],
  "f64x2.relaxed_madd": [0xfd, 0x87, 0x02],
} as const satisfies Record<string, readonly number[]>;

/** An operator without immediates, e.g. `"f32x4.add"`. */
export type PlainOp = keyof typeof PLAIN;

/** Memory loads and stores: opcode bytes and natural alignment (log2 of bytes). */
const MEMORY = {
  "i32.load": [[0x28], 2],
  "f32.load": [[0x2a], 2],
  "f64.load": [[0x2b], 3],
  "i32.store": [[0x36], 2],
  "f32.store": [[0x38], 2],
  "f64.store": [[0x39], 3],
  "v128.load": [[0xfd, 0x00], 4],
  "v128.load32_splat": [[0xfd, 0x09], 2],
  "v128.load64_splat": [[0xfd, 0x0a], 3],
  "v128.store": [[0xfd, 0x0b], 4],
  "i32.atomic.load": [[0xfe, 0x10], 2],
  "i32.atomic.store": [[0xfe, 0x17], 2],
  "i32.atomic.rmw.add": [[0xfe, 0x1e], 2],
  "i32.atomic.rmw.cmpxchg": [[0xfe, 0x48], 2],
  "memory.atomic.notify": [[0xfe, 0x00], 2],
} as const satisfies Record<string, readonly [readonly number[], number]>;

/** A memory access, e.g. `"v128.load"`. */
export type MemoryOp = keyof typeof MEMORY;

/** Extracting one lane of a vector. */
const LANE = { "f32x4.extract_lane": [0xfd, 0x1f], "f64x2.extract_lane": [0xfd, 0x21] } as const;

/** A local variable (parameters are locals too). */
export interface Local {
  readonly index: number;
  readonly type: ValueType;
}

/** A branch target made by `block`, `loop` or `if`. */
export interface Label {
  readonly depth: number;
}

/** Builds one function body; every instruction method returns `this`, so they chain. */
export class FunctionBuilder {
  /** The parameters, as locals 0..n-1. */
  readonly params: readonly Local[];
  private readonly locals: ValueType[] = [];
  private readonly code: number[] = [];
  private depth = 0;

  constructor(
    readonly name: string,
    readonly paramTypes: readonly ValueType[],
    readonly resultTypes: readonly ValueType[] = [],
  ) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  /** A new local of `type`, zero-initialised at every call. */
  local(type: ValueType): Local {
    this.locals.push(type);
    return { index: this.paramTypes.length + this.locals.length - 1, type };
  }

  /** `count` new locals of `type`. */
  localList(type: ValueType, count: number): Local[] {
    return Array.from({ length: count }, () => this.local(type));
  }

  op(operator: PlainOp): this {
    this.code.push(...PLAIN[operator]);
    return this;
  }

  /** A load or store at the address on the stack plus a constant byte `offset`. */
  mem(operator: MemoryOp, offset = 0): this {
    const [bytes, align] = MEMORY[operator];
    if (!Number.isInteger(offset) || offset < 0) throw new Error(`${operator}: offset ${offset} must be a non-negative integer`);
    this.code.push(...bytes, align);
    uleb(this.code, offset);
    return this;
  }

  lane(operator: keyof typeof LANE, lane: number): this {
    this.code.push(...LANE[operator], lane);
    return this;
  }

  i32(value: number): this {
    this.code.push(0x41);
    sleb(this.code, value);
    return this;
  }

  f32(value: number): this {
    this.code.push(0x43, ...new Uint8Array(new Float32Array([value]).buffer));
    return this;
  }

  f64(value: number): this {
    this.code.push(0x44, ...new Uint8Array(new Float64Array([value]).buffer));
    return this;
  }

  /** `local.get`. */
  get(local: Local): this {
    return this.indexed(0x20, local.index);
  }

  /** `local.set`. */
  set(local: Local): this {
    return this.indexed(0x21, local.index);
  }

  /** `local.tee`: set, leaving the value on the stack. */
  tee(local: Local): this {
    return this.indexed(0x22, local.index);
  }

  /** Pushes the address `base + index * scale` (an i32 byte offset from two i32 locals). */
  at(base: Local, index: Local, scale: number): this {
    return this.get(base).get(index).i32(scale).op("i32.mul").op("i32.add");
  }

  /** Calls function `index` of the module. */
  call(index: number): this {
    return this.indexed(0x10, index);
  }

  private indexed(opcode: number, index: number): this {
    this.code.push(opcode);
    uleb(this.code, index);
    return this;
  }

  /** `block ... end`: a branch to its label jumps past the end. */
  block(body: (exit: Label) => void): this {
    return this.structured(0x02, body);
  }

  /** `loop ... end`: a branch to its label jumps back to the top. */
  loop(body: (top: Label) => void): this {
    return this.structured(0x03, body);
  }

  /** `if ... else ... end` on the i32 on the stack. */
  if(then: (exit: Label) => void, otherwise?: (exit: Label) => void): this {
    this.code.push(0x04, 0x40);
    const label = { depth: ++this.depth };
    then(label);
    if (otherwise) {
      this.code.push(0x05);
      otherwise(label);
    }
    this.code.push(0x0b);
    this.depth--;
    return this;
  }

  /** Branches to a label: past the end of a block, to the top of a loop. */
  br(label: Label): this {
    return this.indexed(0x0c, this.relative(label));
  }

  /** Branches to a label if the i32 on the stack is not zero. */
  brIf(label: Label): this {
    return this.indexed(0x0d, this.relative(label));
  }

  return(): this {
    this.code.push(0x0f);
    return this;
  }

  private structured(opcode: number, body: (label: Label) => void): this {
    this.code.push(opcode, 0x40);
    const label = { depth: ++this.depth };
    body(label);
    this.code.push(0x0b);
    this.depth--;
    return this;
  }

  private relative(label: Label): number {
    if (label.depth > this.depth) throw new Error(`${this.name}: branch to a label whose block has ended`);
    return this.depth - label.depth;
  }

  /** The function's type and body in the binary format. */
  encode(): { type: number[]; body: number[] } {
    if (this.depth !== 0) throw new Error(`${this.name}: a block is still open`);
    const type = [0x60];
    uleb(type, this.paramTypes.length);
    type.push(...this.paramTypes.map((t) => TYPE_CODE[t]));
    uleb(type, this.resultTypes.length);
    type.push(...this.resultTypes.map((t) => TYPE_CODE[t]));
    // Locals are declared as runs of one type.
    const runs: [number, ValueType][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const body: number[] = [];
    uleb(body, runs.length);
    for (const [count, t] of runs) {
      uleb(body, count);
      body.push(TYPE_CODE[t]);
    }
    body.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(sized, body.length);
    return { type, body: sized.concat(body) };
  }
}

/** The memory a module imports as `env.memory`. */
export interface MemoryImport {
  /** Pages of 64 KiB at instantiation. */
  initial: number;
  /** Most pages the memory may grow to (required for shared memory). */
  maximum: number;
  shared: boolean;
}

/** A module: one imported memory and a list of functions, each exported by its name. */
export class Module {
  private readonly functions: FunctionBuilder[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /** Adds a function; returns its index, for `call`. */
  add(fn: FunctionBuilder): number {
    this.functions.push(fn);
    return this.functions.length - 1;
  }

  /** The binary module. */
  bytes(): Uint8Array<ArrayBuffer> {
    const encoded = this.functions.map((f) => f.encode());
    const section = (id: number, content: number[]): number[] => {
      const out = [id];
      uleb(out, content.length);
      return out.concat(content);
    };
    const vector = (items: number[][]): number[] => {
      const out: number[] = [];
      uleb(out, items.length);
      return out.concat(...items);
    };
    const memory: number[] = [];
    name(memory, "env");
    name(memory, "memory");
    memory.push(0x02, this.memory.shared ? 0x03 : 0x01);
    uleb(memory, this.memory.initial);
    uleb(memory, this.memory.maximum);
    const exports = this.functions.map((f, i) => {
      const out: number[] = [];
      name(out, f.name);
      out.push(0x00);
      uleb(out, i);
      return out;
    });
    const functionTypes = encoded.map((_, i) => {
      const out: number[] = [];
      uleb(out, i);
      return out;
    });
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vector(encoded.map((e) => e.type))), // one type per function, in order
      ...section(2, vector([memory])),
      ...section(3, vector(functionTypes)),
      ...section(7, vector(exports)),
      ...section(10, vector(encoded.map((e) => e.body))),
    ]);
  }
}

/** What this engine supports beyond WebAssembly 1.0, found by validating tiny modules. */
export interface WasmFeatures {
  /** 128-bit SIMD (Node 16.4+, every current browser). */
  simd: boolean;
  /** Relaxed SIMD (`f32x4.relaxed_madd`): Chrome 114+, Node 22+; not Node 20 without a flag. */
  relaxedSimd: boolean;
  /** Shared memory and atomics, with `SharedArrayBuffer` present (a browser page needs cross-origin isolation). */
  threads: boolean;
}

let features: WasmFeatures | undefined;

/** Detects the features once per thread. */
export function wasmFeatures(): WasmFeatures {
  if (features) return features;
  const validates = (build: (f: FunctionBuilder) => void, params: ValueType[], results: ValueType[], shared = false): boolean => {
    if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return false;
    const m = new Module({ initial: 1, maximum: 1, shared });
    const f = new FunctionBuilder("probe", params, results);
    build(f);
    m.add(f);
    try {
      return WebAssembly.validate(m.bytes());
    } catch {
      return false;
    }
  };
  const [x, y, z] = [0, 1, 2].map((index) => ({ index, type: "v128" as const }));
  const simd = validates((f) => void f.get(x!).get(y!).op("f32x4.add"), ["v128", "v128"], ["v128"]);
  const relaxedSimd = simd && validates((f) => void f.get(x!).get(y!).get(z!).op("f32x4.relaxed_madd"), ["v128", "v128", "v128"], ["v128"]);
  let threads = false;
  if (typeof SharedArrayBuffer === "function" && validates((f) => void f.i32(0).i32(1).mem("i32.atomic.rmw.add"), [], ["i32"], true)) {
    try {
      threads = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
    } catch {
      threads = false;
    }
  }
  features = { simd, relaxedSimd, threads };
  return features;
}
