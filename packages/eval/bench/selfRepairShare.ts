/**
 * `pnpm bench self-repair-share [--models a,b] [--dir DIR --task ioi|induction] [--prompts N] [--threshold T] [--json]`:
 * how many attention rows meet the GIM paper's self-repair criterion (`selfRepairProtocol`: at
 * least two keys whose linearised contribution c_k = A[q,k] * dL/dA[q,k] to the target logit
 * exceeds the threshold), over every layer, head and query position of held-out prompts
 * (IOI: the `heldout` split; induction: fresh sequences). Linearised effects only (no patched
 * forwards), so it takes seconds. The share is pooled (rows meeting it / rows measured) with
 * the standard error of the per-prompt shares; per layer too.
 */
import { selfRepairProtocol } from "@gim/rules";
import { loadModel, loadTokenizer } from "@gim/transformer/node";
import { inductionExamples, INDUCTION_OPTIONS, ioiExamples, shippedModels } from "@gim/models";
import { modelDir } from "@gim/models/node";
import { meanStat } from "../src/stats.js";

/** Prompts of a seed used neither by training, validation nor training.json's figures. */
const SEED = 515151;

interface Row {
  model: string;
  prompts: number;
  threshold: number;
  rows_measured: number;
  rows_meeting: number;
  share: number;
  share_se: number;
  rows_with_a_key_above: number;
  meeting_by_layer: number[];
  /** Rows whose query is the position the target logit is read at (the last), and how many of them meet it. */
  rows_at_last_query: number;
  meeting_at_last_query: number;
}

async function measure(name: string, dir: string, task: "ioi" | "induction", prompts: number, threshold: number): Promise<Row> {
  const model = loadModel(dir);
  const tokenizer = await loadTokenizer(dir);
  const examples = task === "ioi" ? ioiExamples("heldout", prompts, SEED, tokenizer) : inductionExamples(prompts, SEED, tokenizer, INDUCTION_OPTIONS);
  const byLayer = new Array<number>(model.layout.blocks.length).fill(0);
  let measured = 0;
  let meeting = 0;
  let withKeyAbove = 0;
  let atLast = 0;
  let meetingAtLast = 0;
  const heads = model.layout.blocks.reduce((n, b) => n + b.attention.heads, 0);
  const shares: number[] = [];
  for (const e of examples) {
    const result = selfRepairProtocol(model, e.ids, { target: e.target, threshold, exact: false });
    measured += result.rowCount;
    meeting += result.rows.length;
    withKeyAbove += result.rowsWithKeyAbove;
    shares.push(result.rows.length / result.rowCount);
    for (const row of result.rows) byLayer[row.layer]!++;
    atLast += heads;
    meetingAtLast += result.rows.filter((row) => row.query === e.ids.length - 1).length;
  }
  return {
    model: name,
    prompts,
    threshold,
    rows_measured: measured,
    rows_meeting: meeting,
    share: meeting / measured,
    share_se: meanStat(shares).se,
    rows_with_a_key_above: withKeyAbove,
    meeting_by_layer: byLayer,
    rows_at_last_query: atLast,
    meeting_at_last_query: meetingAtLast,
  };
}

export async function main(args: string[]): Promise<void> {
  let models: string[] = [...shippedModels];
  let dir: string | undefined;
  let task: "ioi" | "induction" | undefined;
  let prompts = 100;
  let threshold = 1;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--models") models = value().split(",");
    else if (arg === "--dir") dir = value();
    else if (arg === "--task") {
      const t = value();
      if (t !== "ioi" && t !== "induction") throw new Error(`--task must be ioi or induction, got ${JSON.stringify(t)}`);
      task = t;
    } else if (arg === "--prompts") prompts = Number(value());
    else if (arg === "--threshold") threshold = Number(value());
    else if (arg === "--json") json = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (!(Number.isInteger(prompts) && prompts > 0)) throw new Error(`--prompts must be a positive integer`);
  const targets: [string, string, "ioi" | "induction"][] = dir
    ? [[dir, dir, task ?? (/induction/.test(dir) ? "induction" : "ioi")]]
    : models.map((m) => [m, modelDir(m), m.startsWith("induction") ? "induction" : "ioi"]);
  const rows: Row[] = [];
  for (const [name, folder, kind] of targets) rows.push(await measure(name, folder, kind, prompts, threshold));
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  process.stdout.write(`self-repair criterion (selfRepairProtocol, threshold ${threshold}) on ${prompts} held-out prompts (seed ${SEED})\n\n`);
  process.stdout.write(
    "| model | rows measured | rows meeting it | share (± s.e. over prompts) | rows with a key above | meeting, by layer | meeting at the last query |\n| --- | --- | --- | --- | --- | --- | --- |\n",
  );
  for (const r of rows) {
    process.stdout.write(
      `| ${r.model} | ${r.rows_measured} | ${r.rows_meeting} | ${(100 * r.share).toFixed(2)}% ± ${(100 * r.share_se).toFixed(2)} | ${r.rows_with_a_key_above} | ${r.meeting_by_layer.join(", ")} | ${r.meeting_at_last_query} of ${r.rows_at_last_query} |\n`,
    );
  }
}
