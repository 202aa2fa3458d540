import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arange,
  astype,
  clone,
  contiguousData,
  forEachIndex,
  full,
  fullLike,
  ones,
  onesLike,
  scalar,
  Tensor,
  tensor,
  transpose,
  zeros,
  zerosLike,
} from "../src/index.js";
import { allIndices, arbView, count, expectClose, flatten, ravel } from "./arbitraries.js";

describe("tensor() factory", () => {
  it("infers the shape of nested arrays and defaults to float32", () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe("float32");
    expect(t.strides).toEqual([3, 1]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.get(1, 2)).toBe(6);
  });

  it("keeps float64 for Float64Array input and honours an explicit dtype", () => {
    expect(tensor(new Float64Array([0.1])).dtype).toBe("float64");
    expect(tensor(new Float64Array([0.1])).get(0)).toBe(0.1);
    expect(tensor([0.1], { dtype: "float64" }).get(0)).toBe(0.1);
    expect(tensor([0.1]).get(0)).toBe(Math.fround(0.1));
    expect(tensor(new Float64Array([0.1]), { dtype: "float32" }).dtype).toBe("float32");
  });

  it("makes scalars and empty tensors", () => {
    const s = tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    expect(s.toArray()).toBe(3.5);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor([[], []]).toArray()).toEqual([[], []]);
  });

  it("reads flat or nested values in row-major order into an explicit shape", () => {
    const t = tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] });
    expect(t.toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    // A nested array is flattened first, never written as NaN.
    expect(tensor([[1, 2], [3, 4]], { shape: [4] }).toArray()).toEqual([1, 2, 3, 4]);
    expect(tensor(7, { shape: [1, 1] }).toArray()).toEqual([[7]]);
  });

  it("copies its input", () => {
    const src = new Float32Array([1, 2]);
    const t = tensor(src);
    src[0] = 9;
    expect(t.get(0)).toBe(1);
  });

  it("rejects ragged arrays and values that do not fill the shape, naming the shape", () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor([1, [2]] as never)).toThrow(/ragged/);
    expect(() => tensor([1, 2, 3], { shape: [2, 2] })).toThrow("3 values do not fill shape [2, 2]");
    expect(() => tensor([[1, 2], [3, 4]], { shape: [3] })).toThrow("4 values do not fill shape [3]");
    expect(() => tensor([1], { shape: [-1] })).toThrow(/\[-1\]/);
  });

  it("round-trips through toArray() for random shapes", () => {
    fc.assert(
      fc.property(arbView({ contiguousOnly: true }), ({ t, shape, ref, dtype }) => {
        const back = tensor(t.toArray(), { dtype, shape });
        expect(back.shape).toEqual(shape);
        expectClose(back.toFlat(), ref);
      }),
    );
  });
});

describe("filled factories", () => {
  it("full, zeros, ones and the *Like variants fill every element", () => {
    const f = full([2, 3], 2.5, { dtype: "float64" });
    expect(f.dtype).toBe("float64");
    expect(Array.from(f.data)).toEqual(new Array(6).fill(2.5));
    expect(Array.from(zeros([4]).data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(ones([2, 2]).data)).toEqual([1, 1, 1, 1]);
    expect(Array.from(fullLike(f, -1).data)).toEqual(new Array(6).fill(-1));
    expect(zerosLike(f).dtype).toBe("float64");
    expect(Array.from(onesLike(f).data)).toEqual(new Array(6).fill(1));
    expect(full([0, 3], 1).size).toBe(0);
    expect(Number.isNaN(full([1], Number.NaN).item())).toBe(true);
    expect(() => zeros([2, 1.5])).toThrow("shape [2, 1.5] has a dimension that is not a non-negative integer");
  });

  it("scalar() has shape [] and one element", () => {
    const s = scalar(-2, { dtype: "float64" });
    expect(s.shape).toEqual([]);
    expect(s.size).toBe(1);
    expect(s.ndim).toBe(0);
    expect(s.item()).toBe(-2);
  });

  it("arange matches the closed form start + i * step, counting ceil((stop - start) / step) values", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -20, max: 20 }),
        fc.integer({ min: -20, max: 20 }),
        fc.constantFrom(1, 2, 3, -1, -2, 0.5, -0.25),
        (start, stop, step) => {
          const t = arange(start, stop, step, { dtype: "float64" });
          const expected: number[] = [];
          for (let v = start; step > 0 ? v < stop : v > stop; v += step) expected.push(v);
          expect(Array.from(t.data)).toEqual(expected);
        },
      ),
    );
    expect(Array.from(arange(4).data)).toEqual([0, 1, 2, 3]);
    expect(() => arange(0, 3, 0)).toThrow(/step must not be 0/);
    expect(() => arange(Number.NaN)).toThrow(/finite/);
  });
});

describe("Tensor", () => {
  it("reads elements from offset + sum(index * stride)", () => {
    const data = new Float64Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const t = new Tensor(data, [2, 3], [1, 3], 2); // column-major view starting at 2
    for (const [i, j] of allIndices([2, 3])) expect(t.get(i!, j!)).toBe(2 + i! + 3 * j!);
    expect(t.get(-1, -1)).toBe(2 + 1 + 6);
    expect(t.isContiguous()).toBe(false);
  });

  it("rejects views that reach outside their storage, and bad strides", () => {
    const data = new Float32Array(6);
    expect(() => new Tensor(data, [2, 3], [3, 1], 1)).toThrow(
      "a view of shape [2, 3], strides [3, 1], offset 1 reaches outside its storage of 6 elements",
    );
    expect(() => new Tensor(data, [2, 3], [-3, 1], 0)).toThrow(/reaches outside/);
    expect(new Tensor(data, [2, 3], [-3, 1], 3).get(0, 0)).toBe(0);
    expect(() => new Tensor(data, [2, 3], [1])).toThrow("strides [1] do not match shape [2, 3]");
    expect(() => new Tensor(data, [2], [1.5])).toThrow(/integer strides/);
    // An empty view touches nothing, so any offset is allowed.
    expect(new Tensor(data, [0, 3], [3, 1], 100).size).toBe(0);
  });

  it("indexOf and get reject wrong index lengths and out-of-range entries, naming the shape", () => {
    const t = zeros([2, 3]);
    expect(() => t.get(0)).toThrow("index [0] has 1 entries for a tensor of shape [2, 3]");
    expect(() => t.get(2, 0)).toThrow("index [2, 0] is out of range for a tensor of shape [2, 3]");
    expect(() => t.get(0, -4)).toThrow(/out of range/);
    expect(() => t.get(0, 0.5)).toThrow(/out of range/);
  });

  it("set writes one element in place", () => {
    const t = zeros([2, 2], { dtype: "float64" });
    t.set([1, 0], 5);
    t.set([-1, -1], 7);
    expect(t.toArray()).toEqual([
      [0, 0],
      [5, 7],
    ]);
  });

  it("item() needs exactly one element", () => {
    expect(tensor([[4]]).item()).toBe(4);
    expect(() => zeros([2]).item()).toThrow("item() needs a tensor with one element, got shape [2]");
    expect(() => zeros([0]).item()).toThrow(/shape \[0\]/);
  });

  it("isContiguous is true exactly for row-major layouts (size-1 dims and empty tensors excepted)", () => {
    const data = new Float32Array(24);
    expect(new Tensor(data, [2, 3, 4]).isContiguous()).toBe(true);
    expect(new Tensor(data, [2, 3, 4], [12, 4, 1], 0).isContiguous()).toBe(true);
    expect(new Tensor(data, [2, 1, 4], [4, 99, 1], 0).isContiguous()).toBe(true);
    expect(new Tensor(data, [2, 1, 4], [12, 99, 1], 0).isContiguous()).toBe(false);
    expect(new Tensor(data, [2, 4], [12, 1], 0).isContiguous()).toBe(false);
    expect(new Tensor(data, [4], [2], 0).isContiguous()).toBe(false);
    expect(new Tensor(data, [0, 4], [1, 9], 0).isContiguous()).toBe(true);
    expect(transpose(new Tensor(data, [2, 3])).isContiguous()).toBe(false);
  });

});

describe("strided iteration over random views", () => {
  it("toFlat, toArray and get agree with the recipe's reference values", () => {
    fc.assert(
      fc.property(arbView(), ({ t, shape, ref, recipe }) => {
        expect(t.shape, recipe).toEqual(shape);
        expectClose(t.toFlat(), ref, {}, recipe);
        expectClose(flatten(t.toArray()), ref, {}, recipe);
        for (const index of allIndices(shape)) expect(t.get(...index)).toBe(ref[ravel(index, shape)]);
      }),
    );
  });

  it("forEachIndex visits every element once, in row-major order", () => {
    fc.assert(
      fc.property(arbView(), ({ t, ref }) => {
        const seen: number[] = [];
        const flats: number[] = [];
        forEachIndex(t, (s, f) => {
          seen.push(t.data[s]!);
          flats.push(f);
        });
        expect(flats).toEqual(Array.from({ length: ref.length }, (_, i) => i));
        expectClose(seen, ref);
      }),
    );
  });

  it("contiguousData converts dtype; astype copies only when needed; clone always copies", () => {
    fc.assert(
      fc.property(arbView(), ({ t, ref, dtype }) => {
        const other = dtype === "float32" ? "float64" : "float32";
        const conv = contiguousData(t, other);
        expect(conv instanceof (other === "float32" ? Float32Array : Float64Array)).toBe(true);
        expectClose(conv, ref.map((v) => (other === "float32" ? Math.fround(v) : v)));
        const same = astype(t, dtype);
        if (t.isContiguous()) expect(same).toBe(t);
        else expect(same.data).not.toBe(t.data);
        expectClose(same.toFlat(), ref);
        const c = clone(t);
        expect(c.data).not.toBe(t.data);
        expect(c.isContiguous()).toBe(true);
        expect(c.shape).toEqual(t.shape);
        expectClose(c.toFlat(), ref);
        expect(count(c.shape)).toBe(ref.length);
      }),
    );
  });
});
