/**
 * Module path globs over dot-separated paths: `*` matches one segment (or, inside a
 * segment, any characters of it), `**` matches any number of segments (including none).
 * `h.*.attn` matches `h.3.attn`; `h.*.attn.**` matches `h.3.attn` and `h.3.attn.c_attn`.
 */
import { InputError } from "@gim/tensor";

/** A compiled glob: call `test(path)`. */
export interface PathGlob {
  readonly pattern: string;
  test(path: string): boolean;
}

/** Compiles a module path glob (see the top of this file); throws on an empty segment. */
export function compileGlob(pattern: string): PathGlob {
  const parts = pattern === "" ? [] : pattern.split(".");
  if (parts.some((p) => p === "")) throw new InputError(`path glob '${pattern}' has an empty segment`);
  const segment = parts.map((p) => (p === "**" ? null : new RegExp(`^${p.split("*").map(escapeRegExp).join("[^.]*")}$`)));
  // Whether parts[i..] match segs[j..]. Memoized: without it, each `**` multiplies the work by
  // the path length (seven of them on a 40-segment path took a second).
  const test = (path: string): boolean => {
    const segs = path === "" ? [] : path.split(".");
    const memo = new Map<number, boolean>();
    const matchFrom = (i: number, j: number): boolean => {
      if (i === parts.length) return j === segs.length;
      const key = i * (segs.length + 1) + j;
      let result = memo.get(key);
      if (result !== undefined) return result;
      const re = segment[i];
      if (re === null) {
        result = false;
        for (let k = j; k <= segs.length && !result; k++) result = matchFrom(i + 1, k);
      } else {
        result = j < segs.length && re!.test(segs[j]!) && matchFrom(i + 1, j + 1);
      }
      memo.set(key, result);
      return result;
    };
    return matchFrom(0, 0);
  };
  return { pattern, test };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
