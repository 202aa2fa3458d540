/**
 * Time per training step of each recipe, split into batch generation, forward, backward and
 * optimizer update: what sizes a model and batch so that training takes minutes.
 *
 *   npx tsx packages/models/bench/train-step.ts [steps]      (default 10 steps after 2 warm-up steps)
 */
import { Adam, crossEntropy, grad, indexSelect, reshape } from "@gim/autograd";
import { recipes } from "../src/index.js";
import { initialModel } from "../src/node/index.js";

const steps = Number(process.argv[2] ?? 10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const recipe of Object.values(recipes)) {
  const task = recipe.task();
  const model = initialModel(recipe.model(task.tokenizer.vocabSize), recipe.seed);
  const params = [...model.params.values()];
  const opt = new Adam(params, { lr: recipe.lr });
  const times = { batch: [] as number[], forward: [] as number[], backward: [] as number[], update: [] as number[] };
  let tokens = 0;
  for (let step = 0; step < steps + 2; step++) {
    const t0 = performance.now();
    const batch = task.batch(recipe.batchSize, recipe.lmBatchSize, step);
    const sequences = [...batch.task, ...batch.lm];
    const length = Math.max(...sequences.map((s) => s.ids.length));
    const ids = sequences.map((s) => [...s.ids, ...new Array<number>(length - s.ids.length).fill(task.tokenizer.padTokenId!)]);
    const rows = sequences.flatMap((s, b) => s.targets.map((t) => b * length + t.position));
    const targets = sequences.flatMap((s) => s.targets.map((t) => t.target));
    const t1 = performance.now();
    const logits = reshape(model.forward({ ids }).logits, { shape: [ids.length * length, model.vocabSize] }); // [B*T, V]
    const loss = crossEntropy(indexSelect(logits, { axis: 0, ids: rows }), { targets });
    const t2 = performance.now();
    const grads = grad(loss, params);
    const t3 = performance.now();
    opt.step(grads);
    const t4 = performance.now();
    if (step >= 2) {
      times.batch.push(t1 - t0);
      times.forward.push(t2 - t1);
      times.backward.push(t3 - t2);
      times.update.push(t4 - t3);
      tokens += ids.length * length;
    }
  }
  const total = median(times.batch) + median(times.forward) + median(times.backward) + median(times.update);
  console.log(
    `${recipe.name.padEnd(15)} ${String(Math.round(tokens / steps)).padStart(4)} tokens/step  ` +
      `batch ${median(times.batch).toFixed(0)} ms, forward ${median(times.forward).toFixed(0)} ms, backward ${median(times.backward).toFixed(0)} ms, ` +
      `update ${median(times.update).toFixed(0)} ms: ${total.toFixed(0)} ms/step (medians of ${steps})`,
  );
}
process.exit(0);
