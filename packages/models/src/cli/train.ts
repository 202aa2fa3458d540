/**
 * `pnpm train <model> [--steps N] [--out DIR]`: trains one of the shipped models from its
 * recipe and writes its Hugging Face folder (default `packages/models/models/<model>/`).
 * The same command on the same code gives the same weights (compare `weightsSha256` in
 * training.json).
 */
import { modelDir } from "../node/models.js";
import { recipes } from "../recipes.js";
import { trainRecipe, writeModelFolder } from "../node/train.js";

const usage = `usage: pnpm train <model> [--steps N] [--out DIR]\nmodels: ${Object.keys(recipes).join(", ")}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

async function main(args: string[]): Promise<void> {
  let name: string | undefined;
  let steps: number | undefined;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${usage}\n`);
      return;
    } else if (arg === "--steps" || arg === "--out") {
      const value = args[++i];
      if (value === undefined) fail(`${arg} needs a value`);
      if (arg === "--out") out = value;
      else {
        steps = Number(value);
        if (!Number.isInteger(steps) || steps < 1) fail(`--steps must be a positive integer, got ${JSON.stringify(value)}`);
      }
    } else if (arg.startsWith("-")) fail(`unknown option ${arg}`);
    else if (name === undefined) name = arg;
    else fail(`unexpected argument ${JSON.stringify(arg)}`);
  }
  if (name === undefined) fail("which model?");
  const recipe = recipes[name];
  if (!recipe) fail(`unknown model ${JSON.stringify(name)}`);
  const trained = trainRecipe(recipe, steps === undefined ? {} : { maxSteps: steps });
  const dir = out ?? modelDir(name);
  const report = await writeModelFolder(dir, trained);
  process.stderr.write(`wrote ${dir} (weights sha256 ${report.weightsSha256.slice(0, 16)}...)\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
