/**
 * `@gim/report`: small helpers that long runs and their reports share, with no dependencies:
 * a progress line for terminals and logs, durations for people, SVG line and scatter charts with the
 * project's colour palette, and token heatmaps as HTML. Training (`@gim/models`) and the evaluation (`@gim/eval`) use them.
 *
 * @packageDocumentation
 */
export * from "./duration.js";
export * from "./progress.js";
export * from "./lineChart.js";
export * from "./scatterChart.js";
export * from "./heatmap.js";
