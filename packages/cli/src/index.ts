/**
 * `@gim/cli`: the `gim` command (`gim explain`, `gim logits`, `gim components`, `gim eval`)
 * and its parts, usable in-process: `runCli(argv, io)` runs a command line with captured output and returns the
 * exit code.
 *
 * ```ts
 * import { runCli } from "@gim/cli";
 * const out: string[] = [];
 * const code = await runCli(["logits", "--model", dir, "--ids", "5,17,3", "--json"], {
 *   stdout: { write: (s: string) => out.push(s) },
 *   stderr: process.stderr,
 *   env: {},
 *   cwd: process.cwd(),
 * });
 * ```
 *
 * @packageDocumentation
 */
export { runCli, processIO, overallHelp, oneLine, commands, ExitCode } from "./cli.js";
export type { CliIO, OutputStream, Command } from "./io.js";
export {
  parseArgs,
  formatHelp,
  isHelpArg,
  closest,
  editDistance,
  twoColumns,
  wrap,
  ParsedArgs,
  UsageError,
  type CommandSpec,
  type OptionSpec,
  type OptionKind,
  type OptionValue,
} from "./args.js";
export {
  DEFAULT_MODEL_DIR,
  RuntimeError,
  openModel,
  openTokenizer,
  hasTokenizerFiles,
  modelArg,
  resolveModel,
  inputIds,
  encodeText,
  openOptions,
  type OpenOptions,
  checkInput,
  requireTokenizer,
  positionOf,
  fromOption,
  checkTokenId,
  tokenText,
  type OpenedModel,
  type ResolvedModel,
} from "./model.js";
export { readBatch, runBatch, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, type BatchLine } from "./commands/explainBatch.js";
export { explainCommand, explainSpec, parseMethod, methodFlagName, methodAliases, gimSettings, requestedMethods, explanationJson } from "./commands/explain.js";
export { logitsCommand, logitsSpec } from "./commands/logits.js";
export { htmlReport, type HtmlReport } from "./html.js";
export {
  detectColorMode,
  divergingColor,
  xterm256,
  xterm256Rgb,
  paint,
  normalizeByMaxAbs,
  visibleWhitespace,
  inlineToken,
  displayWidth,
  formatNumber,
  renderTable,
  renderHeatmap,
  legend,
  type ColorMode,
  type Rgb,
  type Column,
  type HeatmapRow,
} from "./render.js";
