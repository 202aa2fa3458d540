/**
 * `gim components`: attention heads and MLPs (and, with `--edges`, the edges between them)
 * scored by attribution patching with GIM and with the plain gradient for a clean/corrupted
 * prompt pair; with `--exact`, compared against exact activation patching; and the
 * faithfulness of the circuits each ranking builds (after MIB's circuit localization track).
 */
import { noGrad } from "@gim/autograd";
import {
  compareComponentMethods, gimDefaults, logitDiff, methodRules, targetLogit,
  type GradientMethod, type ComponentReport, type FaithfulnessCurve, type Metric, type ScoredSource, type Agreement,
} from "@gim/rules";
import * as T from "@gim/tensor";
import { UsageError, type CommandSpec, type ParsedArgs } from "../args.js";
import type { CliIO, Command } from "../io.js";
import { checkInput, checkTokenId, encodeText, fromOption, inputIds, modelArg, openModel, openOptions, requireTokenizer, positionOf, tokenText, type OpenedModel } from "../model.js";
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
    { name: "edges", kind: "flag", description: "Also score edges (component -> attention input, MLP input or logits)" },
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
    "With --json, prints one JSON object with every score, agreement and faithfulness curve (NaN as null).",
  ],
  examples: [
    'components "When Mary and John went to the store, John gave a drink to" --corrupted "When Mary and John went to the store, Mary gave a drink to" --exact',
    'components "When Mary and John went to the store, John gave a drink to" --corrupted "When Mary and John went to the store, Mary gave a drink to" --answer " Mary" --wrong-answer " John" --edges --top 20',
    "components --model ./my-model --ids 5,17,3,9 --corrupted-ids 5,18,3,9 --method gim --exact --json",
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
      edges: args.flag("edges"),
      top,
      batchSize: args.number("batch-size"),
    });
    const context = { opened, clean, corrupted, position, answer, wrong, top };
    if (args.flag("json")) io.stdout.write(JSON.stringify(reportJson(report, context), (_, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) + "\n");
    else io.stdout.write(renderReport(report, context));
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
export function reportJson(report: ComponentReport, c: ReportContext): Record<string, unknown> {
  const tokens = (ids: readonly number[]) => ids.map((id) => (c.opened.tokenizer ? c.opened.tokenizer.decodeToken(id) : null));
  const curve = (f: FaithfulnessCurve | undefined) =>
    f && { ks: f.ks, faithfulness: f.faithfulness, metrics: f.metrics, defined: f.defined, area: f.area, areaFromOne: f.areaFromOne, mib: { ks: f.mib.ks, faithfulness: f.mib.faithfulness, cpr: f.mib.area, cmd: f.mib.areaFromOne } };
  const source = (s: ScoredSource) => ({
    scores: s.scores,
    ...(s.agreement ? { agreement: s.agreement } : {}),
    ...(s.circuits ? { circuits: { signed: curve(s.circuits.signed), absolute: curve(s.circuits.absolute) } } : {}),
    ...(s.edgeScores ? { edgeScores: s.edgeScores } : {}),
    ...(s.edgeAgreement ? { edgeAgreement: s.edgeAgreement } : {}),
    ...(s.edgeCircuits ? { edgeCircuits: { signed: curve(s.edgeCircuits.signed), absolute: curve(s.edgeCircuits.absolute) } } : {}),
  });
  return {
    clean: { ids: [...c.clean], tokens: tokens(c.clean) },
    corrupted: { ids: [...c.corrupted], tokens: tokens(c.corrupted) },
    position: c.position,
    answer: c.answer,
    ...(c.wrong !== undefined ? { wrongAnswer: c.wrong } : {}),
    metric: { description: report.metric, clean: report.metricClean, corrupted: report.metricCorrupted },
    components: report.components.map((x) => x.name),
    ...(report.edges ? { edges: report.edges.map((e) => e.name) } : {}),
    methods: Object.fromEntries(report.methods.map((m) => [m.name, source(m)])),
    ...(report.exact ? { exact: source(report.exact) } : {}),
  };
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
    `components  ${report.components.length}: embeddings, ${heads} heads, ${mlps} MLPs${report.edges ? `; ${report.edges.length} edges` : ""}`,
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
  if (report.edges) {
    const edgeNames = report.edges.map((e) => e.name);
    const exactEdgeRank = exact?.edgeScores ? rankOf(exact.edgeScores) : undefined;
    for (const m of report.methods) {
      lines.push(`${m.name}: top ${Math.min(c.top, edgeNames.length)} edges by |score|`);
      lines.push(topTable(edgeNames, m.edgeScores!, c.top, exact?.edgeScores, exactEdgeRank, "edge"));
    }
    if (exact?.edgeScores) {
      lines.push("edge agreement with exact edge patching");
      lines.push(agreementTable(report.methods.map((m) => [m.name, m.edgeAgreement])));
    }
    lines.push("edge circuit faithfulness");
    lines.push(circuitTable([...report.methods, ...(exact ? [exact] : [])].map((s) => [s.name, s.edgeCircuits])));
  }
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
