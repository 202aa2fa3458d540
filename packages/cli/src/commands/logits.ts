/**
 * `gim logits`: the logits of one position of a model's forward pass, as JSON or as the
 * top-k tokens with their logits and probabilities.
 */
import { noGrad } from "@gim/autograd";
import type { CommandSpec } from "../args.js";
import type { CliIO, Command } from "../io.js";
import { checkInput, inputIds, modelArg, openModel, openOptions, positionOf, tokenText } from "../model.js";
import { formatNumber, renderTable, visibleWhitespace } from "../render.js";
import { allowNonFiniteOption, allowUnusedTensorsOption, describeModel, nonFiniteWarning, describePosition, idsOption, noSpecialTokensOption, jsonOption, modelOption, positionOption } from "./common.js";

/** The options and help of `gim logits`. */
export const logitsSpec: CommandSpec = {
  name: "logits",
  summary: "the logits a model gives at one position (the last by default)",
  usage: ["--model DIR --ids 5,17,3 [--position N] [--json]", "--model DIR [options] TEXT"],
  positionals: { name: "TEXT", description: "Text to encode with the model's tokenizer (or use --ids)", max: 1 },
  options: [
    modelOption,
    allowUnusedTensorsOption,
    allowNonFiniteOption,
    idsOption,
    noSpecialTokensOption,
    positionOption,
    { name: "top-k", kind: "int", valueName: "K", min: 1, description: "Tokens listed in the report (not with --json)", defaultText: "10" },
    jsonOption,
  ],
  notes: ['With --json, prints {"model", "position", "logits": [...]}: one float per vocabulary entry at that position.'],
  examples: ["logits --model ./my-model --ids 5,17,3 --json", 'logits --model ./my-model "The capital of France is" --top-k 5', "logits --model ./my-model --ids 5,17,3 --position 0"],
};

/** `gim logits`. */
export const logitsCommand: Command = {
  spec: logitsSpec,
  async run(args, io: CliIO) {
    checkInput(args);
    const opened = await openModel(modelArg(args, io), openOptions(args));
    const ids = inputIds(args, opened);
    const position = positionOf(args, ids.length);
    const allowNonFinite = args.flag("allow-nonfinite");
    // Non-finite logits fail the forward (naming where they first appeared) unless allowed; then a warning flags them.
    const logits = noGrad(() => Array.from(opened.model.forward({ ids }, { positions: [position], allowNonFinite }).logits.value.toFlat())); // [1, V]: only this position's row
    const warning = nonFiniteWarning("the logits", logits);
    if (warning !== undefined) io.stderr.write(warning);
    if (args.flag("json")) {
      io.stdout.write(JSON.stringify({ model: opened.name, position, logits }) + "\n");
      return;
    }
    const k = Math.min(args.number("top-k") ?? 10, logits.length);
    const probs = softmax(logits);
    const rank = (v: number) => (Number.isNaN(v) ? -Infinity : v); // NaN last (it compares false with everything)
    const order = logits.map((_, i) => i).sort((a, b) => rank(logits[b]!) - rank(logits[a]!) || (Number.isNaN(logits[a]!) ? 1 : 0) - (Number.isNaN(logits[b]!) ? 1 : 0) || a - b);
    const lastId = ids[position]!;
    io.stdout.write(
      [
        `model     ${opened.dir} (${describeModel(opened)})`,
        `logits    at ${describePosition(position, ids.length)}, after token ${JSON.stringify(tokenText(opened, lastId))} (id ${lastId})`,
        "",
      ].join("\n") + "\n",
    );
    const rows = order.slice(0, k).map((id, rank) => [String(rank + 1), String(id), visibleWhitespace(tokenText(opened, id)), formatNumber(logits[id]!), formatNumber(probs[id]!)]);
    const columns = [
      { header: "rank", align: "right" },
      { header: "id", align: "right" },
      { header: "token", align: "left" },
      { header: "logit", align: "right" },
      { header: "prob", align: "right" },
    ] as const;
    io.stdout.write(renderTable(columns, rows));
  },
};

/** softmax in float64, stable (the largest logit is subtracted first). */
function softmax(xs: readonly number[]): number[] {
  let max = -Infinity;
  for (const x of xs) max = Math.max(max, x);
  const exps = xs.map((x) => Math.exp(x - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}
