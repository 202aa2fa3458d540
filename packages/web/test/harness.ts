/**
 * What the browser tests share: one build of the site per run, a static file server on
 * localhost (as any host of the built site would serve it), and Debian's Chromium driven by
 * playwright-core.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";

export const webRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Where the tests find Chromium (CHROMIUM overrides it). */
export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = fs.existsSync(chromiumPath);
/** Screenshots and other artifacts of the run (kept after it; CI can upload them). */
export const artifactsDir = path.join(webRoot, "test-artifacts");

/** Builds the site into a fresh temporary folder. */
export async function buildSite(): Promise<string> {
  const { build } = await import("vite");
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-web-"));
  await build({ configFile: path.join(webRoot, "vite.config.ts"), configLoader: "runner", logLevel: "warn", build: { outDir } });
  return outDir;
}

const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };

/**
 * Serves `dir` on 127.0.0.1 at a free port, with `headers` on every response (the isolation
 * headers, as `pnpm web preview` sends them, or none, as a host that cannot set headers), and
 * a 404 for paths matching `refuse`; returns its address and a function that stops it.
 */
export async function serveStatic(dir: string, headers: Record<string, string> = {}, refuse?: RegExp): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const url = new URL(req.url ?? "/", "http://localhost");
    const file = path.join(dir, decodeURIComponent(url.pathname));
    const target = file.endsWith("/") ? path.join(file, "index.html") : file;
    if (refuse?.test(url.pathname) || !target.startsWith(dir) || !fs.existsSync(target) || !fs.statSync(target).isFile()) {
      res.statusCode = 404;
      res.end("not found");
      return;
    }
    res.setHeader("Content-Type", types[path.extname(target)] ?? "application/octet-stream");
    res.end(fs.readFileSync(target));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a browser keeps its connections open
      }),
  };
}

/**
 * Chromium, headless, with the flags that keep it off the network and WebGL on SwiftShader
 * (software); `serviceWorkers: "block"` keeps the site's service worker from registering.
 */
export async function launchChromium(options: { serviceWorkers?: "allow" | "block" } = {}) {
  const { chromium } = await import("playwright-core");
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    serviceWorkers: options.serviceWorkers ?? "allow",
    viewport: { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
