// Entry of a sandbox child process: loads the TypeScript side through tsx.
import { tsImport } from "tsx/esm/api";

await tsImport("./sandbox-worker.ts", import.meta.url);
