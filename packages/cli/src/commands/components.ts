/**
 * `gim components`: attention heads and MLPs (and, with `--edges`, the edges between them)
 * scored by attribution patching with GIM and with the plain gradient for a clean/corrupted
 * prompt pair; with `--exact`, compared against exact activation patching; and the
 * faithfulness of the circuits each ranking builds (after MIB's circuit localization track).
 * Edges are those of MIB's graph (every head's q, k and v input a receiver of its own), scored
 * by EAP or EAP-IG; `--graph-out` writes them as an EAP-IG/MIB graph file, `--graph-in` reads
 * one and evaluates its scores and its circuit on the pair.
 */
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { noGrad } from "@gim/autograd";
import {
  compareComponentMethods, compareEdgeMethods, gimDefaults, logitDiff, methodRules, mibIgSteps, readGraph, targetLogit, topEdgeCircuit, writeGraph,
  type GradientMethod, type ComponentReport, type CurveSummary, type EdgeComparison, type FaithfulnessCurve, type GraphFile, type Metric, type ScoredSource, type Agreement,
} from "@gim/rules";
import * as T from "@gim/tensor";
import { UsageError, type CommandSpec, type ParsedArgs } from "../args.js";
import type { CliIO, Command } from "../io.js";
import { checkInput, checkTokenId, encodeText, fromOption, inputIds, modelArg, openModel, openOptions, requireTokenizer, positionOf, RuntimeError, tokenText, type OpenedModel } from "../model.js";
import { formatNumber, renderTable, type Column } from "../render.js";
import { allowUnusedTensorsOption, describeModel, idsOption, jsonOption, modelOption, positionOption } from "./common.js";
import { methodFlagName, parseMethod } from "./explain.js";

/** The options and help of `gim components`. */
export const componentsSpec: CommandSpec = {
  name: "components",
  summary: "attention heads, MLPs (and edges) ranked by attribution patching for a clean/corrupted pair, vs exact patching",
  usage: ['[options] "CLEAN TEXT" --corrupted "CORRUPTED TEXT"', "--model DIR --ids 5,17,3 --corrupted-ids 5,18,3 [options]"],
  positionals: { name: "TEXT", description: "The clean prompt, encoded with the model's tokenizer (or use --ids)", max: 1 },
  options: [
    modelOption,
    allowUnusedTensorsOption,
    { name: "corrupted", kind: "string", valueName: "TEXT", description: "The corrupted prompt (same number of tokens as the clean one)" },
    idsOption,
    { name: "no-special-tokens", kind: "flag", description: "Encode the prompts without the special tokens the tokenizer adds (e.g. Llama's BOS)" },
    { name: "corrupted-ids", kind: "ids", valueName: "5,18,3", description: "Token ids of the corrupted prompt instead of --corrupted" },
    { name: "method", kind: "string", valueName: "M", repeatable: true, description: "Gradient method: gim, gradient, freeze-norm, softmax-temperature (tsg), qkv-scale, gate-up-scale; also comma-separated", defaultText: "gim and gradient" },
    { name: "exact", kind: "flag", description: "Also run exact activation patching (one forward per component, per edge with --edges) and compare with it" },
    { name: "edges", kind: "flag", description: "Also score the edges of MIB's graph (input, heads, MLPs -> every head's q/k/v input, every MLP input, the logits)" },
    { name: "edge-method", kind: "string", valueName: "eap|eap-ig", description: "How --edges scores edges: EAP (one gradient) or EAP-IG (integrated gradients on the input embeddings)", defaultText: "eap" },
    { name: "ig-steps", kind: "int", valueName: "N", min: 1, description: "EAP-IG's steps", defaultText: `${mibIgSteps} (MIB's)` },
    { name: "graph-out", kind: "string", valueName: "FILE", description: "With --edges: write the first method's edge scores as an EAP-IG/MIB graph file (nodes, edges with score and in_graph)" },
    { name: "graph-edges", kind: "int", valueName: "N", min: 0, description: "With --graph-out: mark the top N edges by score (pruned as MIB prunes) in_graph", defaultText: "none" },
    { name: "graph-in", kind: "string", valueName: "FILE", description: "Read an EAP-IG/MIB graph file for this model: rank edges by its scores and evaluate its in_graph circuit on the pair (implies --edges)" },
    { name: "top", kind: "int", valueName: "N", min: 1, description: "Components (and edges) listed per method, and k of the top-k overlap", defaultText: "10" },
    { name: "answer", kind: "string", valueName: "TOKEN", description: "The clean answer as text (exactly one token)", defaultText: "the argmax of the clean logits" },
    { name: "answer-id", kind: "int", valueName: "N", min: 0, description: "The clean answer as a token id" },
    { name: "wrong-answer", kind: "string", valueName: "TOKEN", description: "The corrupted answer as text (exactly one token)", defaultText: "the argmax of the corrupted logits" },
    { name: "wrong-answer-id", kind: "int", valueName: "N", min: 0, description: "The corrupted answer as a token id" },
    { name: "metric", kind: "string", valueName: "NAME", description: "logit-diff (logit[answer] - logit[wrong answer]) or logit (logit[answer] alone)", defaultText: "logit-diff" },
    { ...positionOption, description: "Position whose logits the metric reads; negative counts from the end" },
    { name: "batch-size", kind: "int", valueName: "N", min: 1, description: "Sequences per forward pass of the patched runs (results do not depend on it)", defaultText: "64" },
    jsonOption,
  ],
  notes: [
    "Scores follow the sign of exact patching: score(c) ≈ M(clean) - M(clean with c's activation from the corrupted run) = sum dM/da_c * (a_c(clean) - a_c(corrupted)), with the gradient taken plainly or with GIM's backward. Components: the embeddings, every head (its slice of attn.z) and every MLP (mlp.output).",
    "Agreement with exact patching (--exact) is over heads and MLPs: Spearman correlation and the overlap of the top-N by |score|. Circuits keep the top-k components and patch all others from the corrupted run; faithfulness f(k) = (M(circuit) - M(corrupted)) / (M(clean) - M(corrupted)). Reported: the area of f over k/N with the signed ranking (CPR-like, higher is better) and of |1 - f| with the |score| ranking (CMD-like, lower is better), and both on MIB's grid of circuit sizes.",
    "Edges (--edges) are MIB's: a score per sender (input, head, MLP) and receiver (each head's q, k and v input, each MLP input, the logits), sum (w_u(clean) - w_u(corrupted)) * dM/dx_v. Their circuits keep the top floor(p E) edges for p on MIB's grid, pruned, every other edge carrying its corrupted write; CPR and CMD are MIB's areas. Here scores and circuits use the same pair; gim eval scores and evaluates on disjoint sets.",
    "With --json, prints one JSON object with every score, agreement and faithfulness curve (NaN as null); with --edges it holds each method's graph in the EAP-IG/MIB layout under mib.graphs.",
  ],
  examples: [
    'components "When Mary and John went to the store, John gave a drink to" --corrupted "When Mary and John went to the store, Mary gave a drink to" --exact',
    'components "When Mary and John went to the store, John gave a drink to" --corrupted "When Mary and John went to the store, Mary gave a drink to" --answer " Mary" --wrong-answer " John" --edges --top 20',
    "components --model ./my-model --ids 5,17,3,9 --corrupted-ids 5,18,3,9 --method gim --exact --json",
    'components "When Mary and John went to the store, John gave a drink to" --corrupted "When Mary and John went to the store, Mary gave a drink to" --edges --edge-method eap-ig --method gim --graph-out gim-eap-ig.json --graph-edges 20',
    'components "When Mary and John went to the store, John gave a drink to" --corrupted "When Mary and John went to the store, Mary gave a drink to" --graph-in gim-eap-ig.json --exact',
  ],
};

/** Names `--method` takes here: the gradient methods of `explain` (not integrated gradients or occlusion). */
function componentMethods(args: ParsedArgs): GradientMethod[] {
  const names = args.strings("method").flatMap((v) => v.split(","));
  const chosen = names.length === 0 ? ["gim", "gradient"] : names;
  const methods: GradientMethod[] = [];
  for (const name of chosen) {
    if (name.trim() === "") throw new UsageError("option --method needs a method name, got an empty one");
    const m = parseMethod(name);
    if (m === "integratedGradients" || m === "occlusion") throw new UsageError(`--method ${methodFlagName(m)} is not a gradient method; gim components takes gim, gradient, freeze-norm, softmax-temperature, qkv-scale or gate-up-scale`);
    const label = methodFlagName(m);
    if (!methods.some((x) => x.name === label)) methods.push({ name: label, rules: methodRules(m, gimDefaults) });
  }
  return methods;
}

/** Checks that exactly one corrupted prompt is given (before the model is loaded). */
function checkCorrupted(args: ParsedArgs): void {
  const ids = args.ids("corrupted-ids");
  const text = args.string("corrupted");
  if (ids !== undefined && text !== undefined) throw new UsageError("give either --corrupted or --corrupted-ids, not both");
  if (ids === undefined && text === undefined) throw new UsageError('gim components needs a corrupted prompt: --corrupted "TEXT" or --corrupted-ids 5,18,3');
  if (text === "") throw new UsageError("option --corrupted needs text, got an empty string");
}

/** The corrupted prompt's ids: `--corrupted-ids`, or `--corrupted` encoded exactly as TEXT is. */
function corruptedIds(args: ParsedArgs, opened: OpenedModel): number[] {
  const ids = args.ids("corrupted-ids");
  if (ids !== undefined) {
    fromOption("--corrupted-ids", () => opened.model.checkIds(ids));
    return ids;
  }
  // The same input path as the clean TEXT (tokenizer, special tokens, checks), named as --corrupted.
  return encodeText(args.string("corrupted")!, args, opened, "--corrupted");
}

/** A one-token answer from `--NAME TOKEN` or `--NAME-id N`, or undefined. */
function answerId(args: ParsedArgs, opened: OpenedModel, name: "answer" | "wrong-answer"): number | undefined {
  const id = args.number(`${name}-id`);
  const text = args.string(name);
  if (id !== undefined && text !== undefined) throw new UsageError(`give either --${name} or --${name}-id, not both`);
  if (id !== undefined) return checkTokenId(`${name}-id`, id, opened.model);
  if (text === undefined) return undefined;
  if (text === "") throw new UsageError(`option --${name} needs a token, got an empty string`);
  const ids = requireTokenizer(opened, `to encode --${name}; pass --${name}-id instead`).encode(text);
  if (ids.length !== 1) throw new UsageError(`--${name} ${JSON.stringify(text)} encodes to ${ids.length} tokens (ids ${ids.join(", ")}); it must be exactly one token (mind the leading space, e.g. " Mary")`);
  return checkTokenId(name, ids[0]!, opened.model);
}

/** The argmax of one run's logits at `position`. */
function argmaxAt(opened: OpenedModel, ids: readonly number[], position: number): number {
  return noGrad(() => T.argmax(opened.model.forward({ ids }, { positions: [position] }).logits.value, 1).item()); // logits [1, V]
}

/** `gim components`. */
export const componentsCommand: Command = {
  spec: componentsSpec,
  async run(args, io: CliIO) {
    const methods = componentMethods(args);
    const metricName = args.string("metric") ?? "logit-diff";
    if (metricName !== "logit-diff" && metricName !== "logit") throw new UsageError(`unknown --metric "${metricName}" (known: logit-diff, logit)`);
    if (metricName === "logit" && (args.has("wrong-answer") || args.has("wrong-answer-id"))) throw new UsageError("--metric logit reads the answer's logit alone; drop --wrong-answer");
    checkInput(args);
    checkCorrupted(args);
    const edgeOptions = checkEdgeOptions(args);
    const opened = await openModel(modelArg(args, io), openOptions(args));
    const clean = inputIds(args, opened);
    const corrupted = corruptedIds(args, opened);
    if (clean.length !== corrupted.length) {
      throw new UsageError(`the clean prompt has ${clean.length} tokens but the corrupted one ${corrupted.length}: activations are compared position by position, so both need the same number of tokens`);
    }
    const position = positionOf(args, clean.length);
    const answer = answerId(args, opened, "answer") ?? argmaxAt(opened, clean, position);
    let metric: Metric;
    let wrong: number | undefined;
    if (metricName === "logit") {
      metric = targetLogit({ answer, position });
    } else {
      wrong = answerId(args, opened, "wrong-answer") ?? argmaxAt(opened, corrupted, position);
      if (wrong === answer) {
        throw new UsageError(`the answer and the wrong answer are the same token (id ${answer}${args.has("wrong-answer") || args.has("wrong-answer-id") ? "" : ": both runs predict it"}); pass --answer and --wrong-answer, or --metric logit`);
      }
      metric = logitDiff({ answer, wrong, position });
    }
    const top = args.number("top") ?? 10;
    const report = compareComponentMethods(opened.model, clean, corrupted, {
      metric,
      methods,
      exact: args.flag("exact"),
      top,
      batchSize: args.number("batch-size"),
    });
    const edges = edgeOptions.wanted ? compareEdges(opened, clean, corrupted, metric, methods, edgeOptions, args, io, top) : undefined;
    const context = { opened, clean, corrupted, position, answer, wrong, top };
    if (args.flag("json")) io.stdout.write(JSON.stringify(reportJson(report, context, edges), (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) + "\n");
    else io.stdout.write(renderReport(report, context) + (edges ? renderEdges(edges, top) : ""));
  },
};

interface ReportContext {
  readonly opened: OpenedModel;
  readonly clean: readonly number[];
  readonly corrupted: readonly number[];
  readonly position: number;
  readonly answer: number;
  readonly wrong: number | undefined;
  readonly top: number;
}

/** The object `--json` prints. */
export function reportJson(report: ComponentReport, c: ReportContext, edges?: EdgeResult): Record<string, unknown> {
  const tokens = (ids: readonly number[]) => ids.map((id) => (c.opened.tokenizer ? c.opened.tokenizer.decodeToken(id) : null));
  const curve = (f: FaithfulnessCurve | undefined) =>
    f && { ks: f.ks, faithfulness: f.faithfulness, metrics: f.metrics, defined: f.defined, area: f.area, areaFromOne: f.areaFromOne, mib: { ks: f.mib.ks, faithfulness: f.mib.faithfulness, cpr: f.mib.area, cmd: f.mib.areaFromOne } };
  const source = (s: ScoredSource) => ({
    scores: s.scores,
    ...(s.agreement ? { agreement: s.agreement } : {}),
    ...(s.circuits ? { circuits: { signed: curve(s.circuits.signed), absolute: curve(s.circuits.absolute) } } : {}),
  });
  return {
    clean: { ids: [...c.clean], tokens: tokens(c.clean) },
    corrupted: { ids: [...c.corrupted], tokens: tokens(c.corrupted) },
    position: c.position,
    answer: c.answer,
    ...(c.wrong !== undefined ? { wrongAnswer: c.wrong } : {}),
    metric: { description: report.metric, clean: report.metricClean, corrupted: report.metricCorrupted },
    components: report.components.map((x) => x.name),
    methods: Object.fromEntries(report.methods.map((m) => [m.name, source(m)])),
    ...(report.exact ? { exact: source(report.exact) } : {}),
    ...(edges ? { mib: edgesJson(edges) } : {}),
  };
}

/** What `--edges` / `--graph-in` computed, and the graph files of each method. */
export interface EdgeResult {
  readonly comparison: EdgeComparison;
  /** Per method, its graph file object (EAP-IG/MIB layout). */
  readonly graphs: Readonly<Record<string, Record<string, unknown>>>;
  /** The graph file read with --graph-in, and where it was read from. */
  readonly file?: { readonly path: string; readonly graph: GraphFile };
  /** Where --graph-out wrote, if it did. */
  readonly written?: string;
}

interface EdgeOptions {
  readonly wanted: boolean;
  readonly method: "eap" | "eap-ig-inputs";
  readonly steps: number;
  readonly graphOut?: string;
  readonly graphEdges?: number;
  readonly graphIn?: string;
}

/** Checks the edge options before the model is loaded. */
function checkEdgeOptions(args: ParsedArgs): EdgeOptions {
  const name = args.string("edge-method") ?? "eap";
  if (name !== "eap" && name !== "eap-ig") throw new UsageError(`unknown --edge-method "${name}" (known: eap, eap-ig)`);
  const graphOut = args.string("graph-out");
  const graphIn = args.string("graph-in");
  const graphEdges = args.number("graph-edges");
  for (const [flag, value] of [["graph-out", graphOut], ["graph-in", graphIn]] as const) if (value !== undefined && value.trim() === "") throw new UsageError(`option --${flag} needs a file name, got an empty string`);
  const wanted = args.flag("edges") || graphIn !== undefined;
  if (!wanted) {
    for (const flag of ["edge-method", "ig-steps", "graph-out", "graph-edges"]) if (args.has(flag)) throw new UsageError(`--${flag} applies to edges: add --edges`);
  }
  if (graphEdges !== undefined && graphOut === undefined) throw new UsageError("--graph-edges marks the circuit of the file --graph-out writes: give --graph-out FILE");
  if (args.has("ig-steps") && name !== "eap-ig") throw new UsageError("--ig-steps applies to --edge-method eap-ig");
  return {
    wanted,
    method: name === "eap" ? "eap" : "eap-ig-inputs",
    steps: args.number("ig-steps") ?? mibIgSteps,
    ...(graphOut !== undefined ? { graphOut } : {}),
    ...(graphEdges !== undefined ? { graphEdges } : {}),
    ...(graphIn !== undefined ? { graphIn } : {}),
  };
}

/** Scores MIB's graph (and a --graph-in file), writes --graph-out. */
function compareEdges(opened: OpenedModel, clean: readonly number[], corrupted: readonly number[], metric: Metric, methods: readonly GradientMethod[], o: EdgeOptions, args: ParsedArgs, io: CliIO, top: number): EdgeResult {
  let file: EdgeResult["file"];
  if (o.graphIn !== undefined) {
    const path = nodePath.resolve(io.cwd, o.graphIn);
    let text: string;
    try {
      text = fs.readFileSync(path, "utf8");
    } catch (e) {
      throw new RuntimeError(`cannot read --graph-in ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    file = { path, graph: readGraph(opened.model, text, path) };
  }
  const comparison = compareEdgeMethods(opened.model, clean, corrupted, {
    metric,
    methods: args.flag("edges") ? methods : [],
    method: o.method,
    steps: o.steps,
    exact: args.flag("exact"),
    top,
    batchSize: args.number("batch-size"),
    ...(file ? { file: { name: nodePath.basename(file.path), graph: file.graph } } : {}),
  });
  const about = (name: string) => ({ model: opened.dir, method: `${o.method === "eap" ? "eap" : "eap-ig"}${o.method === "eap" ? "" : ` (${o.steps} steps)`}`, rules: name, metric: metric.description, clean: [...clean], corrupted: [...corrupted] });
  const graphs: Record<string, Record<string, unknown>> = {};
  const scored = comparison.sources.filter((s) => methods.some((m) => m.name === s.name) && args.flag("edges"));
  for (const s of scored) graphs[s.name] = writeGraph(opened.model, s.scores, { metadata: about(s.name) });
  let written: string | undefined;
  if (o.graphOut !== undefined) {
    const first = scored[0];
    if (!first) throw new UsageError("--graph-out writes a method's edge scores: give --edges and at least one --method");
    const circuit = o.graphEdges !== undefined ? topEdgeCircuit(comparison.graph, first.scores, Math.min(o.graphEdges, comparison.graph.edges.length), "signed") : undefined;
    const json = writeGraph(opened.model, first.scores, { metadata: about(first.name), ...(circuit ? { circuit } : {}) });
    written = nodePath.resolve(io.cwd, o.graphOut);
    try {
      fs.writeFileSync(written, JSON.stringify(json, null, 1) + "\n");
    } catch (e) {
      throw new RuntimeError(`cannot write --graph-out ${written}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    io.stderr.write(`gim: wrote ${written} (${first.name}, ${comparison.graph.edges.length} edges${circuit ? `, ${circuit.edgeCount} in_graph` : ""})\n`);
  }
  return { comparison, graphs, ...(file ? { file } : {}), ...(written ? { written } : {}) };
}

/** The `mib` object of `--json`. */
function edgesJson(e: EdgeResult): Record<string, unknown> {
  const c = e.comparison;
  const curve = (s: CurveSummary) => ({ faithfulness: s.faithfulness, cpr: s.areaUnder, cmd: s.areaFromOne, defined: s.defined });
  return {
    edges: c.graph.edges.map((x) => x.name),
    method: c.method,
    ...(c.method === "eap" ? {} : { steps: c.steps }),
    sources: Object.fromEntries(
      c.sources.map((s) => [s.name, { scores: s.scores, ...(s.agreement ? { agreement: s.agreement } : {}), sizes: s.sizes, edgeCounts: s.edgeCounts, signed: curve(s.signed), absolute: curve(s.absolute) }]),
    ),
    graphs: e.graphs,
    ...(e.file ? { graphIn: { file: e.file.path, circuit: c.fileCircuit } } : {}),
  };
}

/** The edge tables of the text report. */
function renderEdges(e: EdgeResult, top: number): string {
  const c = e.comparison;
  const names = c.graph.edges.map((x) => x.name);
  const exact = c.sources.find((s) => s.name === "exact");
  const exactRank = exact ? rankOf(exact.scores) : undefined;
  const lines = [`MIB graph: ${names.length} edges (${c.graph.layers} layers of ${c.graph.heads} heads; receivers per head q, k, v); scored by ${c.method === "eap" ? "EAP" : `EAP-IG, ${c.steps} steps`}`];
  for (const s of c.sources) {
    if (s.name === "exact") continue;
    lines.push(`${s.name}: top ${Math.min(top, names.length)} edges by |score|`);
    lines.push(topTable(names, s.scores, top, exact?.scores, exactRank, "edge"));
  }
  if (exact) {
    lines.push(`exact edge patching: top ${Math.min(top, names.length)} edges by |score|`);
    lines.push(topTable(names, exact.scores, top, undefined, undefined, "edge"));
    lines.push("edge agreement with exact edge patching");
    lines.push(agreementTable(c.sources.filter((s) => s !== exact).map((s) => [s.name, s.agreement])));
  }
  const first = c.sources[0];
  const undefinedNote = first && !first.signed.defined ? "faithfulness is undefined: the clean and corrupted metrics are equal\n" : "";
  lines.push("edge circuits at MIB's sizes (same pair): CPR = area under f, signed ranking; CMD = area of |1 - f|, |score| ranking");
  lines.push(
    undefinedNote +
      renderTable(
        [
          { header: "ranking from", align: "left" },
          { header: "MIB CPR ↑", align: "right" },
          { header: "MIB CMD ↓", align: "right" },
          { header: `f at ${first?.sizes[6] ?? "-"} edges (p = 0.1)`, align: "right" },
        ],
        c.sources.map((s) => [s.name, formatNumber(s.signed.areaUnder), formatNumber(s.absolute.areaFromOne), formatNumber(s.signed.faithfulness[6] ?? Number.NaN)]),
      ),
  );
  if (c.fileCircuit && e.file) {
    const f = c.fileCircuit;
    lines.push(`graph file ${e.file.path}: ${f.edges} edges in_graph after pruning; f = ${formatNumber(f.faithfulness)} (M = ${formatNumber(f.metric)}; corrupted ${formatNumber(f.metricEmpty)}, clean ${formatNumber(f.metricFull)})`);
  }
  lines.push("");
  return lines.join("\n");
}

function renderReport(report: ComponentReport, c: ReportContext): string {
  const { opened } = c;
  const shown = (id: number) => JSON.stringify(tokenText(opened, id));
  const differ = c.clean.flatMap((id, t) => (id !== c.corrupted[t] ? [t] : []));
  const heads = report.components.filter((x) => x.kind === "head").length;
  const mlps = report.components.filter((x) => x.kind === "mlp").length;
  const lines = [
    `model       ${opened.dir} (${describeModel(opened)})`,
    `prompts     ${c.clean.length} tokens; corrupted differs at position${differ.length === 1 ? "" : "s"} ${differ.length > 0 ? differ.join(", ") : "none (identical prompts)"}`,
    `metric      ${c.wrong !== undefined ? `logit[${shown(c.answer)}] - logit[${shown(c.wrong)}]` : `logit[${shown(c.answer)}]`} at position ${c.position}: clean ${formatNumber(report.metricClean)}, corrupted ${formatNumber(report.metricCorrupted)}`,
    `components  ${report.components.length}: embeddings, ${heads} heads, ${mlps} MLPs`,
    "scores      ≈ M(clean) - M(patched from corrupted)",
    "",
  ];
  const exact = report.exact;
  const names = report.components.map((x) => x.name);
  const exactRank = exact ? rankOf(exact.scores) : undefined;
  for (const m of report.methods) {
    lines.push(`${m.name}: top ${Math.min(c.top, names.length)} components by |score|`);
    lines.push(topTable(names, m.scores, c.top, exact?.scores, exactRank));
  }
  if (exact) {
    lines.push(`exact patching: top ${Math.min(c.top, names.length)} components by |score|`);
    lines.push(topTable(names, exact.scores, c.top));
    lines.push("agreement with exact patching (heads and MLPs)");
    lines.push(agreementTable(report.methods.map((m) => [m.name, m.agreement])));
  }
  lines.push("circuit faithfulness (components; 1 = clean, 0 = corrupted)");
  lines.push(circuitTable([...report.methods, ...(exact ? [exact] : [])].map((s) => [s.name, s.circuits])));
  return lines.join("\n");
}

/** Rank (1 = largest |score|) of each item. */
function rankOf(scores: readonly number[]): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => Math.abs(scores[b]!) - Math.abs(scores[a]!) || a - b);
  const ranks = new Array<number>(scores.length);
  order.forEach((i, r) => (ranks[i] = r + 1));
  return ranks;
}

function topTable(names: readonly string[], scores: readonly number[], top: number, exact?: readonly number[], exactRank?: readonly number[], what = "component"): string {
  const order = rankOf(scores)
    .map((r, i) => [r, i] as const)
    .sort((a, b) => a[0] - b[0])
    .slice(0, top)
    .map(([, i]) => i);
  const columns: Column[] = [
    { header: "#", align: "right" },
    { header: what, align: "left" },
    { header: "score", align: "right" },
    ...(exact ? ([{ header: "exact", align: "right" }, { header: "exact #", align: "right" }] as const) : []),
  ];
  const rows = order.map((i, r) => [String(r + 1), names[i]!, formatNumber(scores[i]!), ...(exact ? [formatNumber(exact[i]!), String(exactRank![i])] : [])]);
  return renderTable(columns, rows);
}

function agreementTable(rows: readonly (readonly [string, Agreement | undefined])[]): string {
  const columns: Column[] = [
    { header: "method", align: "left" },
    { header: "spearman", align: "right" },
    { header: "top-k overlap", align: "right" },
    { header: "k", align: "right" },
    { header: "n", align: "right" },
  ];
  return renderTable(
    columns,
    rows.map(([name, a]) => [name, a ? formatNumber(a.spearman) : "-", a ? formatNumber(a.topKOverlap) : "-", a ? String(a.k) : "-", a ? String(a.count) : "-"]),
  );
}

function circuitTable(rows: readonly (readonly [string, { signed: FaithfulnessCurve; absolute: FaithfulnessCurve } | undefined])[]): string {
  const columns: Column[] = [
    { header: "ranking from", align: "left" },
    { header: "area f (signed)", align: "right" },
    { header: "MIB CPR", align: "right" },
    { header: "area |1-f| (|score|)", align: "right" },
    { header: "MIB CMD", align: "right" },
    { header: "k for f≥0.9", align: "right" },
  ];
  const smallest = (f: FaithfulnessCurve) => {
    const i = f.faithfulness.findIndex((x) => x >= 0.9);
    return i < 0 ? "-" : `${f.ks[i]}/${f.total}`;
  };
  const first = rows.find(([, c]) => c)?.[1];
  const note = first && !first.signed.defined ? "faithfulness is undefined: the clean and corrupted metrics are equal\n" : "";
  return (
    note +
    renderTable(
      columns,
      rows.map(([name, c]) =>
        c ? [name, formatNumber(c.signed.area), formatNumber(c.signed.mib.area), formatNumber(c.absolute.areaFromOne), formatNumber(c.absolute.mib.areaFromOne), smallest(c.signed)] : [name, "-", "-", "-", "-", "-"],
      ),
    )
  );
}
