import { describe, expect, it } from "vitest";
import * as T from "../src/index.js";

describe("firstNonFinite", () => {
  it("finds the first NaN or Infinity in row-major order, in contiguous tensors and in views", () => {
    const t = T.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(T.firstNonFinite(t)).toBeUndefined();
    expect(T.allFinite(t)).toBe(true);
    t.set([1, 0], Infinity);
    t.set([0, 2], NaN);
    expect(T.firstNonFinite(t)).toEqual({ index: 2, value: NaN });
    // The transpose visits [0, 2] after [1, 0]: the view's own order.
    expect(T.firstNonFinite(T.transpose(t, 0, 1))).toEqual({ index: 1, value: Infinity });
    expect(T.allFinite(T.tensor([-Infinity]))).toBe(false);
    expect(T.firstNonFinite(T.zeros([0, 3]))).toBeUndefined();
    expect(T.firstNonFinite(T.scalar(-Infinity, { dtype: "float64" }))).toEqual({ index: 0, value: -Infinity });
  });

  it("names non-finite values as messages do", () => {
    expect([NaN, Infinity, -Infinity].map(T.describeNonFinite)).toEqual(["NaN", "Infinity", "-Infinity"]);
  });

  it("NonFiniteError is an InputError naming the result and where the values came from", () => {
    const e = new T.NonFiniteError("the logits", "parameter \"w\u001b\" holds NaN");
    expect(e).toBeInstanceOf(T.InputError);
    expect(e.message).toBe('the logits are not finite: parameter "w\\u001b" holds NaN');
    expect(e.origin).toBe('parameter "w\u001b" holds NaN');
    expect(new T.NonFiniteError("the gradients", undefined).message).toBe("the gradients are not finite");
  });
});
