/**
 * `pnpm web` starts the explorable on localhost and prints its address; `pnpm web build
 * [--out DIR]` writes the static site (default packages/web/dist); `pnpm web preview` serves a
 * build. Options: --port N, --host H. `pnpm web bench [--shape S] [--runs N] [--repeat K]` times the page
 * in headless Chromium (scripts/bench.ts); `pnpm web screenshots` copies the browser tests'
 * screenshots (packages/web/test-artifacts) to the README's pictures in docs/img.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { build, createServer, preview } from "vite";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const configFile = path.join(root, "vite.config.ts");
const args = process.argv.slice(2);
const command = args[0] && !args[0].startsWith("-") ? args.shift()! : "dev";

function option(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) fail(`--${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function fail(message: string): never {
  process.stderr.write(`pnpm web: ${message}\nusage: pnpm web [dev|build|preview] [--port N] [--host H] [--out DIR] | pnpm web bench [--shape gpt2-small|gpt2-wide] [--runs N] [--repeat K] | pnpm web screenshots\n`);
  process.exit(2);
}

/** The README's pictures, each a copy of one browser-test screenshot. */
const SCREENSHOTS = [
  { artifact: "readme.png", picture: "web-explorable.png" },
  { artifact: "attention.png", picture: "web-attention.png" },
];

if (command === "bench") {
  const shape = option("shape") ?? "gpt2-small";
  const runs = option("runs") ?? "5";
  const repeat = option("repeat") ?? "1";
  if (!/^[1-9]\d*$/.test(repeat)) fail(`--repeat must be a positive whole number, got ${repeat}`);
  if (shape !== "gpt2-small" && shape !== "gpt2-wide") fail(`--shape must be gpt2-small or gpt2-wide, got ${shape}`);
  if (!/^[1-9]\d*$/.test(runs)) fail(`--runs must be a positive whole number, got ${runs}`);
  if (args.length > 0) fail(`unknown argument ${args[0]}`);
  const { bench } = await import("./bench.js");
  await bench(shape, Number(runs), Number(repeat)).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
  process.exit(0);
}

if (command === "screenshots") {
  if (args.length > 0) fail(`unknown argument ${args[0]}`);
  const artifacts = path.join(root, "test-artifacts");
  const pictures = path.join(root, "..", "..", "docs", "img");
  for (const { artifact } of SCREENSHOTS) {
    if (!fs.existsSync(path.join(artifacts, artifact))) fail(`${path.join(artifacts, artifact)} is missing: run the browser tests first (npx vitest run packages/web/test/browser.test.ts)`);
  }
  for (const { artifact, picture } of SCREENSHOTS) {
    const from = path.join(artifacts, artifact);
    fs.copyFileSync(from, path.join(pictures, picture));
    process.stdout.write(`docs/img/${picture} <- packages/web/test-artifacts/${artifact} (taken ${fs.statSync(from).mtime.toISOString().slice(0, 16)} UTC)\n`);
  }
  process.exit(0);
}

const port = option("port");
const host = option("host") ?? "127.0.0.1";
const out = option("out");
if (port !== undefined && !/^\d+$/.test(port)) fail(`--port must be a number, got ${port}`);
if (args.length > 0) fail(`unknown argument ${args[0]}`);
const server = { host, ...(port ? { port: Number(port), strictPort: true } : {}) };

if (command === "build") {
  const outDir = out ? path.resolve(out) : path.join(root, "dist");
  await build({ configFile, configLoader: "runner", logLevel: "warn", build: { outDir } });
  process.stdout.write(`wrote the static site to ${outDir}\n(serve that folder with any static file server, e.g. pnpm web preview, or publish it: see packages/web/README.md)\n`);
} else if (command === "dev" || command === "preview") {
  const s = command === "dev"
    ? await createServer({ configFile, configLoader: "runner", server, logLevel: "warn" }).then((v) => v.listen())
    : await preview({ configFile, configLoader: "runner", preview: server, logLevel: "warn", ...(out ? { build: { outDir: path.resolve(out) } } : {}) });
  const address = s.resolvedUrls?.local[0] ?? `http://${host}:${port ?? 5173}/`;
  process.stdout.write(`GIM explorable: ${address}\n(press Ctrl+C to stop)\n`);
} else {
  fail(`unknown command ${command}`);
}
