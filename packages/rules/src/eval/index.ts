/**
 * The evaluation behind `gim eval` and `docs/results.md`: token attribution faithfulness,
 * component attribution against exact patching, and attention self-repair, over models with
 * held-out data; the markdown report and its SVG plots.
 */
export * from "./task.js";
export * from "./stats.js";
export * from "./tokens.js";
export * from "./components.js";
export * from "./selfRepair.js";
export * from "./run.js";
export * from "./plot.js";
export * from "./report.js";
