/**
 * Module path globs over dot-separated paths: `*` matches one segment (or, inside a
 * segment, any characters of it), `**` matches any number of segments (including none).
 * `h.*.attn` matches `h.3.attn`; `h.*.attn.**` matches `h.3.attn` and `h.3.attn.c_attn`.
 */

/** A compiled glob: call `test(path)`. */
export interface PathGlob {
  readonly pattern: string;
  test(path: string): boolean;
}

/** Compiles a module path glob (see the top of this file); throws on an empty segment. */
export function compileGlob(pattern: string): PathGlob {
  const parts = pattern === "" ? [] : pattern.split(".");
  if (parts.some((p) => p === "")) throw new RangeError(`path glob '${pattern}' has an empty segment`);
  const segment = parts.map((p) => (p === "**" ? null : new RegExp(`^${p.split("*").map(escapeRegExp).join("[^.]*")}$`)));
  const matchFrom = (i: number, segs: string[], j: number): boolean => {
    if (i === parts.length) return j === segs.length;
    const re = segment[i];
    if (re === null) {
      for (let k = j; k <= segs.length; k++) if (matchFrom(i + 1, segs, k)) return true;
      return false;
    }
    return j < segs.length && re!.test(segs[j]!) && matchFrom(i + 1, segs, j + 1);
  };
  return {
    pattern,
    test: (path) => matchFrom(0, path === "" ? [] : path.split("."), 0),
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
