/**
 * `runEval`: the whole evaluation of `gim eval` over a list of tasks (a model and its held-out
 * data each): token attribution faithfulness for every method, component attribution against
 * exact patching (plain gradient vs GIM), the attention self-repair measurement, and the GIM
 * paper's self-repair protocol with its link to circuit error.
 */
import { gim, methodRules, type SelfRepairCriteria, type GradientMethod } from "@gim/rules";
import { InputError } from "@gim/tensor";
import { describeLayout, type CausalLM } from "@gim/transformer";
import { evaluateCircuits, type CircuitEvalResult, type CircuitGridOptions } from "./circuitEval.js";
import { evaluateComponents, type ComponentEvalResult } from "./componentEval.js";
import { evaluateSelfRepair, type SelfRepairResult } from "./selfRepairEval.js";
import { evaluateSelfRepairProtocol, type ProtocolEvalResult } from "./selfRepairProtocolEval.js";
import { evalMethods, type EvalExample, type EvalMethod, type EvalTask } from "./task.js";
import { evaluateTokenExample, summarizeTokens, type TokenExampleResult, type TokenResult } from "./tokenEval.js";

/** Where the evaluation is (for a progress display). */
export interface EvalProgress {
  /** The task (model) being evaluated. */
  readonly model: string;
  readonly stage: "tokens" | "components" | "circuits" | "self-repair" | "self-repair protocol";
  /** Units done and in total, over every task (an example or a pair is one unit). */
  readonly done: number;
  readonly total: number;
}

/** Options of {@link runEval}. */
export interface EvalOptions {
  /** Token attribution methods (default all of {@link evalMethods}). */
  readonly methods?: readonly EvalMethod[];
  /** Seed of the random baseline (default 0). */
  readonly seed?: number;
  /** Integrated gradients steps (default 32). */
  readonly igSteps?: number;
  /** Sequences per forward pass (default 64). */
  readonly batchSize?: number;
  /** Run the component evaluation (default true). */
  readonly components?: boolean;
  /** Run the circuit evaluation with MIB's held-out protocol (default true; needs the tasks' `circuitPairs`). */
  readonly circuits?: boolean;
  /** Which methods the circuit evaluation runs (default: the headline, the ablation grid and the TSG sweep). */
  readonly circuitGrid?: CircuitGridOptions;
  /** Bootstrap resamples of the circuit evaluation's intervals (default 2000). */
  readonly resamples?: number;
  /** Run the self-repair measurement (default true). */
  readonly selfRepair?: boolean;
  /** Self-repair: weight both keys must hold (default 0.2). */
  readonly minWeight?: number;
  /** Self-repair criteria (defaults: joint effect >= 5% of f(x), single effects <= half of it together). */
  readonly criteria?: SelfRepairCriteria;
  /** Run the paper's self-repair protocol and its circuit-error link (default true; the link needs the tasks' `circuitPairs`). */
  readonly protocol?: boolean;
  /** Protocol: keys count when c_k > threshold (default 1, the reference's). */
  readonly protocolThreshold?: number;
  /** Protocol: share of rows called high-interaction (default 0.05). */
  readonly protocolTop?: number;
  /** Protocol: measure the link to circuit error (default true). */
  readonly protocolLink?: boolean;
  /** Called as work is done. */
  readonly onProgress?: (progress: EvalProgress) => void;
}

/** The evaluation of one task. */
export interface ModelEvalResult {
  readonly name: string;
  readonly description: string;
  /** `gpt2, 2 layers, 4 heads, width 64, vocab 695`. */
  readonly architecture: string;
  readonly baseline: string;
  readonly pairDescription: string;
  readonly evidenceSets: EvalTask["evidenceSets"];
  readonly tokens: TokenResult;
  readonly components?: ComponentEvalResult;
  /** How the circuit evaluation's pairs were made (for the report). */
  readonly circuitPairDescription?: string;
  readonly circuits?: CircuitEvalResult;
  readonly selfRepair?: SelfRepairResult;
  readonly protocol?: ProtocolEvalResult;
  /** Wall-clock seconds per stage. */
  readonly seconds: { readonly tokens: number; readonly components: number; readonly circuits: number; readonly selfRepair: number; readonly protocol?: number };
}

/** The evaluation of every task. */
export interface EvalResults {
  readonly methods: readonly EvalMethod[];
  readonly seed: number;
  readonly igSteps: number;
  readonly models: readonly ModelEvalResult[];
  /** Wall-clock seconds of the whole run. */
  readonly seconds: number;
}

/** The two methods the component and self-repair parts compare, plus TSG alone for self-repair. */
export function componentMethods(): GradientMethod[] {
  return [
    { name: "gradient", rules: [] },
    { name: "gim", rules: gim() },
  ];
}

/** The methods of the self-repair measurement: plain gradient, TSG alone, and GIM (named as `gim --method` names them). */
export function selfRepairMethods(): GradientMethod[] {
  return [
    { name: "gradient", rules: [] },
    { name: "softmax-temperature", rules: methodRules("softmaxTemperature") },
    { name: "gim", rules: gim() },
  ];
}

/** `gpt2, 2 layers, 4 heads, width 64, vocab 695`. */
export function describeArchitecture(model: CausalLM): string {
  return `${model.config.modelType}, ${describeLayout(model.layout)}, vocab ${model.vocabSize}`;
}

/** The examples of a task's self-repair protocol. */
function protocolExamplesOf(task: EvalTask): readonly EvalExample[] {
  return task.protocolExamples ?? task.selfRepairExamples;
}

/** Progress units of a task's protocol: its examples and, with the link, its scoring pairs. */
function protocolUnitsOf(task: EvalTask, options: EvalOptions): number {
  const examples = protocolExamplesOf(task).length;
  if (examples === 0) return 0;
  return examples + ((options.protocolLink ?? true) && task.circuitPairs ? task.circuitPairs.score.length : 0);
}

/** The protocol (and its link, on the task's circuit scoring pairs) of one task, undefined without examples. */
function protocolOf(task: EvalTask, options: EvalOptions, onProgress: (units: number) => void): ProtocolEvalResult | undefined {
  const examples = protocolExamplesOf(task);
  if (examples.length === 0) return undefined;
  return evaluateSelfRepairProtocol(task.model, examples, {
    ...(options.protocolThreshold !== undefined ? { threshold: options.protocolThreshold } : {}),
    ...(options.protocolTop !== undefined ? { top: options.protocolTop } : {}),
    ...((options.protocolLink ?? true) && task.circuitPairs ? { linkPairs: task.circuitPairs.score } : {}),
    ...(options.resamples !== undefined ? { resamples: options.resamples } : {}),
    seed: options.seed ?? 0,
    batchSize: options.batchSize,
    onProgress,
  });
}

/** The self-repair parts of one model, run on their own ({@link runProtocol}). */
export interface ModelProtocolResult {
  readonly name: string;
  readonly architecture: string;
  /** The self-repair measurement, when asked for (`selfRepair: true`). */
  readonly selfRepair?: SelfRepairResult;
  readonly protocol?: ProtocolEvalResult;
  /** Wall-clock seconds. */
  readonly seconds: number;
}

/** The self-repair parts of every task, run on their own. */
export interface ProtocolResults {
  readonly seed: number;
  readonly models: readonly ModelProtocolResult[];
  readonly seconds: number;
}

/**
 * Only the self-repair parts, for every task: the paper's protocol and its link (`protocol`,
 * default true) and our self-repair measurement (`selfRepair`, default false). This is what
 * `gim eval --only-protocol` and `--only-self-repair` run, to regenerate those sections of a
 * report without the rest of the evaluation.
 */
export function runProtocol(tasks: readonly EvalTask[], options: Omit<EvalOptions, "methods" | "components" | "circuits"> = {}): ProtocolResults {
  if (tasks.length === 0) throw new InputError("runProtocol: no models to evaluate");
  const withSelfRepair = options.selfRepair ?? false;
  const withProtocol = options.protocol ?? true;
  if (!withSelfRepair && !withProtocol) throw new InputError("runProtocol: neither the self-repair measurement nor the protocol was asked for");
  const total = tasks.reduce((s, t) => s + (withSelfRepair ? t.selfRepairExamples.length : 0) + (withProtocol ? protocolUnitsOf(t, options) : 0), 0);
  let done = 0;
  const started = performance.now();
  const models = tasks.map((task): ModelProtocolResult => {
    const t0 = performance.now();
    const progress = (stage: EvalProgress["stage"], n: number) => {
      done += n;
      options.onProgress?.({ model: task.name, stage, done, total });
    };
    if (withSelfRepair) progress("self-repair", 0);
    const selfRepair = withSelfRepair ? selfRepairOf(task, options, () => progress("self-repair", 1)) : undefined;
    if (withProtocol) progress("self-repair protocol", 0);
    const protocol = withProtocol ? protocolOf(task, options, (n) => progress("self-repair protocol", n)) : undefined;
    return { name: task.name, architecture: describeArchitecture(task.model), ...(selfRepair ? { selfRepair } : {}), ...(protocol ? { protocol } : {}), seconds: (performance.now() - t0) / 1000 };
  });
  return { seed: options.seed ?? 0, models, seconds: (performance.now() - started) / 1000 };
}

/** The self-repair measurement of one task (its self-repair examples, the three methods of {@link selfRepairMethods}). */
function selfRepairOf(task: EvalTask, options: EvalOptions, onExample: () => void): SelfRepairResult {
  return evaluateSelfRepair(task.model, task.selfRepairExamples, {
    methods: selfRepairMethods(),
    minWeight: options.minWeight,
    criteria: options.criteria,
    batchSize: options.batchSize,
    ...(options.resamples !== undefined ? { resamples: options.resamples } : {}),
    seed: options.seed ?? 0,
    onExample,
  });
}

/** Runs the evaluation of every task (see the top of this file). */
export function runEval(tasks: readonly EvalTask[], options: EvalOptions = {}): EvalResults {
  const methods = options.methods ?? evalMethods;
  if (methods.length === 0) throw new InputError("runEval: no methods to evaluate");
  if (tasks.length === 0) throw new InputError("runEval: no models to evaluate");
  const seed = options.seed ?? 0;
  const igSteps = options.igSteps ?? 32;
  const withComponents = options.components ?? true;
  const withSelfRepair = options.selfRepair ?? true;
  const withCircuits = options.circuits ?? true;
  const withProtocol = options.protocol ?? true;
  const circuitUnits = (t: EvalTask) => (withCircuits && t.circuitPairs ? t.circuitPairs.score.length + t.circuitPairs.evaluate.length : 0);
  const protocolUnits = (t: EvalTask) => (withProtocol ? protocolUnitsOf(t, options) : 0);
  for (const t of tasks) {
    if (t.examples.length === 0) throw new InputError(`${t.name}: no held-out examples`);
    if (withComponents && t.pairs.length === 0) throw new InputError(`${t.name}: no clean/corrupted pairs for the component evaluation`);
  }
  const total = tasks.reduce((s, t) => s + t.examples.length + (withComponents ? t.pairs.length : 0) + (withSelfRepair ? t.selfRepairExamples.length : 0) + circuitUnits(t) + protocolUnits(t), 0);
  let done = 0;
  const started = performance.now();
  const models = tasks.map((task): ModelEvalResult => {
    const progress = (stage: EvalProgress["stage"], units: number) => {
      done += units;
      options.onProgress?.({ model: task.name, stage, done, total });
    };
    options.onProgress?.({ model: task.name, stage: "tokens", done, total });
    let t0 = performance.now();
    const perExample: TokenExampleResult[] = task.examples.map((e, i) => {
      const alignmentEvidence = task.evidenceSets[0]?.name;
      const r = evaluateTokenExample(task.model, task.baseline, e, i, methods, { seed, igSteps, batchSize: options.batchSize, ...(alignmentEvidence !== undefined ? { alignmentEvidence } : {}) });
      progress("tokens", 1);
      return r;
    });
    const tokens = summarizeTokens(task, perExample, methods);
    const tokenSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const components = withComponents
      ? evaluateComponents(task.model, task.pairs, { methods: componentMethods(), batchSize: options.batchSize, onGroup: (n) => progress("components", n) })
      : undefined;
    const componentSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const circuits =
      withCircuits && task.circuitPairs
        ? evaluateCircuits(task.model, task.circuitPairs.score, task.circuitPairs.evaluate, {
            ...options.circuitGrid,
            seed,
            batchSize: options.batchSize,
            ...(options.resamples !== undefined ? { resamples: options.resamples } : {}),
            onProgress: (_, n) => progress("circuits", n),
          })
        : undefined;
    const circuitSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const selfRepair = withSelfRepair ? selfRepairOf(task, options, () => progress("self-repair", 1)) : undefined;
    const selfRepairSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const protocol = withProtocol ? protocolOf(task, options, (n) => progress("self-repair protocol", n)) : undefined;
    const protocolSeconds = (performance.now() - t0) / 1000;
    return {
      name: task.name,
      description: task.description,
      architecture: describeArchitecture(task.model),
      baseline: task.baselineDescription,
      pairDescription: task.pairDescription,
      evidenceSets: task.evidenceSets,
      tokens,
      ...(components ? { components } : {}),
      ...(circuits ? { circuits, circuitPairDescription: task.pairDescription } : {}),
      ...(selfRepair ? { selfRepair } : {}),
      ...(protocol ? { protocol } : {}),
      seconds: { tokens: tokenSeconds, components: componentSeconds, circuits: circuitSeconds, selfRepair: selfRepairSeconds, ...(protocol ? { protocol: protocolSeconds } : {}) },
    };
  });
  return { methods, seed, igSteps, models, seconds: (performance.now() - started) / 1000 };
}
