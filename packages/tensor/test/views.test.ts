import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arange,
  contiguous,
  expand,
  narrow,
  permute,
  reshape,
  select,
  slice,
  split,
  squeeze,
  tensor,
  transpose,
  unsqueeze,
  zeros,
} from "../src/index.js";
import { allIndices, arbShape, arbView, count, expectClose, ravel, round, unravel, type ViewCase } from "./arbitraries.js";

/** Python's `list(range(n))[start:stop:step]`, printed by python3 (random.seed(7)) and pasted here as data. */
const PYTHON_SLICES: [number, number | null, number | null, number, number[]][] = [
  [0, -1, -6, 1, []],
  [0, 5, null, -3, []],
  [0, 2, -9, -1, []],
  [0, 3, null, 2, []],
  [0, -3, null, -3, []],
  [0, 0, 0, -3, []],
  [0, -3, -9, 2, []],
  [0, 0, null, 2, []],
  [0, -9, -3, 3, []],
  [0, 5, 3, -3, []],
  [0, 3, 3, 1, []],
  [0, null, -3, -3, []],
  [0, 2, -6, -1, []],
  [0, 0, -6, 2, []],
  [0, -9, 3, -1, []],
  [0, 2, 5, -2, []],
  [0, -9, 3, 2, []],
  [0, 5, -3, -1, []],
  [0, -9, 2, 3, []],
  [0, -9, 3, -3, []],
  [0, 3, -3, 1, []],
  [0, 5, 2, 1, []],
  [0, -1, 1, 2, []],
  [0, 1, -1, -1, []],
  [0, -3, -6, 3, []],
  [0, -2, 2, 1, []],
  [0, -1, 9, 1, []],
  [0, -2, 3, -3, []],
  [0, -9, 2, 1, []],
  [0, -6, -1, -2, []],
  [0, 1, 0, -3, []],
  [0, 5, -9, 2, []],
  [0, 3, -1, -1, []],
  [0, 9, -1, 2, []],
  [0, 1, 3, 1, []],
  [0, -9, -9, -1, []],
  [0, 1, 9, 3, []],
  [0, -9, null, 3, []],
  [0, 9, -2, 3, []],
  [1, 3, 5, 1, []],
  [1, -2, 9, 1, [0]],
  [1, 5, -1, -3, []],
  [1, 1, -1, -2, []],
  [1, 3, -9, 1, []],
  [1, null, -3, -1, [0]],
  [1, -6, 9, -2, []],
  [1, 0, 0, 1, []],
  [1, -9, -6, 1, []],
  [1, 0, 2, -1, []],
  [1, -6, 0, 2, []],
  [1, -1, 5, 1, [0]],
  [1, -3, -6, -3, []],
  [1, -6, -6, -2, []],
  [1, 5, -3, -3, [0]],
  [1, 1, 3, -2, []],
  [1, -2, -2, -3, []],
  [1, -1, 3, 2, [0]],
  [1, -1, -6, 3, []],
  [1, 2, 3, 3, []],
  [1, 5, 9, -3, []],
  [1, 1, 5, 2, []],
  [1, 0, -9, 1, []],
  [1, 5, 0, -3, []],
  [1, -3, -9, -2, []],
  [1, 1, -6, -3, [0]],
  [1, -1, 3, -3, []],
  [1, -9, null, 2, [0]],
  [1, -6, 2, -3, []],
  [1, -9, -3, 2, []],
  [1, 0, -6, 3, []],
  [1, -2, -1, 2, []],
  [1, -1, 1, -3, []],
  [1, -9, 1, 1, [0]],
  [1, 1, 1, -1, []],
  [1, -9, -6, -3, []],
  [2, 9, -1, 3, []],
  [2, -2, 1, 3, [0]],
  [2, -6, 2, -3, []],
  [2, -3, 2, -1, []],
  [2, -6, 9, 2, [0]],
  [2, null, 2, -1, []],
  [2, 5, -9, 3, []],
  [2, -2, 2, -1, []],
  [2, -6, -1, -2, []],
  [2, 2, 2, 2, []],
  [2, -1, 5, -2, []],
  [2, 3, -3, -2, [1]],
  [2, 0, 9, -2, []],
  [2, -3, 2, 1, [0, 1]],
  [2, -1, 9, -3, []],
  [2, null, -2, 1, []],
  [2, -2, -3, 3, []],
  [2, 3, -1, 1, []],
  [2, 9, -1, -1, []],
  [2, -9, -3, -3, []],
  [2, -3, 1, -2, []],
  [2, -1, -3, 1, []],
  [2, 3, 3, -3, []],
  [2, 1, 5, -1, []],
  [2, -9, 0, 3, []],
  [2, 0, 5, -1, []],
  [2, -9, 9, 1, [0, 1]],
  [2, 1, 0, 3, []],
  [2, -9, 9, -2, []],
  [2, -6, -6, -3, []],
  [2, -6, 3, 1, [0, 1]],
  [2, 5, -6, 2, []],
  [2, 3, 1, 3, []],
  [2, -1, -6, 2, []],
  [2, 2, -6, -3, [1]],
  [2, null, 9, 3, [0]],
  [2, -9, 2, 3, [0]],
  [2, -6, 0, -2, []],
  [5, -3, null, -1, [2, 1, 0]],
  [5, -3, -2, 2, [2]],
  [5, -3, 3, -1, []],
  [5, -2, 2, 1, []],
  [5, -6, null, 3, [0, 3]],
  [5, -1, 1, 3, []],
  [5, 3, 2, 1, []],
  [5, 2, -6, 2, []],
  [5, -6, 2, 2, [0]],
  [5, null, 1, -2, [4, 2]],
  [5, 3, null, -2, [3, 1]],
  [5, -6, -6, 1, []],
  [5, 3, 9, -3, []],
  [5, 2, null, -1, [2, 1, 0]],
  [5, 5, 2, 2, []],
  [5, 2, 1, -3, [2]],
  [5, 2, null, -2, [2, 0]],
  [5, -3, -2, -3, []],
  [5, -9, 2, 1, [0, 1]],
  [5, 2, null, -3, [2]],
  [5, 1, -1, 2, [1, 3]],
  [5, 2, 3, 2, [2]],
  [5, -3, 9, -1, []],
  [5, 1, 2, 2, [1]],
  [5, 1, 2, -2, []],
  [5, 9, 2, -1, [4, 3]],
  [5, 2, -3, 1, []],
  [5, -6, 0, -3, []],
  [5, 0, 1, -1, []],
  [5, -9, 5, -2, []],
  [5, 0, -9, -2, [0]],
  [5, 5, -2, -3, [4]],
  [5, -6, 9, 3, [0, 3]],
  [5, 5, -1, -2, []],
  [5, -2, -6, 1, []],
  [5, -3, 9, -3, []],
  [5, 0, 1, -2, []],
  [5, 5, -3, -2, [4]],
  [5, 9, 0, 2, []],
  [5, 0, -1, 1, [0, 1, 2, 3]],
  [6, -3, -1, -1, []],
  [6, -9, 9, -1, []],
  [6, null, -1, 2, [0, 2, 4]],
  [6, 1, 1, 3, []],
  [6, null, 0, -1, [5, 4, 3, 2, 1]],
  [6, 2, 3, -1, []],
  [6, 2, -9, -3, [2]],
  [6, -3, -9, -3, [3, 0]],
  [6, -2, -2, -3, []],
  [6, -6, -2, -2, []],
  [6, 0, 5, -1, []],
  [6, 0, -6, 2, []],
  [6, 2, 3, 1, [2]],
  [6, 9, -1, -3, []],
  [6, -2, null, 3, [4]],
  [6, -6, 0, -3, []],
  [6, -9, -2, -3, []],
  [6, 3, -3, -3, []],
  [6, -2, -9, 1, []],
  [6, 0, -2, 2, [0, 2]],
  [6, -6, null, 2, [0, 2, 4]],
  [6, 9, -3, -3, [5]],
  [6, -6, -2, -3, []],
  [6, -6, -3, -1, []],
  [6, 5, -2, 2, []],
  [6, -3, -2, 1, [3]],
  [6, 2, 5, -2, []],
  [6, -2, -1, -3, []],
  [6, -2, null, -3, [4, 1]],
  [6, null, 9, 2, [0, 2, 4]],
  [6, 2, -3, 2, [2]],
  [6, 1, -3, 1, [1, 2]],
  [6, -9, 5, 3, [0, 3]],
  [6, 0, 5, 1, [0, 1, 2, 3, 4]],
  [6, 2, 0, 2, []],
  [6, -2, 9, -2, []],
  [6, -3, -1, -2, []],
  [6, 9, 9, 3, []],
];

/** The logical values of `c` read at `index` (a reference lookup, no strides involved). */
function refAt(c: ViewCase, index: readonly number[]): number {
  return c.ref[ravel(index, c.shape)]!;
}

/** A case with an axis of its tensor (needs ndim >= 1). */
const arbViewAndAxis = arbView({ minDims: 1 }).chain((c) => fc.tuple(fc.constant(c), fc.integer({ min: 0, max: c.shape.length - 1 })));

function primeFactors(n: number): number[] {
  const out: number[] = [];
  for (let p = 2; n > 1; p++) {
    while (n % p === 0) {
      out.push(p);
      n /= p;
    }
  }
  return out;
}

/** A shape of the same size as `shape`: its prime factors (maybe shuffled) regrouped, with 1s inserted and maybe a -1. */
function arbReshapeTarget(shape: readonly number[]): fc.Arbitrary<number[]> {
  const n = count(shape);
  if (n === 0) {
    return fc.tuple(arbShape({ maxDims: 3 }), fc.nat()).map(([s, k]) => {
      const t = [...s, 0];
      const z = k % t.length;
      [t[z], t[t.length - 1]] = [t[t.length - 1]!, t[z]!];
      return t;
    });
  }
  const factors = shape.flatMap(primeFactors);
  return fc
    .record({
      shuffled: fc.boolean(),
      order: fc.shuffledSubarray(factors.map((_, i) => i), { minLength: factors.length, maxLength: factors.length }),
      cuts: fc.array(fc.boolean(), { minLength: factors.length, maxLength: factors.length }),
      ones: fc.array(fc.nat(), { maxLength: 2 }),
      minusOne: fc.option(fc.nat()),
    })
    .map(({ shuffled, order, cuts, ones, minusOne }) => {
      const fs = shuffled ? order.map((i) => factors[i]!) : factors;
      const dims: number[] = [];
      fs.forEach((f, i) => {
        if (i === 0 || cuts[i]) dims.push(f);
        else dims[dims.length - 1]! *= f;
      });
      for (const k of ones) dims.splice(k % (dims.length + 1), 0, 1);
      if (minusOne !== null && dims.length > 0) dims[minusOne % dims.length] = -1;
      return dims;
    });
}

/**
 * Brute force: can the elements (storage positions `pos`, row-major) be addressed as `target`
 * with some strides? The stride of each dim is forced by its unit step; then every element is checked.
 */
function viewable(pos: readonly number[], target: readonly number[]): boolean {
  if (pos.length === 0) return true;
  const strides = target.map((d, k) => {
    if (d <= 1) return 0;
    const unit = target.map((_, j) => (j === k ? 1 : 0));
    return pos[ravel(unit, target)]! - pos[0]!;
  });
  return pos.every((p, f) => p === pos[0]! + unravel(f, target).reduce((s, i, k) => s + i * strides[k]!, 0));
}

describe("permute and transpose", () => {
  it("permute reorders axes as out[idx] = x[idx mapped back], sharing storage", () => {
    fc.assert(
      fc.property(
        arbView().chain((c) => {
          const idx = c.shape.map((_, i) => i);
          return fc.tuple(fc.constant(c), fc.shuffledSubarray(idx, { minLength: idx.length, maxLength: idx.length }));
        }),
        ([c, axes]) => {
          const p = permute(c.t, axes);
          expect(p.data).toBe(c.t.data);
          expect(p.shape).toEqual(axes.map((a) => c.shape[a]));
          for (const index of allIndices(p.shape)) {
            const src = new Array<number>(axes.length);
            axes.forEach((a, i) => (src[a] = index[i]!));
            expect(p.get(...index)).toBe(refAt(c, src));
          }
          // Negative axes mean the same axes.
          expect(permute(c.t, axes.map((a) => a - axes.length)).strides).toEqual(p.strides);
        },
      ),
    );
  });

  it("transpose swaps the last two axes by default and any two on request", () => {
    const t3 = reshape(arange(24), [2, 3, 4]);
    const t = transpose(t3);
    expect(t.shape).toEqual([2, 4, 3]);
    for (const [i, j, k] of allIndices(t.shape)) expect(t.get(i!, j!, k!)).toBe(i! * 12 + k! * 4 + j!);
    const u = transpose(t3, 0, 2);
    expect(u.shape).toEqual([4, 3, 2]);
    for (const [i, j, k] of allIndices(u.shape)) expect(u.get(i!, j!, k!)).toBe(k! * 12 + j! * 4 + i!);
    const v = arange(3);
    expect(transpose(v)).toBe(v);
  });

  it("permute rejects lists that are not a permutation, naming the shape", () => {
    const t = zeros([2, 3]);
    expect(() => permute(t, [0])).toThrow("permute: [0] is not a permutation of the 2 axes of a tensor of shape [2, 3]");
    expect(() => permute(t, [1, 1])).toThrow(/not a permutation/);
    expect(() => permute(t, [0, 2])).toThrow("axis 2 is out of range of a tensor of shape [2, 3]");
  });
});

describe("slice, narrow, select", () => {
  it("slice follows Python's list slicing (negative bounds, clamping, negative steps)", () => {
    for (const [n, start, stop, step, expected] of PYTHON_SLICES) {
      const s = slice(arange(n, undefined, 1, { dtype: "float64" }), 0, start ?? undefined, stop ?? undefined, step);
      expect(Array.from(s.toFlat()), `[${n}][${start}:${stop}:${step}]`).toEqual(expected);
    }
  });

  it("slice of a random view picks start, start + step, ... before stop, and shares storage", () => {
    fc.assert(
      fc.property(
        arbViewAndAxis.chain(([c, axis]) => {
          const d = c.shape[axis]!;
          return fc.tuple(
            fc.constant(c),
            fc.constant(axis),
            fc.integer({ min: 0, max: Math.max(0, d - 1) }),
            fc.integer({ min: 0, max: d }),
            fc.constantFrom(1, 2, 3, -1, -2),
          );
        }),
        ([c, axis, start, stop, step]) => {
          // In-range bounds; for a negative step, stop 0 here means "through index 0" (Python's None).
          const picks: number[] = [];
          const d = c.shape[axis]!;
          if (d > 0) {
            if (step > 0) for (let i = start; i < stop; i += step) picks.push(i);
            else for (let i = start; i > (stop === 0 ? -1 : stop); i += step) picks.push(i);
          }
          const s = step > 0 ? slice(c.t, axis, start, stop, step) : slice(c.t, axis, start, stop === 0 ? undefined : stop, step);
          expect(s.data).toBe(c.t.data);
          expect(s.shape[axis]).toBe(picks.length);
          for (const index of allIndices(s.shape)) {
            const src = [...index];
            src[axis] = picks[index[axis]!]!;
            expect(s.get(...index)).toBe(refAt(c, src));
          }
        },
      ),
    );
  });

  it("narrow(axis, start, length) is entries start..start+length-1, negative start from the end", () => {
    fc.assert(
      fc.property(
        arbViewAndAxis.chain(([c, axis]) => {
          const d = c.shape[axis]!;
          return fc.tuple(fc.constant(c), fc.constant(axis), fc.integer({ min: 0, max: d })).chain(([c2, ax, start]) =>
            fc.tuple(fc.constant(c2), fc.constant(ax), fc.constant(start), fc.integer({ min: 0, max: d - start }), fc.boolean()),
          );
        }),
        ([c, axis, start, length, negative]) => {
          const d = c.shape[axis]!;
          const s = narrow(c.t, axis, negative && start < d ? start - d : start, length);
          expect(s.data).toBe(c.t.data);
          expect(s.shape[axis]).toBe(length);
          for (const index of allIndices(s.shape)) {
            const src = [...index];
            src[axis] = start + index[axis]!;
            expect(s.get(...index)).toBe(refAt(c, src));
          }
        },
      ),
    );
  });

  it("select drops the axis and reads entry index of it", () => {
    fc.assert(
      fc.property(
        arbViewAndAxis.filter(([c, axis]) => c.shape[axis]! > 0).chain(([c, axis]) =>
          fc.tuple(fc.constant(c), fc.constant(axis), fc.integer({ min: 0, max: c.shape[axis]! - 1 })),
        ),
        ([c, axis, i]) => {
          const s = select(c.t, axis, i);
          expect(s.shape).toEqual(c.shape.filter((_, k) => k !== axis));
          for (const index of allIndices(s.shape)) {
            const src = [...index];
            src.splice(axis, 0, i);
            expect(s.get(...index)).toBe(refAt(c, src));
          }
          expect(select(c.t, axis, i - c.shape[axis]!).toFlat()).toEqual(s.toFlat());
        },
      ),
    );
  });

  it("out-of-range bounds are errors that name the shape", () => {
    const t = zeros([2, 3]);
    expect(() => narrow(t, 1, 2, 2)).toThrow("narrow(axis 1, start 2, length 2) is out of range for a tensor of shape [2, 3]");
    expect(() => narrow(t, 1, -4, 1)).toThrow(/out of range/);
    expect(() => slice(t, 0, 0, 2, 0)).toThrow("slice: step must be a non-zero integer, got 0");
    expect(() => slice(t, 0, 0.5)).toThrow(/bounds must be integers/);
    expect(() => slice(t, 2)).toThrow("axis 2 is out of range of a tensor of shape [2, 3]");
    expect(() => select(t, 1, 3)).toThrow("select: index 3 is out of range for axis 1 of a tensor of shape [2, 3]");
  });
});

describe("expand, squeeze, unsqueeze", () => {
  it("expand repeats size-1 axes and adds leading axes with stride 0, without copying", () => {
    const col = tensor([[1], [2], [3]]); // [3, 1]
    const e = expand(col, [2, 3, 4]);
    expect(e.data).toBe(col.data);
    expect(e.strides).toEqual([0, 1, 0]);
    for (const [i, j, k] of allIndices(e.shape)) expect(e.get(i!, j!, k!)).toBe(j! + 1);
    expect(expand(tensor([5]), [0]).shape).toEqual([0]);
  });

  it("expand of a random view reads the broadcast source", () => {
    fc.assert(
      fc.property(
        arbView({ maxDims: 3 }).chain((c) =>
          fc.tuple(
            fc.constant(c),
            fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 1 }),
            fc.array(fc.integer({ min: 0, max: 3 }), { minLength: c.shape.length, maxLength: c.shape.length }),
          ),
        ),
        ([c, lead, grow]) => {
          const target = [...lead, ...c.shape.map((d, i) => (d === 1 ? grow[i]! : d))];
          const e = expand(c.t, target);
          expect(e.data).toBe(c.t.data);
          for (const index of allIndices(target)) {
            const src = index.slice(lead.length).map((k, i) => (c.shape[i] === 1 ? 0 : k));
            expect(e.get(...index)).toBe(refAt(c, src));
          }
        },
      ),
    );
  });

  it("expand errors name both shapes", () => {
    expect(() => expand(zeros([2, 3]), [4, 3])).toThrow("shape [2, 3] cannot be broadcast to [4, 3]");
    expect(() => expand(zeros([2, 3]), [3])).toThrow("cannot expand a tensor of shape [2, 3] to fewer dims [3]");
  });

  it("unsqueeze inserts a size-1 axis anywhere; squeeze removes it again", () => {
    fc.assert(
      fc.property(
        arbView({ maxDims: 3 }).chain((c) => fc.tuple(fc.constant(c), fc.integer({ min: -(c.shape.length + 1), max: c.shape.length }))),
        ([c, axis]) => {
          const u = unsqueeze(c.t, axis);
          const at = axis < 0 ? axis + c.shape.length + 1 : axis;
          const expectedShape = [...c.shape];
          expectedShape.splice(at, 0, 1);
          expect(u.shape).toEqual(expectedShape);
          expect(u.data).toBe(c.t.data);
          expectClose(u.toFlat(), c.ref);
          const back = squeeze(u, at);
          expect(back.shape).toEqual(c.shape);
          expectClose(back.toFlat(), c.ref);
          const all = squeeze(u);
          expect(all.shape).toEqual(c.shape.filter((d) => d !== 1));
          expectClose(all.toFlat(), c.ref);
        },
      ),
    );
    expect(() => squeeze(zeros([2, 3]), 0)).toThrow("squeeze: axis 0 of a tensor of shape [2, 3] does not have size 1");
    expect(() => unsqueeze(zeros([2]), 3)).toThrow(/axis 3 is out of range/);
  });
});

describe("reshape", () => {
  it("is a view exactly when strides allow it, an error naming shape and strides otherwise, and a copy with { copy: true }", () => {
    fc.assert(
      fc.property(
        arbView().chain((c) => fc.tuple(fc.constant(c), arbReshapeTarget(c.shape))),
        ([c, target]) => {
          const resolved = target.includes(-1) ? target.map((d) => (d === -1 ? c.ref.length / count(target.filter((e) => e !== -1)) : d)) : target;
          const canView = viewable(c.pos, resolved);
          if (c.t.isContiguous()) expect(canView).toBe(true);
          if (canView) {
            const r = reshape(c.t, target);
            expect(r.data).toBe(c.t.data);
            expect(r.shape).toEqual(resolved);
            expectClose(r.toFlat(), c.ref, {}, c.recipe);
          } else {
            expect(() => reshape(c.t, target)).toThrow(
              `cannot view a tensor of shape [${c.shape.join(", ")}] with strides [${c.t.strides.join(", ")}] as [${resolved.join(", ")}] without a copy`,
            );
            const r = reshape(c.t, target, { copy: true });
            expect(r.data).not.toBe(c.t.data);
            expect(r.shape).toEqual(resolved);
            expectClose(r.toFlat(), c.ref);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("views merged contiguous axes of a permuted tensor, and refuses to flatten a transpose", () => {
    const x = reshape(arange(24), [2, 3, 4]);
    const p = permute(x, [1, 2, 0]); // [3, 4, 2], axes 0 and 1 still adjacent in storage
    const merged = reshape(p, [12, 2]);
    expect(merged.data).toBe(x.data);
    for (const [i, j] of allIndices([12, 2])) expect(merged.get(i!, j!)).toBe(j! * 12 + i!);
    expect(() => reshape(transpose(reshape(arange(6), [2, 3])), [6])).toThrow(
      "cannot view a tensor of shape [3, 2] with strides [1, 3] as [6] without a copy; call contiguous() first or pass { copy: true }",
    );
    expect(Array.from(reshape(transpose(reshape(arange(6), [2, 3])), [6], { copy: true }).data)).toEqual([0, 3, 1, 4, 2, 5]);
    // A broadcast axis splits without a copy (stride 0 stays 0).
    const e = expand(tensor([[7]]), [4, 3]);
    expect(reshape(e, [2, 2, 3]).strides).toEqual([0, 0, 0]);
  });

  it("checks sizes and -1, naming the shapes", () => {
    const t = zeros([2, 3]);
    expect(reshape(t, [-1]).shape).toEqual([6]);
    expect(reshape(t, [3, -1]).shape).toEqual([3, 2]);
    expect(() => reshape(t, [4, -1])).toThrow("cannot reshape a tensor of shape [2, 3] to [4, -1]");
    expect(() => reshape(t, [-1, -1])).toThrow("reshape to [-1, -1]: only one dimension may be -1");
    expect(() => reshape(t, [7])).toThrow("cannot reshape a tensor of shape [2, 3] (6 elements) to [7]");
    expect(() => reshape(t, [2, -3])).toThrow(/reshape target \[2, -3\]/);
    expect(reshape(zeros([0, 3]), [3, 0, 5]).shape).toEqual([3, 0, 5]);
  });
});

describe("contiguous", () => {
  it("returns the same object when already contiguous, else a row-major copy", () => {
    fc.assert(
      fc.property(arbView(), (c) => {
        const r = contiguous(c.t);
        if (c.t.isContiguous()) expect(r).toBe(c.t);
        else {
          expect(r.data).not.toBe(c.t.data);
          expect(r.isContiguous()).toBe(true);
          expect(r.offset).toBe(0);
        }
        expect(r.shape).toEqual(c.shape);
        expectClose(r.toFlat(), c.ref);
      }),
    );
  });
});

describe("views share storage", () => {
  it("a write into the storage shows in every element of the view stored there", () => {
    fc.assert(
      fc.property(
        arbView().filter((c) => c.ref.length > 0).chain((c) => fc.tuple(fc.constant(c), fc.nat(c.ref.length - 1), fc.double({ min: -100, max: 100, noNaN: true }))),
        ([c, f, value]) => {
          c.storage.set([c.pos[f]!], value);
          const v = round(value, c.dtype);
          const expected = c.ref.map((old, g) => (c.pos[g] === c.pos[f] ? v : old));
          expectClose(c.t.toFlat(), expected);
          // Views of views see it too.
          const index = unravel(f, c.shape);
          expect(unsqueeze(c.t, 0).get(0, ...index)).toBe(v);
          expect(permute(c.t, c.shape.map((_, i) => c.shape.length - 1 - i)).get(...[...index].reverse())).toBe(v);
        },
      ),
    );
  });

  it("set() on a base is visible through transpose, slice, expand and split views", () => {
    const base = zeros([2, 3], { dtype: "float64" });
    const t = transpose(base);
    const s = slice(base, 1, undefined, undefined, -1);
    const e = expand(unsqueeze(base, 0), [4, 2, 3]);
    const [, second] = split(base, [1, 1], 0);
    base.set([1, 0], 42);
    expect(t.get(0, 1)).toBe(42);
    expect(s.get(1, 2)).toBe(42);
    expect(e.get(3, 1, 0)).toBe(42);
    expect(second!.get(0, 0)).toBe(42);
    // And writes through a view land in the base.
    t.set([2, 0], -1);
    expect(base.get(0, 2)).toBe(-1);
  });
});
