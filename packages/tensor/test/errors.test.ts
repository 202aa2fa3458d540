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

describe("messages quote content safely", () => {
  it("escapeControl makes every control, format and separator character visible and keeps the rest", () => {
    expect(T.escapeControl("a\u001b[31mb\u009b1m\u202ec\n\t\r\u2028\u200b\u0000é😀")).toBe("a\\u001b[31mb\\u009b1m\\u202ec\\n\\t\\r\\u2028\\u200b\\u0000é😀");
    expect(T.escapeControl("\ud800x")).toBe("\\ud800x"); // a lone surrogate
    expect(T.escapeControl(T.escapeControl("\u001b"))).toBe("\\u001b"); // idempotent
  });

  it("quote tells strings from numbers, bounds long and deep values, and keeps NaN visible", () => {
    expect(T.quote("1")).toBe('"1"');
    expect(T.quote(1)).toBe("1");
    expect(T.quote([[1]])).toBe("[[1]]");
    expect(T.quote(NaN)).toBe("NaN");
    expect(T.quote({ a: [1, "x"] })).toBe('{"a":[1,"x"]}');
    expect(T.quote("x".repeat(1e7))).toBe(`"${"x".repeat(96)}...`);
    let deep: unknown = 0;
    for (let i = 0; i < 1e5; i++) deep = [deep];
    expect(T.quote(deep)).toBe("[[[[[...]]]]]");
    const wide = Array.from({ length: 1e6 }, (_, i) => i);
    expect(T.quote(wide, 20)).toBe("[0,1,2,3,4,5,6,7,...");
    expect(T.quote("\u001b")).toBe('"\\u001b"');
  });

  it("errors escape their messages and join lines in linear time", () => {
    expect(new InputError("bad \u001b[2J\nvalue").message).toBe("bad \\u001b[2J value");
    const e = new FileFormatError("dir/\u001bx", `a${" ".repeat(200_000)}\n b`);
    expect(e.file).toBe("dir/\\u001bx");
    expect(e.problem).toBe("a b");
  });
});
