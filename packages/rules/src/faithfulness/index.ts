/**
 * Faithfulness of token attributions (comprehensiveness, sufficiency, evidence hit rate, as
 * docs/GIM.md defines them) and the attention self-repair measurement behind TSG.
 */
export * from "./ranking.js";
export * from "./tokenFaithfulness.js";
export * from "./evidence.js";
export * from "./selfRepair.js";
export * from "./selfRepairProtocol.js";
export * from "./selfRepairCircuitError.js";
