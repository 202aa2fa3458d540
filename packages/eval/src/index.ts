/**
 * `@gim/eval`: the evaluation behind `gim eval` and `docs/results.md`. Token attribution
 * faithfulness (comprehensiveness, sufficiency, evidence hit rate), component attribution
 * against exact patching with MIB-style circuit faithfulness, and attention self-repair, over
 * models with held-out data; the markdown report (one function per section) and its SVG plots.
 *
 * ```ts
 * import { buildEvalTask, runEval, renderReport, sizesOf } from "@gim/eval";
 * const results = runEval([buildEvalTask("ioi", model, tokenizer, { name: "ioi-gpt2", sizes: sizesOf(8) })]);
 * const { markdown, plots } = renderReport(results, meta);   // or writeReport(file, results, meta) from "@gim/eval/node"
 * ```
 *
 * @packageDocumentation
 */
export * from "./task.js";
export * from "./stats.js";
export * from "./tokenEval.js";
export * from "./componentEval.js";
export * from "./circuitEval.js";
export * from "./selfRepairEval.js";
export * from "./selfRepairProtocolEval.js";
export * from "./run.js";
export * from "./tasks.js";
export * from "./report/index.js";
