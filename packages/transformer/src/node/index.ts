/**
 * `@gim/transformer/node`: model folders on disk, for Node. Everything else (models, config
 * parsing, safetensors and tokenizers in memory) is in `@gim/transformer`, which runs in
 * browsers too.
 *
 * ```ts
 * import { loadModel, loadTokenizer } from "@gim/transformer/node";
 * const model = loadModel("path/to/folder");
 * const tokenizer = await loadTokenizer("path/to/folder");
 * ```
 *
 * @packageDocumentation
 */
export { nodeFolder, folderProblem, openRegularFile, readRegularFile, type FileErrorClass } from "./folder.js";
export { loadModel, readConfig } from "./load.js";
export { openSafetensors, openShardedSafetensors, openSafetensorsFolder } from "./open-safetensors.js";
export { writeSafetensors } from "./write-safetensors.js";
export { hubCacheDir, hubSnapshotDir, isHubId, type HubEnvironment } from "./hub.js";
export { loadTokenizer, saveTokenizer, writeGpt2TokenizerFiles, writeTokenizerJson } from "./tokenizer.js";
