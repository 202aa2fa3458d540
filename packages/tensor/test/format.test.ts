import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { arange, formatTensor, randUniform, reshape, slice, tensor, transpose, zeros } from "../src/index.js";

describe("a tensor as text", () => {
  it("aligns a matrix in columns with one decimal format", () => {
    expect(String(tensor([[0.5, -1.25, 3], [1, 0, -2]], { dtype: "float64" }))).toBe(
      "tensor([[ 0.5000, -1.2500,  3.0000],\n" +
      "        [ 1.0000,  0.0000, -2.0000]], dtype=float64)",
    );
  });

  it("prints integers without decimals, blocks of a 3-d tensor apart, and a scalar and an empty tensor", () => {
    expect(String(reshape(arange(0, 12), [2, 2, 3]))).toBe(
      "tensor([[[ 0,  1,  2],\n" +
      "         [ 3,  4,  5]],\n" +
      "\n" +
      "        [[ 6,  7,  8],\n" +
      "         [ 9, 10, 11]]], dtype=float32)",
    );
    expect(String(tensor(2.5))).toBe("tensor(2.5000, dtype=float32)");
    expect(String(zeros([2, 0]))).toBe("tensor([], shape=[2, 0], dtype=float32)");
  });

  it("shows a view's elements in logical order, not its storage", () => {
    const t = transpose(reshape(arange(0, 6), [2, 3]), 0, 1);
    expect(String(t)).toBe("tensor([[0, 3],\n        [1, 4],\n        [2, 5]], dtype=float32)");
    expect(String(slice(arange(0, 10), 0, 1, 8, 3))).toBe("tensor([1, 4, 7], dtype=float32)");
  });

  it("switches to scientific notation over a wide range and names NaN and infinities", () => {
    expect(String(tensor([1e-7, 1, NaN, -Infinity], { dtype: "float64" }))).toBe(
      "tensor([1.0000e-7, 1.0000e+0,       nan,      -inf], dtype=float64)",
    );
  });

  it("abbreviates a large tensor to the ends of each dimension", () => {
    const t = randUniform([50, 40], { seed: 1 });
    const lines = String(t).split("\n");
    expect(lines).toHaveLength(7); // 3 rows, "...", 3 rows
    expect(lines[3]!.trim()).toBe("...,");
    expect(lines[0]).toContain(`${t.get(0, 0).toFixed(4)}, ${t.get(0, 1).toFixed(4)}, ${t.get(0, 2).toFixed(4)}, ..., ${t.get(0, 37).toFixed(4)}`);
    expect(lines[6]).toContain(t.get(49, 39).toFixed(4));
    // Below the threshold, nothing is left out.
    expect(formatTensor(t, { threshold: 5000 })).not.toContain("...");
  });

  it("wraps a long row at the line width, continuing under the first element", () => {
    const lines = formatTensor(arange(0, 40), { lineWidth: 40 }).split("\n");
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40 + ", dtype=float32)".length);
    expect(lines[1]!.startsWith("        ")).toBe(true);
  });

  it("is what console.log and util.inspect show", () => {
    const t = tensor([[1, 2], [3, 4]]);
    expect(inspect(t)).toBe(String(t));
    expect(inspect({ weight: t })).toContain("tensor([[1, 2],");
  });
});
