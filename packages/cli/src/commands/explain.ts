/**
 * `gim explain`: token attributions of one prediction, for one or several methods side by
 * side, as a colored heatmap and a table, or as JSON.
 */
import { checkGradientScale, checkSoftmaxTemperature, defaultBaseline, explainMethods, maxIntegratedGradientsSteps, methodNames, methodRules, type Explanation, type GimOptions, type MethodName } from "@gim/rules";
import * as fs from "node:fs";
import { formatDuration, ProgressLine } from "@gim/report";
import { InputError } from "@gim/tensor";
import * as nodePath from "node:path";
import { closest, UsageError, type CommandSpec, type ParsedArgs } from "../args.js";
import { htmlReport } from "../html.js";
import type { CliIO, Command } from "../io.js";
import { checkInput, checkTokenId, fromOption, inputIds, modelArg, openModel, openOptions, positionOf, RuntimeError, singleTokenId, tokenText, type OpenedModel } from "../model.js";
import { readBatch, runBatch } from "./explainBatch.js";
import { detectColorMode, formatNumber, normalizeByMaxAbs, paint, renderHeatmap, renderTable, visibleWhitespace, type Column } from "../render.js";
import { allowNonFiniteOption, allowUnusedTensorsOption, describeModel, nonFiniteWarning, describePosition, idsOption, noSpecialTokensOption, jsonOption, modelOption, positionOption } from "./common.js";

/** The command-line name of a method: `freezeNorm` is `freeze-norm`. */
export function methodFlagName(method: MethodName): string {
  return method.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Short aliases accepted by `--method`. */
export const methodAliases: Readonly<Record<string, MethodName>> = { tsg: "softmaxTemperature", ig: "integratedGradients" };

/**
 * The method a `--method` value names: a kebab-case name (`freeze-norm`), the `@gim/rules`
 * name (`freezeNorm`) or an alias (`tsg`, `ig`); case does not matter.
 */
export function parseMethod(name: string): MethodName {
  const wanted = name.trim().toLowerCase();
  for (const m of methodNames) if (wanted === m.toLowerCase() || wanted === methodFlagName(m)) return m;
  const alias = methodAliases[wanted];
  if (alias) return alias;
  const known = methodNames.map((m) => {
    const aliases = Object.keys(methodAliases).filter((a) => methodAliases[a] === m);
    return aliases.length > 0 ? `${methodFlagName(m)} (${aliases.join(", ")})` : methodFlagName(m);
  });
  const guess = closest(wanted, [...methodNames.map(methodFlagName), ...Object.keys(methodAliases)]);
  throw new UsageError(`unknown method "${name}" for --method${guess !== undefined ? `; did you mean ${guess}?` : ""} (known: ${known.join(", ")})`);
}

/** The options and help of `gim explain`. */
export const explainSpec: CommandSpec = {
  name: "explain",
  summary: "token attributions of a model's prediction, per method, side by side",
  usage: ["[options] TEXT", "--model DIR --ids 5,17,3 [options]"],
  positionals: { name: "TEXT", description: "Text to explain, encoded with the model's tokenizer (or use --ids)", max: 1 },
  options: [
    modelOption,
    allowUnusedTensorsOption,
    allowNonFiniteOption,
    idsOption,
    noSpecialTokensOption,
    { name: "method", kind: "string", valueName: "M", repeatable: true, description: `Attribution method: ${methodNames.map((m) => methodFlagName(m)).join(", ")}; aliases tsg, ig; also comma-separated`, defaultText: "gim and gradient (with --json: gim)" },
    { name: "target-id", kind: "int", valueName: "N", min: 0, description: "Token id whose logit is explained", defaultText: "the argmax at the position" },
    { name: "target", kind: "string", valueName: "TOKEN", description: "Target as text; must encode to exactly one token" },
    { name: "foil-id", kind: "int", valueName: "N", min: 0, description: "Explain the contrast logit[target] - logit[foil] (why the target rather than this token)" },
    { name: "foil", kind: "string", valueName: "TOKEN", description: "Foil as text; must encode to exactly one token" },
    { ...positionOption, description: "Position whose prediction is explained; negative counts from the end" },
    { name: "baseline-id", kind: "int", valueName: "N", min: 0, description: "Baseline token id (attr = grad . (e - e_baseline))", defaultText: 'the id of " ", else pad, else unk' },
    { name: "softmax-temperature", kind: "number", valueName: "T", positive: true, description: "TSG: attention softmax backward at softmax(s / T); 1 = off", defaultText: "2" },
    { name: "q-scale", kind: "number", valueName: "S", description: "Gradient scale on queries; 1 = off", defaultText: "0.25" },
    { name: "k-scale", kind: "number", valueName: "S", description: "Gradient scale on keys; 1 = off", defaultText: "0.25" },
    { name: "v-scale", kind: "number", valueName: "S", description: "Gradient scale on values; 1 = off", defaultText: "0.5" },
    { name: "gate-scale", kind: "number", valueName: "S", description: "Gradient scale on the gate branch of gated MLPs; 1 = off", defaultText: "0.5" },
    { name: "up-scale", kind: "number", valueName: "S", description: "Gradient scale on the up branch of gated MLPs; 1 = off", defaultText: "0.5" },
    { name: "no-freeze-norm", kind: "flag", description: "Do not freeze the norms' std/rms in backward (GIM freezes them)" },
    { name: "steps", kind: "int", valueName: "N", min: 1, max: { value: maxIntegratedGradientsSteps, why: "one forward and backward pass each" }, description: `Integrated gradients: interpolation steps (at most ${maxIntegratedGradientsSteps})`, defaultText: "32" },
    { name: "html", kind: "string", valueName: "FILE", description: "Also write the heatmaps and values as a self-contained HTML page (no scripts) to FILE" },
    { name: "batch", kind: "string", valueName: "FILE", description: "Explain every line of a JSON Lines file; prints JSON Lines (see the notes)" },
    jsonOption,
  ],
  notes: [
    "The GIM settings (--softmax-temperature ... --no-freeze-norm) apply to gim and to the single-modification methods (freeze-norm, softmax-temperature, qkv-scale, gate-up-scale).",
    'With --json, prints {"model", "tokens", "ids", "position", "target", "logit", "baseline", "attributions"} for one method (and "foil", "foilLogit" with a foil); with several --method, one such object per method and line, each with a "method" field. "tokens" are null without a tokenizer.',
    '--batch FILE: one JSON object per line, {"text" or "ids", optional "target", "foil" (text or id), "position", "baseline"}; prints one --json line per input line and method, with "line" (the input line number) first. --target, --foil, --position and --baseline-id apply to lines that do not set their own.',
    "Colors: red positive, blue negative, each method scaled by its max |attribution|. NO_COLOR turns them off, FORCE_COLOR on; they are off when stdout is not a terminal.",
  ],
  examples: [
    'explain --model ./my-model "When Mary and John went to the store, John gave a drink to"',
    "explain --model ./my-model --ids 5,17,3 --json --baseline-id 0",
    'explain --model ./my-model "The capital of France is" --target " Paris" --method gim,ig',
    "explain --model ./my-model --ids 5,17,3 --method tsg --softmax-temperature 4",
    'explain "When Mary and John went to the store, John gave a drink to" --html mary.html',
    'explain "When Mary and John went to the store, John gave a drink to" --foil " John"',
    "explain --batch prompts.jsonl --method gim,gradient > attributions.jsonl",
  ],
};

/** The GIM settings given on the command line (the rest stay at their defaults). */
export function gimSettings(args: ParsedArgs): GimOptions {
  const settings: GimOptions = {};
  // Checked here, before the model is opened, so the message names the option.
  const t = args.number("softmax-temperature");
  if (t !== undefined) settings.temperature = usage(() => checkSoftmaxTemperature(t, "option --softmax-temperature"));
  if (args.flag("no-freeze-norm")) settings.freezeNorm = false;
  const scales = [["q-scale", "qScale"], ["k-scale", "kScale"], ["v-scale", "vScale"], ["gate-scale", "gateScale"], ["up-scale", "upScale"]] as const;
  for (const [option, key] of scales) {
    const v = args.number(option);
    if (v !== undefined) settings[key] = usage(() => checkGradientScale(v, `option --${option}`));
  }
  return settings;
}

/** `check()`'s value; its InputError as a UsageError (a wrong option value, exit 2). */
function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message);
    throw error;
  }
}

/** The methods asked for, in order, without repeats; and whether the user named them. */
export function requestedMethods(args: ParsedArgs, json: boolean): { methods: MethodName[]; named: boolean } {
  const names = args.strings("method").flatMap((v) => v.split(","));
  if (names.length === 0) return { methods: json ? ["gim"] : ["gim", "gradient"], named: false };
  const methods: MethodName[] = [];
  for (const name of names) {
    if (name.trim() === "") throw new UsageError("option --method needs a method name, got an empty one");
    const m = parseMethod(name);
    if (!methods.includes(m)) methods.push(m);
  }
  return { methods, named: true };
}

/** A token given as `--NAME TOKEN` (text, one token) or `--NAME-id N`: `--target`, `--foil`. */
function tokenOption(args: ParsedArgs, opened: OpenedModel, name: "target" | "foil"): number | undefined {
  const id = args.number(`${name}-id`);
  const text = args.string(name);
  if (id !== undefined && text !== undefined) throw new UsageError(`give either --${name} or --${name}-id, not both`);
  if (id !== undefined) return checkTokenId(`${name}-id`, id, opened.model);
  if (text === undefined) return undefined;
  if (text === "") throw new UsageError(`option --${name} needs a token, got an empty string`);
  return singleTokenId(opened, text, `--${name}`, `to encode --${name}; pass --${name}-id instead`);
}

function baselineId(args: ParsedArgs, opened: OpenedModel): number {
  const id = args.number("baseline-id");
  if (id !== undefined) return checkTokenId("baseline-id", id, opened.model);
  if (!opened.tokenizer) throw new UsageError(`no baseline token: ${opened.dir} has no tokenizer to find the id of " " with; pass --baseline-id N`);
  return fromOption("no --baseline-id given", () => opened.model.checkTokenId(defaultBaseline(opened.tokenizer), "the baseline token id"));
}

/** One explanation as the JSON object `--json` prints. */
export function explanationJson(e: Explanation, opened: OpenedModel, method?: string): Record<string, unknown> {
  return {
    ...(method !== undefined ? { method } : {}),
    model: opened.name,
    tokens: e.ids.map((id) => (opened.tokenizer ? opened.tokenizer.decodeToken(id) : null)),
    ids: [...e.ids],
    position: e.position,
    target: e.target,
    logit: e.logit,
    ...(e.foil !== undefined ? { foil: e.foil, foilLogit: e.foilLogit } : {}),
    baseline: e.baseline,
    attributions: Array.from(e.attributions, Number),
  };
}

/** `gim explain`. */
export const explainCommand: Command = {
  spec: explainSpec,
  async run(args, io: CliIO) {
    const batchFile = args.string("batch");
    const json = args.flag("json") || batchFile !== undefined;
    const { methods, named } = requestedMethods(args, json);
    const settings = gimSettings(args);
    if (batchFile !== undefined) {
      if (args.positionals.length > 0 || args.ids("ids") !== undefined) throw new UsageError("give either --batch or TEXT / --ids, not both");
      if (args.string("html") !== undefined) throw new UsageError("--html explains one prediction; it cannot be used with --batch");
    } else {
      checkInput(args);
    }
    const opened = await openModel(modelArg(args, io), openOptions(args));
    // The input first: its errors (text without a tokenizer, say) come before the options'.
    const ids = batchFile === undefined ? inputIds(args, opened) : [];
    const target = tokenOption(args, opened, "target");
    const foil = tokenOption(args, opened, "foil");
    const baseline = baselineId(args, opened);
    const steps = args.number("steps");
    const allowNonFinite = args.flag("allow-nonfinite");
    const shared = {
      baseline,
      gim: settings,
      allowNonFinite,
      ...(target !== undefined ? { target } : {}),
      ...(foil !== undefined ? { foil } : {}),
      ...(steps !== undefined ? { steps } : {}),
    };
    if (batchFile !== undefined) {
      const batch = readBatch(batchFile, args, opened, io);
      const position = args.number("position");
      const several = methods.length > 1;
      const lineJson = (e: Explanation, m: MethodName): Record<string, unknown> => {
        warnNonFinite(e, m, io);
        return explanationJson(e, opened, several ? methodFlagName(m) : undefined);
      };
      runBatch(opened, batch, methods, { ...shared, ...(position !== undefined ? { position } : {}) }, lineJson, io);
      return;
    }
    const position = positionOf(args, ids.length);
    // Integrated gradients runs a forward and backward pass per step: on a terminal, a progress line (Ctrl-C stops the run).
    const progress = methods.includes("integratedGradients") && io.stderr.isTTY === true ? new ProgressLine("gim explain", io.stderr) : undefined;
    const onProgress = progress ? (done: number, total: number) => progress.show(done / total, `integrated gradients: step ${done} of ${total}, ${formatDuration(progress.elapsed())} elapsed`, false) : undefined;
    const explanations = explainMethods(opened.model, ids, methods, { ...shared, position, ...(onProgress ? { onProgress } : {}) });

    progress?.finish(`integrated gradients: ${steps ?? 32} steps in ${formatDuration(progress.elapsed())}`);
    for (const [i, e] of explanations.entries()) warnNonFinite(e, methods[i]!, io);

    const html = args.string("html");
    if (html !== undefined) writeHtml(html, explanations, methods, opened, io);

    if (json) {
      const several = named && methods.length > 1;
      for (const [i, e] of explanations.entries()) io.stdout.write(JSON.stringify(explanationJson(e, opened, several ? methodFlagName(methods[i]!) : undefined)) + "\n");
      return;
    }
    for (const [i, e] of explanations.entries()) {
      // A modification method none of whose rules has a place in this model is the plain gradient: say so.
      const skipped = e.skippedRules ?? [];
      const method = methods[i]!;
      if (skipped.length > 0 && skipped.length === methodRules(method, settings).length) {
        const why = skipped.map((s) => s.reason).join("; ");
        io.stderr.write(`gim: note: ${methodFlagName(method)} changes nothing on this model (${why}): its attributions are plain gradient x input\n`);
      }
    }
    io.stdout.write(report(explanations, methods, opened, io));
  },
};

/** Only with --allow-nonfinite can a result hold NaN or Infinity: says so on stderr. */
function warnNonFinite(e: Explanation, method: MethodName, io: CliIO): void {
  const warning = nonFiniteWarning(`the ${methodFlagName(method)} attributions`, [e.logit, ...e.attributions]);
  if (warning !== undefined) io.stderr.write(warning);
}

/** Writes the `--html` page (the path resolved against the working folder) and says where on stderr. */
function writeHtml(file: string, explanations: readonly Explanation[], methods: readonly MethodName[], opened: OpenedModel, io: CliIO): void {
  if (file.trim() === "") throw new UsageError("option --html needs a file name, got an empty string");
  const first = explanations[0]!;
  const page = htmlReport({
    title: first.ids.map((id) => tokenText(opened, id)).join(opened.tokenizer ? "" : " "),
    facts: [
      ["model", `${opened.dir} (${describeModel(opened)})`],
      ["target", `${JSON.stringify(tokenText(opened, first.target))} (id ${first.target}) at ${describePosition(first.position, first.ids.length)}, logit ${formatNumber(first.logit)}`],
      ...(first.foil !== undefined ? [["foil", foilText(first, opened)] as [string, string]] : []),
      ["baseline", `${JSON.stringify(tokenText(opened, first.baseline))} (id ${first.baseline})`],
    ],
    tokens: first.ids.map((id) => tokenText(opened, id)),
    ids: first.ids,
    methods: explanations.map((e, i) => ({ label: methodFlagName(methods[i]!), values: e.attributions })),
    note: "attr[t] = sum_d dL/de[t, d] * (e[t, d] - e_baseline[d]) for the gradient methods, L the target logit; gim: norm freeze, TSG, q/k/v and gate/up gradient scaling (see docs/how-gim-changes-backprop.md). Hover a token for its exact value.",
  });
  const path = nodePath.resolve(io.cwd, file);
  try {
    fs.writeFileSync(path, page);
  } catch (e) {
    throw new RuntimeError(`cannot write --html ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  io.stderr.write(`gim: wrote ${path}\n`);
}

/** Columns to wrap the heatmap at: the terminal's, else $COLUMNS, else 80 (a terminal that reports 0 columns counts as unknown). */
export function terminalWidth(io: Pick<CliIO, "stdout" | "env">): number {
  const usable = (n: number | undefined) => n !== undefined && Number.isInteger(n) && n > 0;
  const fromEnv = Number(io.env["COLUMNS"]);
  if (usable(io.stdout.columns)) return io.stdout.columns!;
  return usable(fromEnv) ? fromEnv : 80;
}

/** The foil line of the report: the token, its logit, and the contrast the attributions explain. */
function foilText(e: Explanation, opened: OpenedModel): string {
  return `${JSON.stringify(tokenText(opened, e.foil!))} (id ${e.foil}), logit ${formatNumber(e.foilLogit!)}: attributions explain logit[target] - logit[foil] = ${formatNumber(e.logit - e.foilLogit!)}`;
}

function report(explanations: readonly Explanation[], methods: readonly MethodName[], opened: OpenedModel, io: CliIO): string {
  const first = explanations[0]!;
  const mode = detectColorMode(io.env, io.stdout.isTTY === true);
  const labels = methods.map(methodFlagName);
  const shown = first.ids.map((id) => tokenText(opened, id));
  const header = [
    `model     ${opened.dir} (${describeModel(opened)})`,
    `target    ${JSON.stringify(tokenText(opened, first.target))} (id ${first.target}) at ${describePosition(first.position, first.ids.length)}, logit ${formatNumber(first.logit)}`,
    ...(first.foil !== undefined ? [`foil      ${foilText(first, opened)}`] : []),
    `baseline  ${JSON.stringify(tokenText(opened, first.baseline))} (id ${first.baseline})`,
    "",
  ].join("\n");
  const heatmap = renderHeatmap(
    shown,
    explanations.map((e, i) => ({ label: labels[i]!, values: e.attributions })),
    mode,
    terminalWidth(io),
    opened.tokenizer ? "" : " ", // without a tokenizer the tokens are ids: keep them apart
  );
  const columns: Column[] = [{ header: "#", align: "right" }, { header: "token", align: "left" }, { header: "id", align: "right" }, ...labels.map((l): Column => ({ header: l, align: "right" }))];
  const rows = first.ids.map((id, t) => [String(t), visibleWhitespace(shown[t]!), String(id), ...explanations.map((e) => formatNumber(e.attributions[t]!))]);
  const scaled = explanations.map((e) => normalizeByMaxAbs(e.attributions));
  const table = renderTable(columns, rows, (row, column, padded) => (column >= 3 ? paint(padded, scaled[column - 3]![row]!, mode) : padded));
  return [header, heatmap, table].filter((s) => s !== "").join("\n");
}
