/**
 * The package graph as the README draws it: each package imports only packages before it in
 * `order` (no arrow points back up), declares every package it imports, and its main entry
 * (and everything it reaches by relative imports) imports no Node built-in, so it bundles for
 * a browser; only `/node` entries may (and `@gim/cli`, which is a Node program).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const order = ["tensor", "autograd", "transformer", "rules", "report", "models", "eval", "cli", "web"];
const nodeBuiltins = new Set(["fs", "path", "os", "url", "crypto", "child_process", "worker_threads", "stream", "util", "module", "process"]);

function packageJson(name: string): { name: string; dependencies?: Record<string, string>; exports?: Record<string, string> } {
  return JSON.parse(fs.readFileSync(path.join(root, "packages", name, "package.json"), "utf8"));
}

/** The module specifiers a TypeScript file imports (static and dynamic), comments and strings aside. */
function importsOf(file: string): string[] {
  const source = fs.readFileSync(file, "utf8");
  // `import type`, `export type` and `typeof import("node:x")` are types only: erased, they load nothing.
  return [...source.matchAll(/(?:^|\n)\s*(?:import|export)\s(?!type\s)[^;]*?from\s+"([^"]+)"|(?<!typeof )import\(\s*"([^"]+)"\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

/** Every source file reached from `entry` by relative imports. */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of importsOf(file)) if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")));
  };
  visit(entry);
  return [...seen];
}

describe("the package graph", () => {
  it("lists every package", () => {
    const dirs = fs.readdirSync(path.join(root, "packages")).filter((d) => fs.existsSync(path.join(root, "packages", d, "package.json")));
    expect(dirs.sort()).toEqual([...order].sort());
  });

  for (const [i, name] of order.entries()) {
    it(`@gim/${name} imports only packages before it, and declares them`, () => {
      const declared = Object.keys(packageJson(name).dependencies ?? {}).filter((d) => d.startsWith("@gim/"));
      for (const dep of declared) expect(order.indexOf(dep.slice(5)), `${name} -> ${dep}`).toBeLessThan(i);
      const srcDir = path.join(root, "packages", name, "src");
      const files = fs.readdirSync(srcDir, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"));
      for (const f of files) {
        for (const spec of importsOf(path.join(srcDir, f))) {
          if (!spec.startsWith("@gim/")) continue;
          const pkg = spec.split("/").slice(0, 2).join("/");
          expect(declared, `${name}/src/${f} imports ${spec}`).toContain(pkg);
        }
      }
    });

    if (name === "cli") continue;
    // The web page has no package entry: its page script and its worker run in the browser.
    const entries = name === "web" ? ["src/main.ts", "src/worker.ts"] : [packageJson(name).exports!["."]!];
    it(`@gim/${name}'s main entry reaches no Node built-in`, () => {
      for (const file of entries.flatMap((e) => reachable(path.join(root, "packages", name, e)))) {
        for (const spec of importsOf(file)) {
          const bare = spec.replace(/^node:/, "");
          expect(spec.startsWith("node:") || nodeBuiltins.has(bare), `${path.relative(root, file)} imports ${spec}`).toBe(false);
          if (spec.startsWith("@gim/")) expect(spec.endsWith("/node"), `${path.relative(root, file)} imports ${spec}`).toBe(false);
        }
      }
    });
  }
});
