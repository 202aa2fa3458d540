import { describe, expect, it } from "vitest";
import * as T from "../src/index.js";
import { FileFormatError, InputError } from "../src/index.js";

describe("errors", () => {
  it("a caller's mistake is an InputError with a one-line message", () => {
    const cases: (() => unknown)[] = [
      () => T.reshape(T.zeros([2, 3]), [4]),
      () => T.matmul(T.zeros([2, 3]), T.zeros([4, 2])),
      () => T.narrow(T.zeros([2]), 0, 1, 5),
      () => T.tensor([[1, 2], [3]] as unknown as T.NestedArray),
      () => T.zeros([2, 3]).get(5, 0),
    ];
    for (const c of cases) {
      let thrown: unknown;
      try {
        c();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(InputError);
      expect((thrown as Error).message).not.toMatch(/\n/);
    }
  });

  it("a FileFormatError names the file first, puts the problem on one line and is an InputError", () => {
    const e = new FileFormatError("dir/config.json", "bad\n  value");
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe("dir/config.json: bad value");
    expect(e.file).toBe("dir/config.json");
    expect(e.problem).toBe("bad value");
    expect(e.name).toBe("FileFormatError");
  });
});
