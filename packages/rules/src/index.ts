/**
 * `@gim/rules`: Gradient Interaction Modifications as backward rules bound to a model's
 * named places, and `explain()` for token attributions.
 *
 * ```ts
 * const out = model.forward({ embeds: e });
 * const [plain] = grad(out.logit(-1, target), [e]);
 * const [modified] = grad(out.logit(-1, target), [e], { rules: gim() });
 * ```
 *
 * @packageDocumentation
 */
export * from "./rules/freezeNorm.js";
export * from "./rules/softmaxTemperature.js";
export * from "./rules/gradientScale.js";
export * from "./gim.js";
export * from "./bind.js";
export * from "./explain.js";
export * from "./trace.js";
export * from "./components/index.js";
export * from "./faithfulness/index.js";
export * from "./circuits/index.js";
