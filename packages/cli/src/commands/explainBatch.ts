/**
 * `gim explain --batch FILE`: many predictions from a JSON Lines file, one JSON line out per
 * prediction and method. Each input line is an object:
 *
 *     {"text": "When Mary and John went to the store, John gave a drink to", "target": " Mary", "foil": " John"}
 *     {"ids": [5, 17, 3], "target": 42, "position": -1, "baseline": 0}
 *
 * `text` or `ids` (one of them); `target` and `foil` as text (one token) or as an id;
 * `position` and `baseline` as numbers. Blank lines are skipped; anything else is an error
 * naming the file and line.
 */
import { BatchItemError, explainBatch, type ExplainItem, type Explanation, type MethodName } from "@gim/rules";
import { ProgressLine } from "@gim/report";
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { UsageError, type ParsedArgs } from "../args.js";
import type { CliIO } from "../io.js";
import { encodeText, fromOption, singleTokenId, type OpenedModel } from "../model.js";

/** Largest batch file read (bytes): far more prompts than an hour of explaining. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;
/** Most predictions in one batch file. */
export const MAX_BATCH_ITEMS = 100_000;

const KEYS = new Set(["text", "ids", "target", "foil", "position", "baseline"]);

/** One parsed input line: the item and the line it came from. */
export interface BatchLine {
  readonly line: number;
  /** `file:line`, for messages. */
  readonly at: string;
  readonly item: ExplainItem;
}

/** Reads and checks a batch file (resolved against the working folder): every line before any work. */
export function readBatch(file: string, args: ParsedArgs, opened: OpenedModel, io: CliIO): BatchLine[] {
  if (file.trim() === "") throw new UsageError("option --batch needs a file name, got an empty string");
  const path = nodePath.resolve(io.cwd, file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (e) {
    throw new UsageError(`--batch ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  if (!stat.isFile()) throw new UsageError(`--batch ${path} is not a regular file`);
  if (stat.size > MAX_BATCH_BYTES) throw new UsageError(`--batch ${path} is ${stat.size} bytes, more than the ${MAX_BATCH_BYTES} a batch may have`);
  const lines = fs.readFileSync(path, "utf8").split("\n");
  const batch: BatchLine[] = [];
  for (const [index, raw] of lines.entries()) {
    if (raw.trim() === "") continue;
    const at = `${path}:${index + 1}`;
    if (batch.length === MAX_BATCH_ITEMS) throw new UsageError(`${at}: more than ${MAX_BATCH_ITEMS} predictions in one batch; split the file`);
    batch.push({ line: index + 1, at, item: parseLine(raw, at, args, opened) });
  }
  if (batch.length === 0) throw new UsageError(`--batch ${path} holds no predictions (one JSON object per line)`);
  return batch;
}

function parseLine(raw: string, at: string, args: ParsedArgs, opened: OpenedModel): ExplainItem {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${at}: not JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${at}: expected a JSON object such as {"text": "..."}`);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.has(key)) throw new UsageError(`${at}: unknown key "${key}" (known: ${[...KEYS].join(", ")})`);
  }
  if ((o["text"] === undefined) === (o["ids"] === undefined)) throw new UsageError(`${at}: give exactly one of "text" and "ids"`);
  let ids: number[];
  if (o["text"] !== undefined) {
    if (typeof o["text"] !== "string" || o["text"] === "") throw new UsageError(`${at}: "text" must be a non-empty string`);
    ids = encodeText(o["text"], args, opened, `${at} "text"`);
  } else {
    const given = o["ids"];
    if (!Array.isArray(given) || given.length === 0 || !given.every((id) => typeof id === "number")) {
      throw new UsageError(`${at}: "ids" must be a non-empty array of token ids`);
    }
    ids = given as number[];
    fromOption(`${at} "ids"`, () => opened.model.checkIds(ids));
  }
  const item: { -readonly [K in keyof ExplainItem]: ExplainItem[K] } = { ids };
  const target = tokenField(o, "target", at, opened);
  if (target !== undefined) item.target = target;
  const foil = tokenField(o, "foil", at, opened);
  if (foil !== undefined) item.foil = foil;
  for (const key of ["position", "baseline"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v)) throw new UsageError(`${at}: "${key}" must be an integer`);
    item[key] = key === "baseline" ? fromOption(`${at} "baseline"`, () => opened.model.checkTokenId(v)) : v;
  }
  return item;
}

/** A `target` or `foil` field: a token id, or text that encodes to exactly one token. */
function tokenField(o: Record<string, unknown>, key: "target" | "foil", at: string, opened: OpenedModel): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v === "number") return fromOption(`${at} "${key}"`, () => opened.model.checkTokenId(v));
  if (typeof v !== "string" || v === "") throw new UsageError(`${at}: "${key}" must be a token id or a non-empty text`);
  return singleTokenId(opened, v, `${at}: "${key}"`, `to encode "${key}" at ${at}; give a token id instead`);
}

/**
 * Explains every line of a batch and writes one JSON line per prediction and method, in the
 * input's order, each with its input `line`; progress goes to stderr on a terminal.
 */
export function runBatch(
  opened: OpenedModel,
  batch: readonly BatchLine[],
  methods: readonly MethodName[],
  options: Parameters<typeof explainBatch>[3],
  json: (e: Explanation, method: MethodName) => Record<string, unknown>,
  io: CliIO,
): void {
  const progress = io.stderr.isTTY ? new ProgressLine("gim explain", io.stderr) : undefined;
  let results: Explanation[][];
  try {
    results = explainBatch(opened.model, batch.map((b) => b.item), methods, {
      ...options,
      onItemDone: (done, total) => progress?.show(done / total, `${done}/${total} predictions`, false),
    });
  } catch (e) {
    if (e instanceof BatchItemError) throw new UsageError(`${batch[e.item]!.at}: ${e.problem.message}`);
    throw e;
  }
  progress?.finish(`${batch.length} predictions explained`);
  for (const [i, explanations] of results.entries()) {
    for (const [m, e] of explanations.entries()) io.stdout.write(JSON.stringify({ line: batch[i]!.line, ...json(e, methods[m]!) }) + "\n");
  }
}
