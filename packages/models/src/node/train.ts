/**
 * Training a small model on a task with the project's own autograd:
 *
 *   each step: a seeded batch -> one forward over the right-padded batch -> cross-entropy at the
 *   supervised positions (the answer position; plus a weighted language-model loss on plain
 *   sentences if the task has them) -> grad -> clip the global norm -> AdamW step
 *
 * Right padding is safe with causal attention: a position never sees the ones after it, so
 * pad tokens change no logit that the loss reads. Every few steps the held-out validation set
 * is scored; training stops early once it reaches the recipe's accuracy. Everything random is
 * seeded (initial weights, batches, evaluation sets), so a recipe always produces the same
 * weights on the same code.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { Adam, add, crossEntropy, grad, indexSelect, mul, reshape, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import { Rng, type Tensor } from "@gim/tensor";
import { randomModel, type CausalLM, type ModelConfig } from "@gim/transformer";
import { saveTokenizer, writeSafetensors } from "@gim/transformer/node";
import { formatDuration, lineChartSvg, palette } from "@gim/report";
import { evaluate, type Evaluation } from "../evaluate.js";
import { headDropoutScales } from "../headDropout.js";
import { toHfConfig } from "../hfConfig.js";
import { ProgressBar } from "../progress.js";
import { FINAL_SEED, VALIDATION_SEED, type HistoryPoint, type Recipe, type SupervisedSequence, type TrainedModel, type TrainingReport, type TrainOptions } from "../training.js";

/** Added to the recipe seed for the head-dropout draws. */
const HEAD_DROPOUT_SEED_OFFSET = 7_000_007;

/** A model with seeded random weights for a config. */
export function initialModel(config: ModelConfig, seed: number): CausalLM {
  return randomModel(config, { seed });
}

function learningRate(recipe: Recipe, maxSteps: number, step: number): number {
  const warm = Math.min(1, (step + 1) / recipe.warmupSteps);
  const progress = Math.min(1, step / maxSteps);
  return recipe.lr * warm * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

// Right-pads the sequences to one length; returns the ids and the flat row (b * T + position) of every target.
function pack(sequences: readonly SupervisedSequence[], pad: number): { ids: number[][]; rows: number[]; targets: number[]; length: number } {
  const length = Math.max(...sequences.map((s) => s.ids.length));
  const ids = sequences.map((s) => [...s.ids, ...new Array<number>(length - s.ids.length).fill(pad)]);
  const rows: number[] = [];
  const targets: number[] = [];
  sequences.forEach((s, b) => {
    for (const t of s.targets) {
      rows.push(b * length + t.position);
      targets.push(t.target);
    }
  });
  return { ids, rows, targets, length };
}

// The gradients, scaled down together when their global L2 norm exceeds `max` (new tensors; inputs untouched).
function clipGlobalNorm(grads: Tensor[], max: number): Tensor[] {
  let sq = 0;
  for (const g of grads) {
    const d = T.contiguousData(g);
    for (let i = 0; i < d.length; i++) sq += d[i]! * d[i]!;
  }
  const norm = Math.sqrt(sq);
  return norm > max ? grads.map((g) => T.mul(g, max / norm)) : grads;
}

function argmaxRows(rows: Tensor): number[] {
  const best = T.argmax(rows, -1);
  return Array.from({ length: rows.shape[0]! }, (_, i) => best.get(i));
}

/** Trains a recipe (see the top of this file). */
export function trainRecipe(recipe: Recipe, options: TrainOptions = {}): TrainedModel {
  const maxSteps = options.maxSteps ?? recipe.maxSteps;
  const task = recipe.task();
  const tokenizer = task.tokenizer;
  const pad = tokenizer.padTokenId;
  if (pad === undefined) throw new Error(`${recipe.name}: the task tokenizer has no pad token`);
  const config = recipe.model(tokenizer.vocabSize);
  const model = initialModel(config, recipe.seed);
  const params = [...model.params.values()];
  const decayed = params.filter((p) => p.ndim >= 2);
  const plain = params.filter((p) => p.ndim < 2);
  const optimizers: [Adam, Var[]][] = [
    [new Adam(decayed, { lr: recipe.lr, betas: [0.9, 0.98], weightDecay: recipe.weightDecay }), decayed],
    [new Adam(plain, { lr: recipe.lr, betas: [0.9, 0.98] }), plain],
  ];
  const validation = task.validation(recipe.validationSize, VALIDATION_SEED);
  const stream = options.progress === undefined ? process.stderr : options.progress;
  const bar = stream ? new ProgressBar(recipe.name, maxSteps, stream) : undefined;
  const batchSeeds = new Rng(recipe.seed);
  // Its own stream, so a recipe without head dropout draws the same batches as before it existed.
  const dropoutRng = new Rng(recipe.seed + HEAD_DROPOUT_SEED_OFFSET);
  const headsPerLayer = model.layout.blocks.map((b) => b.attention.heads);
  const history: HistoryPoint[] = [];
  const loadAverageAtStart = os.loadavg()[0]!;
  const started = performance.now();
  let lastValidation: number | undefined;
  let stoppedEarly = false;
  let steps = 0;
  const recent: number[] = [];
  for (let step = 1; step <= maxSteps; step++) {
    const batch = task.batch(recipe.batchSize, recipe.lmBatchSize, batchSeeds.nextUint32());
    const packed = pack([...batch.task, ...batch.lm], pad);
    const taskRows = batch.task.reduce((n, s) => n + s.targets.length, 0);
    const headScales = headDropoutScales(recipe.headDropout ?? 0, headsPerLayer, packed.ids.length, dropoutRng);
    const out = model.forward({ ids: packed.ids }, headScales ? { headScales } : {});
    const flat = reshape(out.logits, { shape: [packed.ids.length * packed.length, model.vocabSize] }); // [B*T, V]
    const answers = indexSelect(flat, { axis: 0, ids: packed.rows.slice(0, taskRows) }); // [N, V]
    let loss = crossEntropy(answers, { targets: packed.targets.slice(0, taskRows) });
    const taskLoss = loss.item();
    if (batch.lm.length > 0) {
      const lmRows = indexSelect(flat, { axis: 0, ids: packed.rows.slice(taskRows) });
      loss = add(loss, mul(crossEntropy(lmRows, { targets: packed.targets.slice(taskRows) }), recipe.lmWeight));
    }
    const predicted = argmaxRows(answers.value);
    const accuracy = predicted.filter((p, i) => p === packed.targets[i]).length / taskRows;
    const grads = clipGlobalNorm(grad(loss, params), recipe.clipNorm);
    const lr = learningRate(recipe, maxSteps, step - 1);
    const byVar = new Map(params.map((p, i) => [p, grads[i]!]));
    for (const [opt, group] of optimizers) opt.step(group.map((p) => byVar.get(p)!), { lr });
    steps = step;
    recent.push(accuracy);
    if (recent.length > 20) recent.shift();
    const point: { step: number; loss: number; accuracy: number; validation?: number } = { step, loss: taskLoss, accuracy };
    const evalNow = step % recipe.evalEvery === 0 || step === maxSteps;
    if (evalNow) {
      lastValidation = evaluate(model, validation).accuracy;
      point.validation = lastValidation;
    }
    history.push(point);
    bar?.update({ step, loss: taskLoss, accuracy: recent.reduce((a, b) => a + b, 0) / recent.length, heldOut: lastValidation }, evalNow);
    if (evalNow && lastValidation! >= recipe.stopAccuracy) {
      stoppedEarly = step < maxSteps;
      break;
    }
  }
  const wallTimeSeconds = (performance.now() - started) / 1000;
  const finals: Record<string, Evaluation> = {};
  for (const [name, set] of Object.entries(task.finalSets(recipe.finalSize, FINAL_SEED))) finals[name] = evaluate(model, set);
  const accuracy = Object.fromEntries(Object.entries(finals).map(([k, v]) => [k, v.accuracy]));
  const loss = Object.fromEntries(Object.entries(finals).map(([k, v]) => [k, v.loss]));
  bar?.finish(
    `done: ${steps} steps in ${formatDuration(wallTimeSeconds)}${stoppedEarly ? " (stopped early)" : ""}; accuracy ${Object.entries(accuracy)
      .map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`)
      .join(", ")}`,
  );
  const cpus = os.cpus();
  return {
    model,
    tokenizer,
    report: {
      model: recipe.name,
      description: recipe.description,
      command: `pnpm train ${recipe.name}${maxSteps === recipe.maxSteps ? "" : ` --steps ${maxSteps}`}`,
      seed: recipe.seed,
      steps,
      maxSteps,
      stoppedEarly,
      wallTimeSeconds: Number(wallTimeSeconds.toFixed(1)),
      secondsPerStep: Number((wallTimeSeconds / steps).toFixed(3)),
      parameters: params.reduce((n, p) => n + p.value.size, 0),
      hyperparameters: {
        batchSize: recipe.batchSize,
        lmBatchSize: recipe.lmBatchSize,
        lmWeight: recipe.lmWeight,
        lr: recipe.lr,
        warmupSteps: recipe.warmupSteps,
        weightDecay: recipe.weightDecay,
        clipNorm: recipe.clipNorm,
        evalEvery: recipe.evalEvery,
        stopAccuracy: recipe.stopAccuracy,
        ...(recipe.headDropout ? { headDropout: recipe.headDropout } : {}),
      },
      accuracy,
      loss,
      evaluation: { seed: FINAL_SEED, size: recipe.finalSize, validationSeed: VALIDATION_SEED, validationSize: recipe.validationSize },
      machine: { cpu: cpus[0]?.model ?? "unknown", cores: cpus.length, loadAverageAtStart: Number(loadAverageAtStart.toFixed(2)), node: process.version, platform: `${os.platform()} ${os.arch()}` },
      history,
    },
  };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The loss curve of a report as SVG: loss and training accuracy (means over windows of steps) and validation accuracy. */
export function reportSvg(report: Pick<TrainingReport, "model" | "history">): string {
  const window = Math.max(1, Math.round(report.history.length / 100));
  const loss: [number, number][] = [];
  const acc: [number, number][] = [];
  for (let i = 0; i < report.history.length; i += window) {
    const chunk = report.history.slice(i, i + window);
    const step = chunk[chunk.length - 1]!.step;
    loss.push([step, mean(chunk.map((p) => p.loss))]);
    acc.push([step, mean(chunk.map((p) => p.accuracy))]);
  }
  const validation = report.history.filter((p) => p.validation !== undefined).map((p) => [p.step, p.validation!] as [number, number]);
  return lineChartSvg({
    title: `${report.model}: training loss and accuracy`,
    xLabel: "training step",
    left: { label: "loss (cross-entropy, nats)", min: 0 },
    right: { label: "accuracy", min: 0, max: 1 },
    legend: "outside", // every corner of a training curve holds a line
    series: [
      { label: "training loss", color: palette[0]!, points: loss },
      { label: "training accuracy", color: palette[3]!, points: acc, axis: "right", dashed: true },
      { label: "held-out accuracy", color: palette[2]!, points: validation, axis: "right" },
    ],
  });
}

/**
 * Writes a Hugging Face folder: config.json, model.safetensors (F32), the tokenizer files,
 * training.json (the report with the weights' SHA-256) and loss.svg. Returns the full report.
 */
export async function writeModelFolder(dir: string, trained: TrainedModel): Promise<TrainingReport> {
  const { model, tokenizer } = trained;
  fs.mkdirSync(dir, { recursive: true });
  const eos = tokenizer.eosTokenId;
  const pad = tokenizer.padTokenId;
  if (eos === undefined || pad === undefined) throw new Error(`${dir}: the tokenizer needs an end-of-text and a pad token`);
  const config = toHfConfig(model.config, { bos: tokenizer.bosTokenId ?? eos, eos, pad });
  fs.writeFileSync(nodePath.join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  const weightsFile = nodePath.join(dir, "model.safetensors");
  const tensors = new Map([...model.params].map(([name, v]) => [name, v.value]));
  writeSafetensors(weightsFile, tensors, { dtype: "F32", metadata: { format: "pt" } });
  await saveTokenizer(dir, tokenizer);
  const weightsSha256 = createHash("sha256").update(fs.readFileSync(weightsFile)).digest("hex");
  const report: TrainingReport = { ...trained.report, weightsSha256 };
  fs.writeFileSync(nodePath.join(dir, "training.json"), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(nodePath.join(dir, "loss.svg"), reportSvg(report));
  return report;
}
