/**
 * What the page computes, with no DOM: it runs in the Web Worker (and in Node, in tests).
 *
 * One prompt is run forward once ({@link Explorer.record}); every change of a switch, slider
 * or target then differentiates that same recorded graph again with another rule set
 * ({@link Explorer.attribute}): the design's point, rules are chosen at backward time, so no
 * new forward is needed when a rule changes.
 */
import { grad, noGrad, variable, type Var } from "@gim/autograd";
import {
  bindRules, compareComponentMethods, defaultBaseline, gim, gimDefaults, gimOff, gradientTimesDelta, groupTrace, listEdges, logitDiff,
  type GimOptions, type LayerFirings,
} from "@gim/rules";
import * as T from "@gim/tensor";
import { InputError, type Tensor } from "@gim/tensor";
import {
  Gpt2Model, loadModelFrom, parseConfig, placeVars, tokenizerFromFolder, type CausalLM, type ForwardResult, type Gpt2Config, type ModelFolder, type Tokenizer,
} from "@gim/transformer";

/** The four modifications, each on or off, and the value each takes when on. */
export interface Settings {
  readonly freezeNorm: boolean;
  readonly tsg: boolean;
  readonly qkv: boolean;
  readonly gateUp: boolean;
  readonly temperature: number;
  readonly qScale: number;
  readonly kScale: number;
  readonly vScale: number;
  readonly gateScale: number;
  readonly upScale: number;
}

/** Every modification on, at the reference package's values. */
export const defaultSettings: Settings = Object.freeze({ freezeNorm: true, tsg: true, qkv: true, gateUp: true, ...pick(gimDefaults) });

function pick(o: Required<GimOptions>) {
  return { temperature: o.temperature, qScale: o.qScale, kScale: o.kScale, vScale: o.vScale, gateScale: o.gateScale, upScale: o.upScale };
}

/** The `gim()` options of the settings: a part that is switched off takes its "off" value. */
export function gimOptionsOf(s: Settings): Required<GimOptions> {
  return {
    freezeNorm: s.freezeNorm,
    temperature: s.tsg ? s.temperature : gimOff.temperature,
    qScale: s.qkv ? s.qScale : gimOff.qScale,
    kScale: s.qkv ? s.kScale : gimOff.kScale,
    vScale: s.qkv ? s.vScale : gimOff.vScale,
    gateScale: s.gateUp ? s.gateScale : gimOff.gateScale,
    upScale: s.gateUp ? s.upScale : gimOff.upScale,
  };
}

/**
 * Shapes of random-weight models for timing the page on a model larger than the shipped ones,
 * with no download: GPT-2 small's (124M parameters with GPT-2's vocabulary), and a small one
 * whose products are just large enough to be shared out to the matmul's threads (the browser
 * tests use it). The vocabulary is the loaded model's, so its tokenizer reads the prompt.
 */
export const timingShapes = {
  "gpt2-small": { model_type: "gpt2", n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
  "gpt2-wide": { model_type: "gpt2", n_positions: 256, n_embd: 256, n_layer: 2, n_head: 4 },
} as const;

/** A random-weight GPT-2 (seed 1) of one of {@link timingShapes}, with `vocabSize` tokens. */
export function timingModel(shape: keyof typeof timingShapes, vocabSize: number): CausalLM {
  const json = timingShapes[shape];
  if (!json) throw new InputError(`unknown timing model ${JSON.stringify(shape)}; known: ${Object.keys(timingShapes).join(", ")}`);
  return Gpt2Model.random(parseConfig({ ...json, vocab_size: vocabSize }, shape) as Gpt2Config, { seed: 1 });
}

/** A model as the page describes it. */
export interface ModelInfo {
  readonly name: string;
  readonly modelType: string;
  readonly layers: number;
  readonly heads: number;
  readonly hidden: number;
  readonly vocab: number;
  readonly parameters: number;
  /** Per block: its path, its attention's path, its MLP's path and whether the MLP is gated. */
  readonly blocks: readonly { path: string; attn: string; mlp: string; gated: boolean; norms: string[] }[];
  readonly finalNorm: string;
}

/** One of the top predictions at the target position. */
export interface Prediction {
  readonly id: number;
  readonly token: string;
  readonly logit: number;
  readonly probability: number;
}

/** A recorded forward pass. */
export interface Recorded {
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
  readonly position: number;
  readonly baseline: number;
  readonly predictions: readonly Prediction[];
  /** Milliseconds the forward pass took. */
  readonly forwardMs: number;
}

/** Attributions of one target under plain backward and under the settings' rules, from the one recorded forward. */
export interface Attributions {
  readonly target: number;
  readonly targetToken: string;
  readonly logit: number;
  readonly plain: readonly number[];
  readonly gim: readonly number[];
  /** Which rules fired where, by layer. */
  readonly trace: readonly LayerFirings[];
  /** Rules the model has no place for (gate/up scales on GPT-2). */
  readonly skipped: readonly { rule: string; reason: string }[];
  /** Number of backward passes and forward passes this explorer has run so far. */
  readonly backwardPasses: number;
  readonly forwardPasses: number;
  /** Milliseconds the two backward passes took: plain, then GIM (with its trace). */
  readonly backwardMs: readonly [plain: number, gim: number];
}

/** One attention row under the softmax Jacobian, plain and with TSG (docs/how-gim-changes-backprop.md). */
export interface JacobianRow {
  readonly layer: number;
  readonly head: number;
  readonly row: number;
  readonly temperature: number;
  /** p = softmax(s) over the keys 0..row. */
  readonly p: readonly number[];
  /** pT = softmax(s / T) over the same keys. */
  readonly pT: readonly number[];
  /** dL/dp from the recorded graph (under the settings' rules downstream). */
  readonly dp: readonly number[];
  /** sum_j p_j dp_j and sum_j pT_j dp_j: the means the brackets subtract. */
  readonly mean: number;
  readonly meanT: number;
  /** ds_k = p_k (dp_k - mean): the plain backward; and pT_k (dp_k - meanT): TSG. */
  readonly ds: readonly number[];
  readonly dsT: readonly number[];
}

/** One layer's attention: patterns [H][T][T] and, per head and query row, the share of the score gradient the Jacobian cancels. */
export interface AttentionView {
  readonly layer: number;
  readonly temperature: number;
  readonly patterns: readonly (readonly (readonly number[])[])[];
  /** [H][T]: {@link cancellation} of the plain softmax backward. */
  readonly cancelled: readonly (readonly number[])[];
  /** [H][T]: the same with TSG at `temperature`. */
  readonly cancelledT: readonly (readonly number[])[];
}

/** Component and edge attribution (GIM and plain) against exact patching for a clean/corrupted pair. */
export interface ComponentResult {
  readonly clean: readonly string[];
  readonly corrupted: readonly string[];
  readonly answer: string;
  readonly wrong: string;
  readonly metricClean: number;
  readonly metricCorrupted: number;
  readonly components: readonly { name: string; kind: string; layer: number }[];
  readonly edges: readonly { from: number; to: string; name: string }[];
  readonly inputs: readonly { name: string; kind: string; layer: number }[];
  readonly scores: { readonly gim: readonly number[]; readonly gradient: readonly number[]; readonly exact: readonly number[] };
  readonly edgeScores: { readonly gim: readonly number[]; readonly gradient: readonly number[]; readonly exact: readonly number[] };
  readonly agreement: Readonly<Record<"gim" | "gradient", { spearman: number; topOverlap: number } | undefined>>;
  readonly edgeAgreement: Readonly<Record<"gim" | "gradient", { spearman: number; topOverlap: number } | undefined>>;
}

interface Forward {
  readonly recorded: Recorded;
  readonly e: Var;
  readonly eb: Tensor;
  readonly out: ForwardResult;
}

/** A loaded model and its tokenizer, and the one forward pass of the current prompt. */
export class Explorer {
  private forward: Forward | undefined;
  private backwardPasses = 0;
  private forwardPasses = 0;

  constructor(readonly model: CausalLM, readonly tokenizer: Tokenizer, readonly name: string) {}

  /** Loads a model folder (config.json, safetensors, tokenizer files); a clear one-line error when it is not one. */
  static fromFolder(folder: ModelFolder): Explorer {
    if (!folder.has("config.json")) throw new InputError(`${folder.name} has no config.json: it is not a Hugging Face model folder`);
    const model = loadModelFrom(folder);
    const tokenizer = tokenizerFromFolder(folder);
    return new Explorer(model, tokenizer, folder.name);
  }

  info(): ModelInfo {
    const { layout, config } = this.model;
    let parameters = 0;
    for (const p of this.model.params.values()) parameters += p.value.size;
    return {
      name: this.name,
      modelType: config.modelType,
      layers: layout.blocks.length,
      heads: layout.blocks[0]?.attention.heads ?? 0,
      hidden: this.model.hiddenSize,
      vocab: this.model.vocabSize,
      parameters,
      blocks: layout.blocks.map((b) => ({ path: b.path, attn: b.attention.path, mlp: b.mlp.path, gated: b.mlp.gated, norms: [b.attnNorm.path, b.mlpNorm.path] })),
      finalNorm: layout.finalNorm.path,
    };
  }

  /** The prompt's tokens as the model reads them (special tokens added as Hugging Face's tokenizer(text) does). */
  encode(text: string): number[] {
    const ids = this.tokenizer.encode(text, { addSpecialTokens: true });
    if (ids.length === 0) throw new InputError(`the prompt ${JSON.stringify(text)} encodes to no tokens`);
    this.model.checkIds(ids);
    return ids;
  }

  /** Runs `text` forward once and records the graph; later backward passes all reuse it. */
  record(text: string, top = 8): Recorded {
    const ids = this.encode(text);
    const baseline = defaultBaseline(this.tokenizer);
    const start = performance.now();
    const e = variable(this.model.embedTokens(ids)); // [T, d]
    const eb = this.model.embedTokens([baseline]); // [1, d]
    const out = this.model.forward({ embeds: e }, { positions: [-1] }); // logits [1, V]
    const forwardMs = performance.now() - start;
    this.forwardPasses++;
    const position = out.positions[0]!;
    const logits = Array.from(T.select(out.logits.value, 0, 0).toFlat()); // [V]
    const max = Math.max(...logits);
    let total = 0;
    for (const l of logits) total += Math.exp(l - max);
    const order = logits.map((_, i) => i).sort((a, b) => logits[b]! - logits[a]!).slice(0, top);
    const predictions = order.map((id) => ({ id, token: this.tokenizer.decodeToken(id), logit: logits[id]!, probability: Math.exp(logits[id]! - max) / total }));
    const recorded: Recorded = { ids, tokens: ids.map((id) => this.tokenizer.decodeToken(id)), position, baseline, predictions, forwardMs };
    this.forward = { recorded, e, eb, out };
    return recorded;
  }

  private current(): Forward {
    if (!this.forward) throw new InputError("no prompt has been run yet");
    return this.forward;
  }

  private targetOf(target: number | undefined): number {
    const f = this.current();
    const id = target ?? f.recorded.predictions[0]!.id;
    if (!Number.isInteger(id) || id < 0 || id >= this.model.vocabSize) throw new InputError(`target id ${id} is outside the vocabulary [0, ${this.model.vocabSize})`);
    return id;
  }

  /** Plain gradient x input and GIM (with the settings) for `target`, two backward passes over the recorded forward. */
  attribute(settings: Settings, target?: number): Attributions {
    const f = this.current();
    const id = this.targetOf(target);
    const L = f.out.logit(f.recorded.position, id);
    const start = performance.now();
    const [plain] = grad(L, [f.e]);
    const plainMs = performance.now() - start;
    const { rules, skipped } = bindRules(this.model, gim(gimOptionsOf(settings)));
    const traced = grad(L, [f.e], { rules, trace: true });
    const gimMs = performance.now() - start - plainMs;
    this.backwardPasses += 2;
    return {
      target: id,
      targetToken: this.tokenizer.decodeToken(id),
      logit: L.item(),
      plain: gradientTimesDelta(plain!, f.e.value, f.eb),
      gim: gradientTimesDelta(traced.grads[0]!, f.e.value, f.eb),
      trace: groupTrace(traced.trace),
      skipped,
      backwardPasses: this.backwardPasses,
      forwardPasses: this.forwardPasses,
      backwardMs: [plainMs, gimMs],
    };
  }

  /**
   * The attention patterns of one layer, [H][T][T], from the recorded forward, and for every
   * head and query row how much of the score gradient the softmax Jacobian cancels, plain and
   * with TSG (see {@link cancellation}).
   */
  attention(settings: Settings, layer: number, target?: number): AttentionView {
    const { pattern, dp } = this.patternGradient(settings, layer, target);
    const [, H, Tn] = pattern.shape as [number, number, number, number];
    const temperature = temperatureOf(settings);
    const patterns = Array.from({ length: H }, (_, h) => Array.from({ length: Tn }, (_, i) => Array.from({ length: Tn }, (_, k) => pattern.get(0, h, i, k))));
    const rows = (h: number) => Array.from({ length: Tn }, (_, i) => softmaxJacobianRow(rowOf(pattern, h, i), rowOf(dp, h, i), temperature));
    const perHead = Array.from({ length: H }, (_, h) => rows(h));
    return {
      layer,
      temperature,
      patterns,
      cancelled: perHead.map((r) => r.map((j) => cancellation(j.p, j.dp, j.ds))),
      cancelledT: perHead.map((r) => r.map((j) => cancellation(j.pT, j.dp, j.dsT))),
    };
  }

  private patternVar(layer: number): Var {
    const f = this.current();
    const block = this.model.layout.blocks[layer];
    if (!block) throw new InputError(`layer ${layer} is outside [0, ${this.model.layout.blocks.length})`);
    const key = block.attention.pattern;
    const L = f.out.logits; // the whole graph of the forward
    return placeVars(L, [key]).get(key)!;
  }

  /** One layer's pattern p and dL/dp, [1, H, T, T], from the recorded graph with the settings' rules downstream. */
  private patternGradient(settings: Settings, layer: number, target?: number): { pattern: Tensor; dp: Tensor } {
    const f = this.current();
    const pattern = this.patternVar(layer);
    const L = f.out.logit(f.recorded.position, this.targetOf(target));
    // Rules below this softmax (or off the path to it) never run, so none is required to fire.
    const [dp] = grad(L, [pattern], { rules: gim(gimOptionsOf(settings)), unmatched: "ignore" });
    this.backwardPasses++;
    return { pattern: pattern.value, dp: dp! };
  }

  /**
   * One row of one head's attention: dL/dp from the recorded graph (rules downstream as in
   * `settings`; TSG at this softmax does not touch dp), and the score gradient the plain
   * softmax Jacobian and TSG make of it.
   */
  jacobianRow(settings: Settings, layer: number, head: number, row: number, target?: number): JacobianRow {
    const { pattern, dp } = this.patternGradient(settings, layer, target);
    const [, H, Tn] = pattern.shape as [number, number, number, number];
    if (!(Number.isInteger(head) && head >= 0 && head < H)) throw new InputError(`head ${head} is outside [0, ${H})`);
    if (!(Number.isInteger(row) && row >= 0 && row < Tn)) throw new InputError(`row ${row} is outside [0, ${Tn})`);
    return { layer, head, row, ...softmaxJacobianRow(rowOf(pattern, head, row), rowOf(dp, head, row), temperatureOf(settings)) };
  }

  /**
   * Component and edge scores by attribution patching (GIM with the settings, and plain)
   * against exact activation patching, for the metric logit(answer) - logit(wrong) at the
   * last position, where answer and wrong are what the clean and corrupted runs predict.
   */
  components(settings: Settings, cleanText: string, corruptedText: string): ComponentResult {
    const clean = this.encode(cleanText);
    const corrupted = this.encode(corruptedText);
    if (clean.length !== corrupted.length) {
      throw new InputError(`the clean prompt has ${clean.length} tokens but the corrupted one ${corrupted.length}: activations are compared position by position, so both need the same number of tokens`);
    }
    const argmaxLast = (ids: number[]) => noGrad(() => T.argmax(T.select(this.model.forward({ ids }, { positions: [-1] }).logits.value, 0, 0), 0).item());
    const answer = argmaxLast(clean);
    const wrong = argmaxLast(corrupted);
    if (answer === wrong) throw new InputError(`both prompts predict ${JSON.stringify(this.tokenizer.decodeToken(answer))}: the corrupted prompt must change the prediction`);
    const report = compareComponentMethods(this.model, clean, corrupted, {
      metric: logitDiff({ answer, wrong, position: clean.length - 1 }),
      methods: [
        { name: "gim", rules: gim(gimOptionsOf(settings)) },
        { name: "gradient", rules: [] },
      ],
      exact: true,
      edges: true,
      faithfulness: false,
    });
    const [gimScores, gradScores] = report.methods as [typeof report.methods[0], typeof report.methods[0]];
    const edges = report.edges ?? listEdges(this.model);
    const agreement = (a: typeof gimScores.agreement) => a && { spearman: a.spearman, topOverlap: a.topKOverlap };
    return {
      clean: clean.map((id) => this.tokenizer.decodeToken(id)),
      corrupted: corrupted.map((id) => this.tokenizer.decodeToken(id)),
      answer: this.tokenizer.decodeToken(answer),
      wrong: this.tokenizer.decodeToken(wrong),
      metricClean: report.metricClean,
      metricCorrupted: report.metricCorrupted,
      components: report.components.map((c) => ({ name: c.name, kind: c.kind, layer: c.layer })),
      inputs: report.inputs.map((i) => ({ name: i.name, kind: i.kind, layer: i.layer })),
      edges: edges.map((e) => ({ from: e.from, to: report.inputs[e.to]!.name, name: e.name })),
      scores: { gim: gimScores.scores, gradient: gradScores.scores, exact: report.exact!.scores },
      edgeScores: { gim: gimScores.edgeScores!, gradient: gradScores.edgeScores!, exact: report.exact!.edgeScores! },
      agreement: { gim: agreement(gimScores.agreement), gradient: agreement(gradScores.agreement) },
      edgeAgreement: { gim: agreement(gimScores.edgeAgreement), gradient: agreement(gradScores.edgeAgreement) },
    };
  }
}

/** The temperature TSG uses: the slider's when TSG is on, else the default (what it would be). */
function temperatureOf(settings: Settings): number {
  return settings.tsg ? settings.temperature : gimDefaults.temperature;
}

/** Row `row` of head `head` of a [1, H, T, T] tensor, over the keys a causal query sees (0..row). */
function rowOf(t: Tensor, head: number, row: number): number[] {
  return Array.from({ length: row + 1 }, (_, k) => t.get(0, head, row, k));
}

/**
 * The softmax Jacobian applied to dp at p (plain: ds_k = p_k (dp_k - sum_j p_j dp_j)) and at
 * pT = softmax(s / T) (TSG: ds_k = pT_k (dp_k - sum_j pT_j dp_j)). pT comes from p: it is
 * proportional to p^(1/T), and masked keys (p = 0) stay 0.
 */
export function softmaxJacobianRow(p: readonly number[], dp: readonly number[], temperature: number): Omit<JacobianRow, "layer" | "head" | "row"> {
  const powered = p.map((v) => (v > 0 ? Math.exp(Math.log(v) / temperature) : 0));
  const z = powered.reduce((a, b) => a + b, 0);
  const pT = powered.map((v) => v / z);
  const mean = p.reduce((a, v, k) => a + v * dp[k]!, 0);
  const meanT = pT.reduce((a, v, k) => a + v * dp[k]!, 0);
  return { temperature, p: [...p], pT, dp: [...dp], mean, meanT, ds: p.map((v, k) => v * (dp[k]! - mean)), dsT: pT.map((v, k) => v * (dp[k]! - meanT)) };
}

/**
 * How much of a row's score gradient the Jacobian's subtraction of the mean cancels:
 * 1 - sum_k |ds_k| / sum_k |w_k dp_k| for weights w (p plain, pT with TSG). 0: nothing
 * cancels; near 1: keys with large weight carry nearly the mean dp and get almost no
 * gradient (the self-repair blind spot). NaN when dp is zero on the row.
 */
export function cancellation(w: readonly number[], dp: readonly number[], ds: readonly number[]): number {
  let before = 0, after = 0;
  for (let k = 0; k < w.length; k++) {
    before += Math.abs(w[k]! * dp[k]!);
    after += Math.abs(ds[k]!);
  }
  return before > 0 ? 1 - after / before : NaN;
}
