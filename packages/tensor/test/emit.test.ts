/**
 * The WebAssembly emitter: modules it writes validate and compute what their instructions
 * say (integer and float arithmetic, loops and branches through labels, memory and SIMD
 * access, calls), and misuse fails while building, with a message.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FunctionBuilder, Module, wasmFeatures, type Local } from "../src/wasm/emit.js";

/** Instantiates a module of the given functions over a fresh (unshared) memory of one page. */
function instantiate(...functions: FunctionBuilder[]): { exports: Record<string, CallableFunction>; memory: WebAssembly.Memory } {
  const m = new Module({ initial: 1, maximum: 1, shared: false });
  for (const f of functions) m.add(f);
  const bytes = m.bytes();
  expect(WebAssembly.validate(bytes)).toBe(true);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { exports: instance.exports as Record<string, CallableFunction>, memory };
}

describe("the WebAssembly emitter", () => {
  it("encodes integer constants of every size (signed LEB128) and arithmetic on them", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (x, y) => {
        const f = new FunctionBuilder("f", [], ["i32"]);
        f.i32(x).i32(y).op("i32.sub");
        expect(instantiate(f).exports["f"]!()).toBe((x - y) | 0);
      }),
      { numRuns: 60 },
    );
  });

  it("runs loops and branches through labels: sum of 0..n-1", () => {
    const f = new FunctionBuilder("sum", ["i32"], ["i32"]);
    const [n] = f.params as [Local];
    const i = f.local("i32");
    const total = f.local("i32");
    f.block((exit) => {
      f.get(n).op("i32.eqz").brIf(exit);
      f.loop((top) => {
        f.get(total).get(i).op("i32.add").set(total);
        f.get(i).i32(1).op("i32.add").tee(i).get(n).op("i32.lt_s").brIf(top);
      });
    });
    f.get(total);
    const sum = instantiate(f).exports["sum"]!;
    for (const count of [0, 1, 2, 10, 1000]) expect(sum(count)).toBe((count * (count - 1)) / 2 + 0); // + 0: not -0
  });

  it("reads and writes memory, with SIMD lanes and a call between functions", () => {
    // scale4(at, factor): the four floats at `at` times factor, in place; total(at) = their sum via scale4(at, 1).
    const scale = new FunctionBuilder("scale4", ["i32", "f32"]);
    const [at, factor] = scale.params as [Local, Local];
    scale.get(at).get(at).mem("v128.load").get(factor).op("f32x4.splat").op("f32x4.mul").mem("v128.store");
    const total = new FunctionBuilder("total", ["i32"], ["f32"]);
    const [base] = total.params as [Local];
    total.get(base).f32(1).call(0);
    total.get(base).mem("v128.load").lane("f32x4.extract_lane", 0);
    for (let lane = 1; lane < 4; lane++) total.get(base).mem("v128.load").lane("f32x4.extract_lane", lane).op("f32.add");
    const { exports, memory } = instantiate(scale, total);
    const floats = new Float32Array(memory.buffer);
    floats.set([1.5, -2, 4, 8], 4); // at byte 16
    exports["scale4"]!(16, 2);
    expect(Array.from(floats.subarray(4, 8))).toEqual([3, -4, 8, 16]);
    expect(exports["total"]!(16)).toBe(23);
    // A memory offset is added to the address.
    const f64 = new FunctionBuilder("second", ["i32"], ["f64"]);
    f64.get(f64.params[0]!).mem("f64.load", 8);
    const run = instantiate(f64);
    new Float64Array(run.memory.buffer).set([1.25, 2.5]);
    expect(run.exports["second"]!(0)).toBe(2.5);
  });

  it("refuses a branch to a label whose block has ended, and a negative memory offset", () => {
    const f = new FunctionBuilder("bad", []);
    let escaped: { depth: number } | undefined;
    f.block((exit) => void (escaped = exit));
    expect(() => f.br(escaped!)).toThrow(/bad: branch to a label whose block has ended/);
    const g = new FunctionBuilder("open", []);
    expect(() => g.mem("i32.load", -4)).toThrow(/offset -4 must be a non-negative integer/);
  });

  it("detects SIMD here (Node 20+), and reports relaxed SIMD and threads as booleans", () => {
    const features = wasmFeatures();
    expect(features.simd).toBe(true);
    expect(typeof features.relaxedSimd).toBe("boolean");
    expect(features.threads).toBe(typeof SharedArrayBuffer === "function");
  });
});
