/**
 * Opening the model folder a command works on (weights and, when present, the tokenizer),
 * and turning the command line's input (text or ids) into checked token ids.
 */
import * as nodePath from "node:path";
import { defaultModel, shippedModels } from "@gim/models";
import { modelDir as shippedModelDir } from "@gim/models/node";
import { InputError, quote } from "@gim/tensor";
import { hasTokenizerFiles as folderHasTokenizerFiles, resolvePosition, type CausalLM, type Tokenizer } from "@gim/transformer";
import { folderProblem, hubSnapshotDir, isHubId, loadModel, loadTokenizer, nodeFolder } from "@gim/transformer/node";
import { UsageError, type ParsedArgs } from "./args.js";
import type { CliIO } from "./io.js";

/**
 * The model folder `gim` uses when no `--model` is given (absolute): the IOI model that
 * `@gim/models` ships (trained here; it predicts " Mary" for the README's prompt).
 */
export const DEFAULT_MODEL_DIR: string = shippedModelDir(defaultModel);

/** A loaded model folder. */
export interface OpenedModel {
  /** The folder, as resolved. */
  readonly dir: string;
  /** The shipped model's name, the hub id, or the folder's base name (`--json` reports it). */
  readonly name: string;
  readonly model: CausalLM;
  /** The folder's tokenizer, or undefined when it has no tokenizer files. */
  readonly tokenizer: Tokenizer | undefined;
}

/** A failure while running (a folder that cannot be read, ...): the command exits 1. */
export class RuntimeError extends Error {
  override name = "RuntimeError";
}

/** How the command line asks to open its model (`--allow-unused-tensors`). */
export function openOptions(args: ParsedArgs): OpenOptions {
  return { allowUnusedTensors: args.flag("allow-unused-tensors") };
}

/** Where a `--model` value led: the folder, and a short name for reports. */
export interface ResolvedModel {
  readonly dir: string;
  /** The shipped model's name, the hub id, or the folder's base name. */
  readonly name: string;
}

/**
 * The model a `--model` value names, tried in this order: a folder (resolved against `cwd`),
 * a model shipped with `@gim/models` (`ioi-gpt2`), a Hugging Face hub id already in the local
 * cache (`gpt2`, `org/name@revision`; nothing is downloaded). When none fits, one line says
 * what was tried (a runtime error, exit 1, as for a folder that does not exist).
 */
export function resolveModel(spec: string, cwd: string, env: Readonly<Record<string, string | undefined>>): ResolvedModel {
  if (spec.trim() === "") throw new UsageError("option --model needs a model folder, a shipped model name or a Hugging Face id, got an empty string");
  const path = nodePath.resolve(cwd, spec);
  const problem = folderProblem(path);
  if (problem === undefined) return { dir: path, name: nodePath.basename(path) };
  // Something at the path that is not a folder (a file, a broken link) is what was asked for, and wrong.
  if (problem !== "does not exist") throw folderError(path, problem);
  if ((shippedModels as readonly string[]).includes(spec)) return { dir: shippedModelDir(spec), name: spec };
  if (!isHubId(spec)) throw new RuntimeError(`model folder ${path} does not exist`);
  try {
    return { dir: hubSnapshotDir(spec, env), name: spec };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    throw new RuntimeError(`--model ${spec}: no folder ${path}, no shipped model of that name (${shippedModels.join(", ")}), and ${error.message}`);
  }
}

/** The model of `--model` (see {@link resolveModel}), or the shipped default ({@link DEFAULT_MODEL_DIR}). */
export function modelArg(args: ParsedArgs, io: Pick<CliIO, "cwd" | "env">): ResolvedModel {
  const given = args.string("model");
  return given === undefined ? { dir: DEFAULT_MODEL_DIR, name: defaultModel } : resolveModel(given, io.cwd, io.env);
}

/** What is wrong with `dir` as a model folder (see `folderProblem`), as the error a command exits 1 with. */
function folderError(dir: string, problem: string): RuntimeError {
  return new RuntimeError(problem.endsWith("not a folder") ? `${dir} ${problem} (--model takes a Hugging Face model folder)` : `model folder ${dir} ${problem}`);
}

/** Options of {@link openModel}. */
export interface OpenOptions {
  /** Ignore tensors the config does not use (`--allow-unused-tensors`) instead of refusing the checkpoint. */
  readonly allowUnusedTensors?: boolean;
}

/** Loads the weights and (when present) the tokenizer of a model folder. */
export async function openModel({ dir, name }: ResolvedModel, options: OpenOptions = {}): Promise<OpenedModel> {
  const problem = folderProblem(dir);
  if (problem !== undefined) throw folderError(dir, problem);
  const model = loadModel(dir, { allowUnusedTensors: options.allowUnusedTensors ?? false });
  const tokenizer = await openTokenizer(dir);
  return { dir, name, model, tokenizer };
}

/**
 * Whether a folder has tokenizer files (tokenizer.json, or vocab.json + merges.txt); a broken
 * link in their place counts, so loading it says what is wrong with it.
 */
export function hasTokenizerFiles(dir: string): boolean {
  return folderHasTokenizerFiles(nodeFolder(dir));
}

/** The tokenizer of a model folder, or undefined when it has none. */
export async function openTokenizer(dir: string): Promise<Tokenizer | undefined> {
  return hasTokenizerFiles(dir) ? loadTokenizer(dir) : undefined;
}

/**
 * The input of the command line, checked without the model: exactly one of TEXT and `--ids`,
 * and not empty text. Commands call it before loading a model, so these mistakes are
 * reported first.
 */
export function checkInput(args: ParsedArgs): { ids: number[]; text?: undefined } | { ids?: undefined; text: string } {
  const ids = args.ids("ids");
  const text = args.positionals[0];
  if (ids !== undefined && text !== undefined) throw new UsageError("give either TEXT or --ids, not both");
  if (ids !== undefined) return { ids };
  if (text === undefined) throw new UsageError(`gim ${args.spec.name} needs TEXT or --ids (see gim ${args.spec.name} --help)`);
  if (text === "") throw new UsageError("the text is empty");
  return { text };
}

/**
 * The token ids to run: `--ids`, or the one TEXT argument encoded with the tokenizer (with
 * the special tokens its post-processor adds, such as Llama's BOS, unless
 * `--no-special-tokens`). The model checks them (vocabulary, length); its error names the
 * option or the text they came from.
 */
export function inputIds(args: ParsedArgs, opened: OpenedModel): number[] {
  const { ids, text } = checkInput(args);
  if (ids !== undefined) {
    fromOption("--ids", () => opened.model.checkIds(ids));
    return ids;
  }
  return encodeText(text, args, opened);
}

/**
 * Text from the command line encoded as the TEXT argument is (the tokenizer's special tokens
 * unless `--no-special-tokens`) and checked by the model; errors name `option` (`--corrupted`),
 * or "the text" for TEXT itself.
 */
export function encodeText(text: string, args: ParsedArgs, opened: OpenedModel, option?: string): number[] {
  const purpose = option === undefined ? "to encode text; pass --ids instead" : `to encode ${option}; pass ${option}-ids instead`;
  // As Hugging Face's tokenizer(text): the model's special tokens (Llama's BOS) are added.
  const encoded = requireTokenizer(opened, purpose).encode(text, { addSpecialTokens: !args.flag("no-special-tokens") });
  if (encoded.length === 0) throw new UsageError(`${option ?? "the text"} ${quote(text)} encodes to no tokens`);
  fromOption(option ?? "the text", () => opened.model.checkIds(encoded));
  return encoded;
}

/**
 * Runs a library check on a value the command line gave; its {@link InputError} becomes a
 * usage error prefixed with where the value came from (`--position: position 8 is out of ...`).
 */
export function fromOption<R>(source: string, check: () => R): R {
  try {
    return check();
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(`${source}: ${error.message}`);
    throw error;
  }
}

/** The tokenizer, or a usage error saying what it was needed for. */
export function requireTokenizer(opened: OpenedModel, purpose: string): Tokenizer {
  if (!opened.tokenizer) throw new UsageError(`${opened.dir} has no tokenizer (tokenizer.json, or vocab.json + merges.txt) ${purpose}`);
  return opened.tokenizer;
}

/**
 * The id of a token given as text (`--target " Paris"`, a batch line's "foil"): it must encode
 * to exactly one token; errors name `source`, and `purpose` says why a tokenizer is needed.
 */
export function singleTokenId(opened: OpenedModel, text: string, source: string, purpose: string): number {
  const ids = requireTokenizer(opened, purpose).encode(text);
  if (ids.length !== 1) {
    throw new UsageError(`${source} ${JSON.stringify(text)} encodes to ${ids.length} tokens (ids ${ids.join(", ")}); it must be exactly one token (mind the leading space, e.g. " Paris")`);
  }
  return fromOption(source, () => opened.model.checkTokenId(ids[0]!));
}

/** `--position` (default -1, the last) resolved against a sequence length. */
export function positionOf(args: ParsedArgs, length: number): number {
  return fromOption("--position", () => resolvePosition(args.number("position") ?? -1, length));
}

/** A token id option (`--target-id`, `--baseline-id`) checked against the vocabulary. */
export function checkTokenId(option: string, id: number, model: CausalLM): number {
  return fromOption(`--${option}`, () => model.checkTokenId(id));
}

/** How a token reads, for people: the tokenizer's text of it, or `<id>` without a tokenizer. */
export function tokenText(opened: OpenedModel, id: number): string {
  return opened.tokenizer ? opened.tokenizer.decodeToken(id) : `<${id}>`;
}
