/**
 * `gim eval`: the faithfulness evaluation of `docs/results.md` on the shipped models'
 * held-out data: comprehensiveness, sufficiency and evidence hit rate of every token
 * attribution method; component attribution (plain gradient vs GIM) against exact patching
 * with MIB-style circuit faithfulness; circuits on MIB's per-head q/k/v graph with its held-out
 * protocol (EAP, EAP-IG, GIM and its parts, a TSG sweep; CPR and CMD with paired bootstrap
 * intervals); and the attention self-repair measurement. Prints
 * tables (or JSON) and, with `--report`, writes the markdown report and its SVG plots.
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import {
  buildEvalTask, differenceOf, evalMethods, formatInterval, formatShare, fullRun, ioiCounterfactuals, maxSubset, methodLabels, resultsJson, runEval, runProtocol, sizesOf, verdict,
  type IoiCounterfactual, type EvalMethod, type ProtocolEvalResult, type EvalProgress, type EvalResults, type EvalSizes, type EvalTask, type EvalTaskKind, type SectionAlone, type SelfRepairResult,
} from "@gim/eval";
import { machineInfo, updateSections, writeReport } from "@gim/eval/node";
import { ioiTrainingTask, recipes, shippedModels } from "@gim/models";
import { formatDuration, ProgressLine } from "@gim/report";
import { UsageError, type CommandSpec, type ParsedArgs } from "../args.js";
import type { CliIO, Command, OutputStream } from "../io.js";
import { openModel, resolveModel, RuntimeError } from "../model.js";
import { renderTable, type Column } from "../render.js";
import { jsonOption } from "./common.js";
import { methodFlagName, parseMethod } from "./explain.js";

/** The options and help of `gim eval`. */
export const evalSpec: CommandSpec = {
  name: "eval",
  summary: "faithfulness of token and component attributions on the shipped models' held-out data (docs/results.md)",
  usage: ["[options]"],
  options: [
    {
      name: "model",
      kind: "string",
      valueName: "NAME|DIR|ID",
      repeatable: true,
      description: `A shipped model (${shippedModels.join(", ")}) or a model folder trained on one of their tasks`,
      defaultText: "every shipped model",
    },
    { name: "task", kind: "string", valueName: "ioi|induction", description: "The task of a --model DIR whose training.json does not name a recipe" },
    {
      name: "also-task",
      kind: "string",
      valueName: "induction-twice",
      repeatable: true,
      description: "Also evaluate every induction model on this variant of its task (reported as NAME on TASK): induction-twice, where the copied segment and its answer occur twice before the tail",
    },
    {
      name: "subset",
      kind: "int",
      valueName: "N",
      min: 1,
      max: { value: maxSubset, why: "the examples are built before the run starts, and each takes several forward and backward passes" },
      description: `Evaluate N held-out examples, N clean/corrupted pairs, N + N circuit pairs and at most N self-repair examples per model (for CI); at most ${maxSubset}`,
      defaultText: `${fullRun.examples} examples, ${fullRun.pairs} pairs, ${fullRun.selfRepair} self-repair examples`,
    },
    { name: "methods", kind: "string", valueName: "M,...", repeatable: true, description: "Token attribution methods: those of gim explain, and random", defaultText: "all" },
    { name: "seed", kind: "int", valueName: "S", min: 0, description: "Seed of the held-out draw and of the random ranking", defaultText: "0" },
    { name: "report", kind: "string", valueName: "FILE", description: "Write the markdown report to FILE and its SVG plots to plots/ next to it (a discussion between the markers is kept)" },
    { name: "no-components", kind: "flag", description: "Skip the component evaluation" },
    { name: "no-circuits", kind: "flag", description: "Skip the circuit evaluation on MIB's graph (held out, with intervals)" },
    { name: "circuit-grid", kind: "string", valueName: "full|headline", description: "Circuit methods: the headline (random, EAP, EAP-IG, GIM-EAP, GIM-EAP-IG, exact) or also the ablation grid and the TSG sweep", defaultText: "full" },
    { name: "counterfactual", kind: "string", valueName: "s2-io-flip|third-name", description: "IOI's corrupted prompts: MIB's S2/IO flip (metric logit[IO] - logit[S]) or IO replaced by a third name", defaultText: "s2-io-flip" },
    { name: "resamples", kind: "int", valueName: "N", min: 10, description: "Bootstrap resamples of the circuit evaluation's intervals", defaultText: "2000" },
    { name: "no-self-repair", kind: "flag", description: "Skip the self-repair measurement" },
    { name: "no-protocol", kind: "flag", description: "Skip the GIM paper's self-repair protocol and its link to circuit error" },
    {
      name: "protocol-examples",
      kind: "int",
      valueName: "N",
      min: 1,
      max: { value: maxSubset, why: "each example is a forward, a backward and three patched forwards per measured row" },
      description: "Examples of the self-repair protocol per model",
      defaultText: `${fullRun.protocol}, or at most N with --subset N`,
    },
    { name: "protocol-threshold", kind: "number", valueName: "C", min: 0, description: "Protocol: a key counts when its contribution A·dL/dA exceeds C (logit units); rows need two such keys", defaultText: "1 (the reference's)" },
    { name: "protocol-top", kind: "number", valueName: "P", positive: true, description: "Protocol: the share of measured rows called high-interaction (those above the 1 - P quantile), below 1", defaultText: "0.05" },
    { name: "no-protocol-link", kind: "flag", description: "Protocol: skip the link to circuit error (EAP and exact edge patching on the circuit scoring pairs)" },
    { name: "only-protocol", kind: "flag", description: "Run only the self-repair protocol and its link; with --report, replace only that section of the existing report (and its plots), keeping the rest" },
    {
      name: "only-self-repair",
      kind: "flag",
      description: "Run only the self-repair measurement (with --only-protocol: both); with --report, replace only that section of the existing report, keeping the rest",
    },
    jsonOption,
  ],
  notes: [
    "Token attributions: f is the target logit (the correct answer at the last position). Tokens are ranked by attribution, the first and last token excluded (n = length - 2 rankable). Comprehensiveness masks the top-1..top-min(50, n) tokens with the baseline token and averages (f(x) - f(x_masked)) / f(x) (higher is better); sufficiency masks the floor(r n) least important for r in 0.5, 0.8, 0.9, 0.95, 0.99 (lower is better). Examples with f(x) <= 0 are left out of both and counted. The evidence hit rate is the share of examples whose top-ranked token is a ground-truth evidence token.",
    "Components: attribution patching with the plain gradient and with GIM against exact activation patching (Spearman, top-k overlap) over the held-out clean/corrupted pairs, and the faithfulness of the circuits of the top-k nodes and edges (MIB's CPR and CMD). Self-repair: attention rows whose two heaviest keys matter together but little alone, and how plain gradients, TSG and GIM rank them. docs/results.md defines every number.",
    "Circuits: edge scores on MIB's graph (senders: input, heads, MLPs; receivers: every head's q, k and v input, every MLP input, the logits) from one set of pairs, circuits of MIB's sizes evaluated on a disjoint set; CPR (area under f, signed ranking) and CMD (area of |1 - f|, |score| ranking) with paired bootstrap intervals, for random, EAP, EAP-IG, GIM-EAP, GIM-EAP-IG, exact edge patching, and (full grid) each of GIM's parts alone, GIM minus each part, and GIM with TSG at T = 1, 1.5, 2.5, 3, 5, 10.",
    "The self-repair protocol (the GIM paper's, JoakimEdin/gim evaluate_self_repair.py): attention rows with at least two keys whose contribution A·dL/dA exceeds the threshold; their top-2 keys' scores set to the row's mean score, alone and together (linearised and exact effects); interaction = (both - first - second) / both; the rows above the 0.95 quantile. It differs from the self-repair measurement above, which picks the two heaviest keys, masks them and counts rows by absolute effect criteria. The link to circuit error compares |EAP| / |exact| on q/k edges into the heads holding those rows with the other q/k edges, for plain EAP, TSG alone and GIM (difference in differences, paired bootstrap over the circuit scoring pairs).",
    "Progress goes to stderr (one redrawn line on a terminal, plain lines otherwise).",
  ],
  examples: ["eval --report docs/results.md", "eval --model ioi-gpt2 --subset 4 --json", "eval --model induction-gpt2 --no-components --no-circuits --no-self-repair --protocol-examples 256 --json", "eval --model ./my-ioi-model --task ioi --methods gim,gradient,random"],
};

/** The methods of `--methods`, in the evaluation's order; all of them by default. */
export function evalMethodsOf(args: ParsedArgs): EvalMethod[] {
  const names = args.strings("methods").flatMap((v) => v.split(","));
  if (names.length === 0) return [...evalMethods];
  const chosen = new Set<EvalMethod>();
  for (const name of names) {
    if (name.trim() === "") throw new UsageError("option --methods needs method names, got an empty one");
    chosen.add(name.trim().toLowerCase() === "random" ? "random" : parseMethod(name));
  }
  return evalMethods.filter((m) => chosen.has(m));
}

/** What the task of a model folder is: `--task`, else the recipe its training.json names. */
function taskOf(dir: string, name: string, given: string | undefined): { kind: EvalTaskKind; training?: Record<string, unknown> } {
  let training: Record<string, unknown> | undefined;
  const file = nodePath.join(dir, "training.json");
  if (fs.existsSync(file)) {
    try {
      training = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new RuntimeError(`${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (given !== undefined && given !== "ioi" && given !== "induction") throw new UsageError(`unknown --task "${given}" (known: ioi, induction)`);
  const recipeName = typeof training?.["model"] === "string" ? (training["model"] as string) : name;
  const recipe = recipes[recipeName];
  const ofRecipe: EvalTaskKind | undefined = recipe ? (recipe.task === ioiTrainingTask ? "ioi" : "induction") : undefined;
  // --task is for folders without a recipe; with several --model values it must not relabel the others.
  if (given !== undefined && ofRecipe !== undefined && given !== ofRecipe) {
    throw new UsageError(`--task ${given} does not fit ${name}: it was trained with the ${recipeName} recipe, an ${ofRecipe} model`);
  }
  const kind = (given as EvalTaskKind | undefined) ?? ofRecipe;
  if (kind === undefined) {
    const why = training ? "its training.json names no shipped recipe" : "it has no training.json";
    throw new UsageError(`cannot tell the task of ${dir}: ${why} (recipes: ${Object.keys(recipes).join(", ")}); pass --task ioi or --task induction`);
  }
  return { kind, ...(training ? { training } : {}) };
}

/** The variants of each training task a model can also be evaluated on (`--also-task`). */
const taskVariants: Readonly<Record<string, readonly EvalTaskKind[]>> = { induction: ["induction-twice"] };

/** A model and its held-out data as an evaluation task. */
export interface LoadedTask {
  readonly task: EvalTask;
  /** The task its data was drawn for. */
  readonly kind: EvalTaskKind;
  /** The command that trained the model (from training.json), when known. */
  readonly trainingCommand?: string;
}

/**
 * Opens a model (shipped name or folder) and draws its held-out data: of its own task, or of
 * `on`, a variant of it (then the task is named "NAME on VARIANT").
 */
export async function loadEvalTask(
  spec: string,
  io: Pick<CliIO, "cwd" | "env">,
  options: { task?: string; on?: EvalTaskKind; seed: number; sizes: EvalSizes; counterfactual?: IoiCounterfactual },
): Promise<LoadedTask> {
  const resolved = resolveModel(spec, io.cwd, io.env);
  const { dir } = resolved;
  const { kind: own, training } = taskOf(dir, resolved.name, options.task);
  const kind = options.on ?? own;
  if (kind !== own && !(taskVariants[own] ?? []).includes(kind)) throw new UsageError(`${resolved.name} is a model of the ${own} task; it cannot be evaluated on ${kind}`);
  const name = kind === own ? resolved.name : `${resolved.name} on ${kind}`;
  const opened = await openModel(resolved);
  const tokenizer = opened.tokenizer;
  if (!tokenizer) throw new RuntimeError(`${dir} has no tokenizer (tokenizer.json, or vocab.json + merges.txt); gim eval needs it to build the task's examples`);
  const accuracy = (training?.["accuracy"] as Record<string, number> | undefined)?.["heldout"];
  const about = [
    typeof training?.["description"] === "string" ? `${training["description"] as string}.` : `a ${own} model from ${dir}.`,
    accuracy !== undefined ? `Held-out accuracy at the end of training: ${(100 * accuracy).toFixed(1)}%.` : "",
  ]
    .filter(Boolean)
    .join(" ");
  let task: EvalTask;
  try {
    task = buildEvalTask(kind, opened.model, tokenizer, { name, sizes: options.sizes, seed: options.seed, about, ...(options.counterfactual ? { counterfactual: options.counterfactual } : {}) });
  } catch (e) {
    throw new RuntimeError(`${dir}: cannot build the ${kind} task's examples with this model's tokenizer: ${(e as Error).message}`);
  }
  // A variant's model is the same as its own task's: say how it was trained once.
  const trainingCommand = kind === own && typeof training?.["command"] === "string" ? (training["command"] as string) : undefined;
  return { task, kind, ...(trainingCommand ? { trainingCommand } : {}) };
}

/**
 * Progress on stderr: one line redrawn in place on a terminal; otherwise a plain line when a
 * model's stage starts and at every tenth of the work.
 */
export class EvalProgressBar {
  private readonly line: ProgressLine;
  private lastStage = "";
  private lastTenth = -1;

  constructor(stream: OutputStream) {
    this.line = new ProgressLine("gim eval", stream);
  }

  /** Shows where the evaluation is. */
  update(p: EvalProgress): void {
    const fraction = p.total > 0 ? p.done / p.total : 1;
    const eta = this.line.eta(p.done, p.total);
    const text = `${(100 * fraction).toFixed(0).padStart(3)}% ${p.model} ${p.stage} (${p.done}/${p.total}) ${formatDuration(this.line.elapsed())} elapsed${Number.isFinite(eta) ? `, about ${formatDuration(eta)} left` : ""}`;
    const stage = `${p.model} ${p.stage}`;
    const tenth = Math.floor(fraction * 10);
    this.line.show(fraction, text, stage !== this.lastStage || tenth !== this.lastTenth);
    this.lastStage = stage;
    this.lastTenth = tenth;
  }

  /** Ends the display. */
  finish(message: string): void {
    this.line.finish(message);
  }
}

/** The command line that reproduces this run (`pnpm gim eval ...`), options in a fixed order. */
export function canonicalCommand(args: ParsedArgs, reportPath: string | undefined): string {
  const parts = ["pnpm gim eval"];
  for (const m of args.strings("model")) parts.push(`--model ${quote(m)}`);
  const task = args.string("task");
  if (task !== undefined) parts.push(`--task ${task}`);
  for (const t of args.strings("also-task")) parts.push(`--also-task ${t}`);
  const subset = args.number("subset");
  if (subset !== undefined) parts.push(`--subset ${subset}`);
  if (args.strings("methods").length > 0) parts.push(`--methods ${evalMethodsOf(args).map((m) => (m === "random" ? m : methodFlagName(m))).join(",")}`);
  const seed = args.number("seed");
  if (seed !== undefined) parts.push(`--seed ${seed}`);
  if (args.flag("no-components")) parts.push("--no-components");
  if (args.flag("no-circuits")) parts.push("--no-circuits");
  const grid = args.string("circuit-grid");
  if (grid !== undefined) parts.push(`--circuit-grid ${grid}`);
  const counterfactual = args.string("counterfactual");
  if (counterfactual !== undefined) parts.push(`--counterfactual ${counterfactual}`);
  const resamples = args.number("resamples");
  if (resamples !== undefined) parts.push(`--resamples ${resamples}`);
  if (args.flag("no-self-repair")) parts.push("--no-self-repair");
  if (args.flag("no-protocol")) parts.push("--no-protocol");
  for (const name of ["protocol-examples", "protocol-threshold", "protocol-top"]) {
    const v = args.number(name);
    if (v !== undefined) parts.push(`--${name} ${v}`);
  }
  if (args.flag("no-protocol-link")) parts.push("--no-protocol-link");
  if (args.flag("only-self-repair")) parts.push("--only-self-repair");
  if (args.flag("only-protocol")) parts.push("--only-protocol");
  if (reportPath !== undefined) parts.push(`--report ${quote(reportPath)}`);
  if (args.flag("json")) parts.push("--json");
  return parts.join(" ");
}

function quote(text: string): string {
  return /^[\w./@:-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/** The commands of a report: how each model was trained (when known), then this run. */
function trainingCommands(loaded: readonly LoadedTask[], args: ParsedArgs, report: string | undefined): string[] {
  return [...loaded.flatMap((l) => (l.trainingCommand ? [`# ${l.task.name} was trained with: ${l.trainingCommand}`] : [])), canonicalCommand(args, report)];
}

/** `gim eval`. */
export const evalCommand: Command = {
  spec: evalSpec,
  async run(args, io: CliIO) {
    const methods = evalMethodsOf(args);
    const subset = args.number("subset");
    const seed = args.number("seed") ?? 0;
    const report = args.string("report");
    if (report !== undefined && report.trim() === "") throw new UsageError("option --report needs a file name, got an empty string");
    const reportPath = report !== undefined ? nodePath.resolve(io.cwd, report) : undefined;
    if (reportPath !== undefined && !fs.existsSync(nodePath.dirname(reportPath))) throw new UsageError(`--report ${report}: the folder ${nodePath.dirname(reportPath)} does not exist`);
    const task = args.string("task");
    const specs = args.strings("model");
    if (task !== undefined && specs.length === 0) throw new UsageError("--task applies to a --model DIR; give one");
    const names = specs.length > 0 ? specs : [...shippedModels];
    const protocolExamples = args.number("protocol-examples");
    const sizes = { ...sizesOf(subset), ...(protocolExamples !== undefined ? { protocol: protocolExamples } : {}) };
    const protocolTop = args.number("protocol-top");
    if (protocolTop !== undefined && protocolTop >= 1) throw new UsageError(`option --protocol-top is a share of rows and must be below 1, got ${protocolTop}`);
    const protocolOff = args.flag("no-protocol");
    if (protocolOff) {
      const given = [...["protocol-examples", "protocol-threshold", "protocol-top"].filter((name) => args.number(name) !== undefined), ...(args.flag("no-protocol-link") ? ["no-protocol-link"] : [])];
      if (given.length > 0) throw new UsageError(`option --${given[0]} applies to the self-repair protocol, which --no-protocol skips`);
    }
    const grid = args.string("circuit-grid") ?? "full";
    if (grid !== "full" && grid !== "headline") throw new UsageError(`unknown --circuit-grid "${grid}" (known: full, headline)`);
    const counterfactual = args.string("counterfactual");
    if (counterfactual !== undefined && !(ioiCounterfactuals as readonly string[]).includes(counterfactual)) {
      throw new UsageError(`unknown --counterfactual "${counterfactual}" (known: ${ioiCounterfactuals.join(", ")})`);
    }
    const onlyProtocol = args.flag("only-protocol");
    const onlySelfRepair = args.flag("only-self-repair");
    const only: SectionAlone[] = [...(onlySelfRepair ? ["self-repair" as const] : []), ...(onlyProtocol ? ["protocol" as const] : [])];
    if (only.length > 0) {
      const flags = only.map((x) => `--only-${x}`).join(" and ");
      const parts = only.map((x) => (x === "protocol" ? "the protocol" : "the self-repair measurement")).join(" and ");
      if (onlyProtocol && protocolOff) throw new UsageError("--only-protocol runs only the protocol, which --no-protocol skips");
      if (onlySelfRepair && args.flag("no-self-repair")) throw new UsageError("--only-self-repair runs only the self-repair measurement, which --no-self-repair skips");
      if (reportPath !== undefined && !fs.existsSync(reportPath)) {
        const sections = only.map((x) => (x === "protocol" ? "the protocol's section" : "the self-repair section")).join(" and ");
        throw new UsageError(`--report ${report}: ${reportPath} does not exist; ${flags} replace${only.length === 1 ? "s" : ""} ${sections} of an existing report (make one with gim eval --report first)`);
      }
      const notApplying = ["no-components", "no-circuits", ...(onlySelfRepair ? [] : ["no-self-repair"]), ...(onlyProtocol ? [] : ["no-protocol", "no-protocol-link"])].filter((name) => args.flag(name));
      const protocolValues = onlyProtocol ? [] : ["protocol-examples", "protocol-threshold", "protocol-top"].filter((name) => args.number(name) !== undefined);
      const wrong = [...notApplying, ...protocolValues].map((name) => `--${name}`);
      if (args.strings("methods").length > 0) wrong.push("--methods");
      if (args.string("circuit-grid") !== undefined) wrong.push("--circuit-grid");
      if (wrong.length > 0) throw new UsageError(`${flags} run${only.length === 1 ? "s" : ""} only ${parts}; ${wrong[0]} does not apply`);
    }
    const alsoTasks = [...new Set(args.strings("also-task"))]; // a variant given twice is evaluated once
    const variants = Object.values(taskVariants).flat();
    for (const t of alsoTasks) if (!(variants as readonly string[]).includes(t)) throw new UsageError(`unknown --also-task "${t}" (known: ${variants.join(", ")})`);
    const loaded: LoadedTask[] = [];
    const common = { ...(task !== undefined ? { task } : {}), seed, sizes, ...(counterfactual ? { counterfactual: counterfactual as IoiCounterfactual } : {}) };
    for (const spec of names) {
      const own = await loadEvalTask(spec, io, common);
      loaded.push(own);
      for (const t of alsoTasks) if ((taskVariants[own.kind] ?? []).includes(t as EvalTaskKind)) loaded.push(await loadEvalTask(spec, io, { ...common, on: t as EvalTaskKind }));
    }
    for (const t of alsoTasks) {
      if (!loaded.some((l) => l.kind === t)) throw new UsageError(`--also-task ${t} fits none of the models (it is a variant of the ${Object.keys(taskVariants).find((k) => taskVariants[k]!.includes(t as EvalTaskKind))} task)`);
    }
    // The options the protocol takes, shared by --only-protocol and the whole run.
    const protocolOptions = {
      seed,
      protocolLink: !args.flag("no-protocol-link"),
      ...(args.number("resamples") !== undefined ? { resamples: args.number("resamples")! } : {}),
      ...(args.number("protocol-threshold") !== undefined ? { protocolThreshold: args.number("protocol-threshold")! } : {}),
      ...(protocolTop !== undefined ? { protocolTop } : {}),
    };
    if (only.length > 0) {
      const bar = new EvalProgressBar(io.stderr);
      const results = runProtocol(
        loaded.map((l) => l.task),
        { ...protocolOptions, selfRepair: onlySelfRepair, protocol: onlyProtocol, onProgress: (p) => bar.update(p) },
      );
      bar.finish(`done in ${formatDuration(results.seconds)}`);
      if (reportPath !== undefined) {
        const { plotDir, plots } = updateSections(only, reportPath, results, { date: new Date().toISOString(), machine: machineInfo(), commands: trainingCommands(loaded, args, report) });
        const sections = only.map((x) => (x === "protocol" ? "the self-repair protocol's" : "the self-repair")).join(" and ");
        io.stderr.write(`gim eval replaced ${sections} section${only.length > 1 ? "s" : ""} of ${reportPath}${plots > 0 ? ` and wrote ${plots} plots in ${plotDir}` : ""}\n`);
      }
      if (args.flag("json")) io.stdout.write(resultsJson(results) + "\n");
      else {
        const lines = results.models.flatMap((m) => [
          `${m.name} (${m.architecture})`,
          ...(onlySelfRepair ? (m.selfRepair ? selfRepairLines(m.selfRepair) : ["no self-repair examples"]) : []),
          ...(onlyProtocol ? (m.protocol ? protocolLines(m.protocol) : ["no protocol examples"]) : []),
        ]);
        io.stdout.write([...lines, `${formatDuration(results.seconds)} in total`, ""].join("\n"));
      }
      return;
    }
    const bar = new EvalProgressBar(io.stderr);
    const results = runEval(
      loaded.map((l) => l.task),
      {
        ...protocolOptions,
        methods,
        components: !args.flag("no-components"),
        circuits: !args.flag("no-circuits"),
        circuitGrid: grid === "headline" ? { ablation: false, sweep: false } : {},
        selfRepair: !args.flag("no-self-repair"),
        protocol: !protocolOff,
        onProgress: (p) => bar.update(p),
      },
    );
    bar.finish(`done in ${formatDuration(results.seconds)}`);
    if (reportPath !== undefined) {
      const { plotDir, plots } = writeReport(reportPath, results, { date: new Date().toISOString(), machine: machineInfo(), commands: trainingCommands(loaded, args, report) });
      io.stderr.write(`gim eval wrote ${reportPath} and ${plots} plots in ${plotDir}\n`);
    }
    if (args.flag("json")) io.stdout.write(resultsJson(results) + "\n");
    else io.stdout.write(renderText(results));
  },
};

/** The self-repair measurement of one model as text lines (a count, then how each method sees the pairs). */
export function selfRepairLines(s: SelfRepairResult): string[] {
  const value = (v: number) => (Number.isFinite(v) ? (v + 0).toFixed(3) : "-");
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "-");
  return [
    `self-repair: ${s.rowsMeasured} rows measured, ${s.rowsThatMatter} where the pair matters, ${s.selfRepair.rows} self-repair (${formatShare(s.shareOfMeasured)} of measured, ${formatShare(s.shareOfMatter)} of those that matter)`,
    renderTable(
      [
        { header: "method", align: "left" },
        { header: "rank j1 / j2 (self-repair rows)", align: "right" },
        { header: "both top two", align: "right" },
        { header: "pair share of |g|", align: "right" },
        { header: "visibility", align: "right" },
        { header: "ρ(g, E) all rows", align: "right" },
        { header: "ρ(Ê, E) all rows", align: "right" },
      ],
      s.selfRepair.methods.map((x) => [
        x.name,
        `${value(x.meanRanks[0])} / ${value(x.meanRanks[1])}`,
        pct(x.bothTopTwo),
        value(x.medianPairShare),
        value(s.visibility[x.name] ?? Number.NaN),
        value(s.gradientSpearman[x.name] ?? Number.NaN),
        value(s.jointSpearman[x.name] ?? Number.NaN),
      ]),
    ),
  ];
}

/** The protocol's lines of the text output. */
export function protocolLines(x: ProtocolEvalResult): string[] {
  const lines: string[] = [];
  const value = (v: number) => (Number.isFinite(v) ? (v + 0).toFixed(3) : "-");
  lines.push(`self-repair protocol (the GIM paper's): ${x.rowCount} rows, ${x.measured} with two keys of contribution c > ${x.threshold} (${formatShare(x.share)}), ${x.linearised.highRows} above the q${Math.round(100 * (1 - x.top))} interaction ${value(x.linearised.quantile)}`);
  if (x.sensitivity.length > 0) lines.push(`at other thresholds: ${x.sensitivity.map((y) => `c > ${y.threshold}: ${y.measured} (${formatShare(y.share)})`).join(", ")}`);
  if (x.link) {
    const l = x.link;
    lines.push(`link to circuit error: heads ${l.heads.map((h) => `${h.layer}.${h.head}`).join(", ")}, ${l.highEdges} / ${l.otherEdges} q/k edges, ${l.prompts} scoring pairs; 95% bootstrap intervals`);
    lines.push(
      renderTable(
        [
          { header: "EAP with", align: "left" },
          { header: "|EAP|/|exact| high", align: "right" },
          { header: "other", align: "right" },
          { header: "gap", align: "right" },
          { header: "DiD vs plain", align: "right" },
          { header: "high/other", align: "right" },
          { header: "÷ plain's", align: "right" },
        ],
        Object.entries(l.methods).map(([name, r]) => [
          name, formatInterval(r.high), formatInterval(r.other), formatInterval(r.gap),
          r.differenceInDifferences ? formatInterval(r.differenceInDifferences) : "",
          formatInterval(r.ratioOfRatios), r.ratioOfRatiosVsBaseline ? formatInterval(r.ratioOfRatiosVsBaseline) : "",
        ]),
      ),
    );
  } else if (x.linkNote) lines.push(`link to circuit error: not measured (${x.linkNote})`);
  return lines;
}

/** The tables `gim eval` prints without `--json`. */
export function renderText(results: EvalResults): string {
  const lines: string[] = [];
  const value = (v: number) => (Number.isFinite(v) ? (v + 0).toFixed(3) : "-");
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "-");
  for (const m of results.models) {
    lines.push(`${m.name} (${m.architecture}): ${m.tokens.examples} examples, f(x) <= 0 in ${m.tokens.undefinedExamples}, argmax = answer in ${m.tokens.argmaxIsTarget}`);
    const columns: Column[] = [
      { header: "method", align: "left" },
      { header: "comprehensiveness ↑", align: "right" },
      { header: "sufficiency ↓", align: "right" },
      ...m.evidenceSets.map((s): Column => ({ header: `top ∈ ${s.description}`, align: "right" })),
    ];
    lines.push(
      renderTable(
        columns,
        m.tokens.methods.map((x) => [
          methodLabels[x.method] + (x.note ? " (= gradient)" : ""),
          `${value(x.comprehensiveness.mean)} ± ${value(x.comprehensiveness.se)}`,
          `${value(x.sufficiency.mean)} ± ${value(x.sufficiency.se)}`,
          ...m.evidenceSets.map((s) => pct(x.evidence[s.name]!.rate)),
        ]),
      ),
    );
    if (m.components) {
      const c = m.components;
      lines.push(`components: ${c.pairs} pairs, M(clean) ${value(c.metricClean)}, M(corrupted) ${value(c.metricCorrupted)}`);
      lines.push(
        renderTable(
          [
            { header: "ranking from", align: "left" },
            { header: "nodes ρ", align: "right" },
            { header: "edges ρ", align: "right" },
            { header: "node CPR-like ↑", align: "right" },
            { header: "edge CPR-like ↑", align: "right" },
            { header: "edge CMD-like ↓", align: "right" },
          ],
          c.sources.map((s) => [
            s.name,
            s.nodes.agreement ? value(s.nodes.agreement.spearman) : "-",
            s.edges.agreement ? value(s.edges.agreement.spearman) : "-",
            value(s.nodes.signed.area),
            value(s.edges.signed.area),
            value(s.edges.absolute.areaFromOne),
          ]),
        ),
      );
    }
    if (m.circuits) {
      const c = m.circuits;
      lines.push(`circuits on MIB's graph: ${c.edges} edges, scores from ${c.scorePairs} pairs, circuits on ${c.evalPairs} others; ${Math.round(100 * c.level)}% bootstrap intervals`);
      lines.push(
        renderTable(
          [
            { header: "ranking from", align: "left" },
            { header: "CPR ↑", align: "right" },
            { header: "CMD ↓", align: "right" },
            { header: "Spearman with exact", align: "right" },
            { header: "vs plain: CPR / CMD / Spearman", align: "left" },
          ],
          c.methods.map((x) => [
            x.name,
            formatInterval(x.cpr),
            formatInterval(x.cmd),
            formatInterval(x.spearman),
            x.base && x.variant !== "plain" ? (["cpr", "cmd", "spearman"] as const).map((s) => verdict(differenceOf(c, x.name, x.base!, s))).join(" / ") : "",
          ]),
        ),
      );
    }
    if (m.selfRepair) lines.push(...selfRepairLines(m.selfRepair));
    if (m.protocol) lines.push(...protocolLines(m.protocol));
  }
  lines.push(`${formatDuration(results.seconds)} in total`, "");
  return lines.join("\n");
}
