/**
 * Vite builds the explorable as a static site. The shipped models (the Hugging Face folders
 * of @gim/models) are served at `models/<name>/<file>` in development and copied there in a
 * build; `virtual:shipped-models` lists them for the page.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { shippedModels } from "@gim/models";

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.join(here, "..", "models", "models");
/** The files of a model folder the page reads (not the training logs and plots shipped beside them). */
const MODEL_FILE = /^(config\.json|.*\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|vocab\.json|merges\.txt)$/;

interface ShippedFolder {
  name: string;
  files: string[];
  bytes: number;
}

function shippedFolders(): ShippedFolder[] {
  return shippedModels.map((name) => {
    const dir = path.join(modelsDir, name);
    const files = fs.readdirSync(dir).filter((f) => MODEL_FILE.test(f)).sort();
    return { name, files, bytes: files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0) };
  });
}

function shippedModelsPlugin(): Plugin {
  const id = "virtual:shipped-models";
  return {
    name: "gim-shipped-models",
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load: (source) => (source === `\0${id}` ? `export default ${JSON.stringify(shippedFolders())};` : undefined),
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/models\/([^/]+)\/([^/?]+)/.exec(req.url ?? "");
        const folder = m && shippedFolders().find((f) => f.name === m[1]);
        if (!m || !folder || !folder.files.includes(m[2]!)) return next();
        res.setHeader("Content-Type", m[2]!.endsWith(".json") ? "application/json" : "application/octet-stream");
        for (const [name, value] of Object.entries(isolationHeaders)) res.setHeader(name, value);
        res.end(fs.readFileSync(path.join(modelsDir, m[1]!, m[2]!)));
      });
    },
    generateBundle() {
      for (const folder of shippedFolders()) {
        for (const file of folder.files) {
          this.emitFile({ type: "asset", fileName: `models/${folder.name}/${file}`, source: fs.readFileSync(path.join(modelsDir, folder.name, file)) });
        }
      }
    },
  };
}

/**
 * A service worker that makes the built site work offline once loaded: it caches every file of
 * the build (page, scripts, shipped models) when it installs, and answers from that cache when
 * the network fails. Its cache name carries a hash of the file list, so a new build replaces it.
 * It also adds the cross-origin isolation headers to every response it gives, for hosts that
 * cannot send them.
 */
function offlinePlugin(): Plugin {
  return {
    name: "gim-offline",
    enforce: "post",
    // The page registers the service worker in a build only (not under the dev server).
    config: (_config, env) => ({ define: { __SERVICE_WORKER__: JSON.stringify(env.command === "build") } }),
    generateBundle(_options, bundle) {
      if (this.environment.config.command !== "build") return;
      const files = ["./", ...Object.keys(bundle).map((f) => `./${f}`)].sort();
      let hash = 0;
      for (const ch of files.join("\n")) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
      const source = fs.readFileSync(path.join(here, "src", "sw.js"), "utf8")
        .replace("__CACHE__", JSON.stringify(`gim-explorable-${(hash >>> 0).toString(16)}`))
        .replace("__FILES__", JSON.stringify(files))
        .replace("__HEADERS__", JSON.stringify(isolationHeaders));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

/**
 * Cross-origin isolation: with these headers the page gets SharedArrayBuffer, and the CPU
 * matmul runs on a pool of Web Workers over shared WebAssembly memory. The dev server and
 * `pnpm web preview` send them; on a host that cannot (GitHub Pages) the service worker adds
 * them (src/sw.js), and without either the matmul runs on one thread.
 */
export const isolationHeaders = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

export default defineConfig({
  root: here,
  // Relative URLs: the built site works from any folder of any static file server.
  base: "./",
  plugins: [shippedModelsPlugin(), offlinePlugin()],
  worker: { format: "es" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  server: { host: "127.0.0.1", headers: isolationHeaders },
  preview: { host: "127.0.0.1", headers: isolationHeaders },
});
