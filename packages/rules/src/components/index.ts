/**
 * Component attribution: attention heads, MLPs and the edges between them scored by
 * attribution patching (plain gradients or GIM), exact activation patching as the ground
 * truth, and circuit faithfulness after the Mechanistic Interpretability Benchmark.
 */
export * from "./components.js";
export * from "./logitMetric.js";
export * from "./heads.js";
export * from "./pair.js";
export * from "./attribution.js";
export * from "./patching.js";
export * from "./exact.js";
export * from "./agreement.js";
export * from "./circuit.js";
export * from "./edges.js";
export * from "./compare.js";
