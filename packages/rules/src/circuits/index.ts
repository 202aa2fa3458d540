/**
 * Circuit localization at the granularity of MIB's circuit track: its graph (senders: the
 * input, every head, every MLP; receivers: every head's q, k and v input, every MLP's input,
 * the logits), edge scores under any backward rules (EAP, EAP-IG), exact edge patching, and
 * circuits with MIB's faithfulness, CPR and CMD.
 */
export * from "./graph.js";
export * from "./select.js";
export * from "./edgeRuns.js";
export * from "./attribution.js";
export * from "./patchEdges.js";
export * from "./faithfulness.js";
export * from "./bootstrap.js";
export * from "./heldOut.js";
export * from "./graphFile.js";
export * from "./compareEdges.js";
