/**
 * An indirect-object identification task in the style of IOI (Wang et al., 2022):
 *
 *   "When Mary and John went to the store, John gave a drink to"  ->  " Mary"
 *
 * Two names are introduced (the indirect object IO and the subject S); S is mentioned again
 * (S2); the next token is IO. The mechanism a model needs is known: find the names in the
 * context, notice which one is repeated, and copy the other one. The evidence tokens are the
 * IO mention (and the S mentions that rule S out).
 *
 * Everything is generated from seeded code: the word lists, the templates, the split of names
 * and name pairs into training and held-out parts, and the examples themselves.
 */
import { Rng, InputError } from "@gim/tensor";

/**
 * The names. Every one is a single token (with its leading space) in the shipped tokenizers.
 * The last {@link IOI_HELD_OUT_NAME_COUNT} are held out: they never appear in an IOI training
 * prompt (only in plain sentences, see {@link nameSentences}).
 */
export const IOI_NAMES: readonly string[] = [
  "Mary", "John", "Alice", "Bob", "Sarah", "David", "Emma", "James", "Laura", "Michael",
  "Anna", "Peter", "Lucy", "Thomas", "Kate", "Daniel", "Julia", "Paul", "Helen", "Mark",
  "Susan", "Robert", "Linda", "Steven", "Nancy", "Kevin", "Lisa", "Brian", "Karen", "Jason",
  "Rachel", "George", "Emily", "Frank", "Grace", "Henry", "Sophie", "Jack", "Claire", "Oscar",
  "Nora", "Adam", "Ruth", "Simon", "Diana", "Victor", "Irene", "Carl",
  // held out
  "Fiona", "Leo", "Megan", "Hugo", "Olivia", "Ethan", "Zoe", "Ivan", "Paula", "Dean", "Tina", "Owen",
];

/** How many names, at the end of {@link IOI_NAMES}, are held out of IOI training prompts. */
export const IOI_HELD_OUT_NAME_COUNT = 12;

/** Names used in IOI training prompts. */
export const IOI_TRAIN_NAMES: readonly string[] = IOI_NAMES.slice(0, IOI_NAMES.length - IOI_HELD_OUT_NAME_COUNT);

/** Names never used in IOI training prompts. */
export const IOI_HELD_OUT_NAMES: readonly string[] = IOI_NAMES.slice(IOI_NAMES.length - IOI_HELD_OUT_NAME_COUNT);

/** Places (single tokens with a leading space). */
export const IOI_PLACES: readonly string[] = [
  "store", "park", "school", "office", "garden", "station", "house", "restaurant",
  "beach", "library", "market", "hospital", "cafe", "museum", "river", "forest",
];

/** Objects (single tokens with a leading space). */
export const IOI_OBJECTS: readonly string[] = [
  "drink", "book", "ring", "bag", "gift", "letter", "key", "ball", "flower", "basket", "snack", "hat", "cake", "pen",
];

/**
 * A prompt template. `{A}` and `{B}` are the first and second name of the introduction, `{S}`
 * the repeated subject, `{PLACE}` and `{OBJECT}` a place and an object. The prompt ends where
 * the indirect object comes next. Every slot follows a space, so each filler is one token.
 * Templates are an introduction (naming A and B) followed by a clause (starting with S).
 */
export type IoiTemplate = string;

/** Introductions of training templates. */
export const IOI_TRAIN_INTROS: readonly string[] = [
  "When {A} and {B} went to the {PLACE},",
  "After {A} and {B} went to the {PLACE},",
  "While {A} and {B} were working at the {PLACE},",
  "Then, {A} and {B} went to the {PLACE}.",
  "Then, {A} and {B} had a long argument. Afterwards",
  "The {PLACE} was busy when {A} and {B} arrived.",
  "Then, {A} and {B} had a lot of fun at the {PLACE}.",
  "Later, {A} and {B} were walking to the {PLACE}, and",
  "Friends {A} and {B} met at the {PLACE}.",
  "When {A} and {B} got a {OBJECT} at the {PLACE},",
];

/** Clauses of training templates. */
export const IOI_TRAIN_CLAUSES: readonly string[] = [
  "{S} gave a {OBJECT} to",
  "{S} handed a {OBJECT} to",
  "{S} passed the {OBJECT} to",
  "{S} said goodbye to",
  "{S} decided to give the {OBJECT} to",
  "{S} threw the {OBJECT} to",
];

/** Introductions of held-out templates (used in no training template). */
export const IOI_HELD_OUT_INTROS: readonly string[] = [
  "After the lunch, {A} and {B} went to the {PLACE}.",
  "Yesterday {A} and {B} were thinking about the {PLACE}.",
  "When {A} and {B} arrived at the {PLACE},",
];

/** Clauses of held-out templates (used in no training template). */
export const IOI_HELD_OUT_CLAUSES: readonly string[] = [
  "{S} brought a {OBJECT} to",
  "{S} wanted to give a {OBJECT} to",
];

function combine(intros: readonly string[], clauses: readonly string[]): IoiTemplate[] {
  return intros.flatMap((intro) => clauses.map((clause) => `${intro} ${clause}`));
}

/** Templates of training prompts: every training introduction with every training clause. */
export const IOI_TRAIN_TEMPLATES: readonly IoiTemplate[] = combine(IOI_TRAIN_INTROS, IOI_TRAIN_CLAUSES);

/**
 * Templates held out of training: every held-out introduction with every held-out clause, so
 * neither half of a held-out prompt occurs in any training prompt.
 */
export const IOI_HELD_OUT_TEMPLATES: readonly IoiTemplate[] = combine(IOI_HELD_OUT_INTROS, IOI_HELD_OUT_CLAUSES);

/**
 * Short sentences without names that may open a prompt (0, 1 or 2 of them, in every split), so
 * that the names sit at varied positions and a model cannot solve the task by position alone.
 */
export const IOI_PREAMBLES: readonly string[] = [
  "It was late.",
  "The day was cold.",
  "Nobody said anything.",
  "It was a sunny day.",
  "The town was quiet.",
  "Everyone was busy.",
  "It rained all morning.",
  "The week started early.",
];

/** The template sets and name sets an example can be drawn from. */
export type IoiSplit =
  /** Training templates, training names, training name pairs. */
  | "train"
  /** Held-out templates, training names, name pairs never used in training. */
  | "heldout"
  /** Held-out templates, held-out names (never in an IOI training prompt). */
  | "heldoutNames";

/** The ordering of the names: IO first in the introduction ("ABBA") or S first ("BABA"). */
export type IoiOrder = "ABBA" | "BABA";

/** A prompt as text, before tokenization. */
export interface IoiPrompt {
  readonly text: string;
  /** The indirect object (the answer), without the leading space. */
  readonly io: string;
  /** The subject (mentioned twice). */
  readonly s: string;
  readonly order: IoiOrder;
  /** The template (with slots), without the preamble. */
  readonly template: IoiTemplate;
  /** The sentences before the template ("" for none). */
  readonly preamble: string;
  readonly place: string;
  readonly object: string;
  /** A third name, different from IO and S, used by the corruptions. */
  readonly other: string;
  /** Three further distinct names (different from IO, S and `other`) for the ABC corruption. */
  readonly abc: readonly [string, string, string];
}

/** Fills a template. `a` and `b` are the introduction's names in order, `s` the repeated subject. */
export function fillIoiTemplate(template: IoiTemplate, fill: { a: string; b: string; s: string; place: string; object: string }): string {
  return template.replaceAll("{A}", fill.a).replaceAll("{B}", fill.b).replaceAll("{S}", fill.s).replaceAll("{PLACE}", fill.place).replaceAll("{OBJECT}", fill.object);
}

/** The seed that splits training-name pairs into training and held-out pairs (fixed, so every generator agrees). */
const PAIR_SPLIT_SEED = 20250517;

/** The share of unordered training-name pairs held out of training. */
export const IOI_HELD_OUT_PAIR_SHARE = 0.2;

let pairSplit: { train: [string, string][]; heldout: [string, string][] } | undefined;

/**
 * Unordered pairs of training names, split once (with a fixed seed) into the pairs training
 * prompts use and the pairs only held-out prompts use.
 */
export function ioiNamePairs(): { readonly train: readonly (readonly [string, string])[]; readonly heldout: readonly (readonly [string, string])[] } {
  if (!pairSplit) {
    const pairs: [string, string][] = [];
    for (let i = 0; i < IOI_TRAIN_NAMES.length; i++) {
      for (let j = i + 1; j < IOI_TRAIN_NAMES.length; j++) pairs.push([IOI_TRAIN_NAMES[i]!, IOI_TRAIN_NAMES[j]!]);
    }
    new Rng(PAIR_SPLIT_SEED).shuffle(pairs);
    const cut = Math.round(pairs.length * IOI_HELD_OUT_PAIR_SHARE);
    pairSplit = { heldout: pairs.slice(0, cut), train: pairs.slice(cut) };
  }
  return pairSplit;
}

function pairsOf(split: IoiSplit): readonly (readonly [string, string])[] {
  if (split === "train") return ioiNamePairs().train;
  if (split === "heldout") return ioiNamePairs().heldout;
  const pairs: [string, string][] = [];
  for (let i = 0; i < IOI_HELD_OUT_NAMES.length; i++) {
    for (let j = i + 1; j < IOI_HELD_OUT_NAMES.length; j++) pairs.push([IOI_HELD_OUT_NAMES[i]!, IOI_HELD_OUT_NAMES[j]!]);
  }
  return pairs;
}

/** The templates of a split. */
export function ioiTemplates(split: IoiSplit): readonly IoiTemplate[] {
  return split === "train" ? IOI_TRAIN_TEMPLATES : IOI_HELD_OUT_TEMPLATES;
}

/** The names a split's prompts (and their corruptions) are drawn from. */
export function ioiNames(split: IoiSplit): readonly string[] {
  return split === "heldoutNames" ? IOI_HELD_OUT_NAMES : IOI_TRAIN_NAMES;
}

function withPreamble(preamble: string, template: IoiTemplate): IoiTemplate {
  return preamble === "" ? template : `${preamble} ${template}`;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

// `count` distinct names from `pool`, none of them in `exclude`.
function distinctNames(rng: Rng, pool: readonly string[], exclude: readonly string[], count: number): string[] {
  const out: string[] = [];
  while (out.length < count) {
    const name = pick(rng, pool);
    if (!exclude.includes(name) && !out.includes(name)) out.push(name);
  }
  return out;
}

const SPLITS: readonly IoiSplit[] = ["train", "heldout", "heldoutNames"];

/**
 * `count` prompts of a split, drawn with a seeded generator: a template, a name pair of the
 * split (IO and S in random roles), an order (ABBA or BABA, equally likely), a place and an
 * object, and the names the corruptions use. The same seed gives the same prompts.
 */
export function ioiPrompts(split: IoiSplit, count: number, seed: number): IoiPrompt[] {
  if (!SPLITS.includes(split)) throw new InputError(`unknown IOI split ${JSON.stringify(split)}; use one of ${SPLITS.join(", ")}`);
  if (!Number.isInteger(count) || count < 0) throw new InputError(`the number of IOI prompts must be a non-negative integer, got ${count}`);
  const rng = new Rng(seed);
  const templates = ioiTemplates(split);
  const pairs = pairsOf(split);
  const names = ioiNames(split);
  const prompts: IoiPrompt[] = [];
  for (let n = 0; n < count; n++) {
    const template = pick(rng, templates);
    const sentences = rng.int(3);
    const preamble = rng.shuffle([...IOI_PREAMBLES]).slice(0, sentences).join(" ");
    const pair = pick(rng, pairs);
    const [io, s] = rng.int(2) === 0 ? [pair[0], pair[1]] : [pair[1], pair[0]];
    const order: IoiOrder = rng.int(2) === 0 ? "ABBA" : "BABA";
    const place = pick(rng, IOI_PLACES);
    const object = pick(rng, IOI_OBJECTS);
    const [other, ...abc] = distinctNames(rng, names, [io, s], 4) as [string, string, string, string];
    const [a, b] = order === "ABBA" ? [io, s] : [s, io];
    const text = fillIoiTemplate(withPreamble(preamble, template), { a, b, s, place, object });
    prompts.push({ text, io, s, order, template, preamble, place, object, other, abc: abc as [string, string, string] });
  }
  return prompts;
}

/** What {@link ioiExamples} needs of a tokenizer. */
export interface TaskTokenizer {
  encode(text: string): number[];
}

/** The single token id of `" " + word`; throws if the word is not exactly one token. */
export function singleTokenId(tokenizer: TaskTokenizer, word: string): number {
  const ids = tokenizer.encode(` ${word}`);
  if (ids.length !== 1) throw new Error(`" ${word}" is ${ids.length} tokens (${ids.join(", ")}) in this tokenizer; the task needs it to be one`);
  return ids[0]!;
}

/** A prompt variant used as the corrupted run of activation or attribution patching. */
export interface IoiVariant {
  readonly text: string;
  readonly ids: readonly number[];
  /** The answer the variant's context supports (a name token id), or null when no name is singled out. */
  readonly target: number | null;
}

/** A tokenized IOI example with its evidence positions and corrupted counterparts. */
export interface IoiExample {
  readonly prompt: IoiPrompt;
  readonly text: string;
  readonly ids: readonly number[];
  /** Token id of " IO": the correct next token. */
  readonly target: number;
  /** Token id of " S": the wrong name, for logit differences (target - subject). */
  readonly subject: number;
  /** Token positions of the evidence. The IO name occurs once in the context. */
  readonly positions: {
    /** The IO mention. */
    readonly io: number;
    /** The first S mention (in the introduction). */
    readonly s1: number;
    /** The second S mention. */
    readonly s2: number;
    /** The last position, where the answer is predicted. */
    readonly end: number;
  };
  /**
   * The corrupted run for attribution patching: the IO mention replaced by another name, so the
   * context no longer supports the clean answer (it supports the replacement instead). Same
   * length and positions as the clean prompt.
   */
  readonly corrupted: IoiVariant;
  /**
   * The "ABC" corruption of the IOI literature (Wang et al.'s p_ABC): all three name slots
   * filled with three further distinct names, so no name is repeated and none is singled out.
   * Same template, place, object, length and positions.
   */
  readonly abc: IoiVariant;
  /** The second S mention replaced by IO: IO is now repeated, so the answer flips to S. */
  readonly flipped: IoiVariant;
}

function positionsOf(ids: readonly number[], id: number): number[] {
  const out: number[] = [];
  ids.forEach((x, i) => {
    if (x === id) out.push(i);
  });
  return out;
}

/** Tokenizes a prompt and locates its evidence; throws if a name is not one token. */
export function toIoiExample(prompt: IoiPrompt, tokenizer: TaskTokenizer): IoiExample {
  const target = singleTokenId(tokenizer, prompt.io);
  const subject = singleTokenId(tokenizer, prompt.s);
  const ids = tokenizer.encode(prompt.text);
  const ioAt = positionsOf(ids, target);
  const sAt = positionsOf(ids, subject);
  if (ioAt.length !== 1 || sAt.length !== 2) {
    throw new Error(`IOI prompt ${JSON.stringify(prompt.text)}: expected IO once and S twice as tokens, found ${ioAt.length} and ${sAt.length}`);
  }
  const [a, b] = prompt.order === "ABBA" ? [prompt.io, prompt.s] : [prompt.s, prompt.io];
  const fill = { a, b, s: prompt.s, place: prompt.place, object: prompt.object };
  const variant = (text: string, answer: string | null): IoiVariant => {
    const variantIds = tokenizer.encode(text);
    if (variantIds.length !== ids.length) throw new Error(`IOI variant ${JSON.stringify(text)} has ${variantIds.length} tokens; the clean prompt has ${ids.length}`);
    return { text, ids: variantIds, target: answer === null ? null : singleTokenId(tokenizer, answer) };
  };
  const template = withPreamble(prompt.preamble, prompt.template);
  const swapIo = (name: string) => (prompt.order === "ABBA" ? { ...fill, a: name } : { ...fill, b: name });
  const [x, y, z] = prompt.abc;
  const abcFill = { a: x, b: y, s: z, place: prompt.place, object: prompt.object };
  return {
    prompt,
    text: prompt.text,
    ids,
    target,
    subject,
    positions: { io: ioAt[0]!, s1: sAt[0]!, s2: sAt[1]!, end: ids.length - 1 },
    corrupted: variant(fillIoiTemplate(template, swapIo(prompt.other)), prompt.other),
    abc: variant(fillIoiTemplate(template, abcFill), null),
    flipped: variant(fillIoiTemplate(template, { ...fill, s: prompt.io }), prompt.s),
  };
}

/** `count` tokenized examples of a split (see {@link ioiPrompts} and {@link toIoiExample}). */
export function ioiExamples(split: IoiSplit, count: number, seed: number, tokenizer: TaskTokenizer): IoiExample[] {
  return ioiPrompts(split, count, seed).map((p) => toIoiExample(p, tokenizer));
}

/**
 * Plain sentences that mention names (all of them, held-out ones included), places and
 * objects, for a language-model loss mixed into training. They give every name a trained
 * embedding and unembedding, and (in the sentences that mention one name twice) practice in
 * copying any name from the context, without ever showing a held-out name in an IOI prompt:
 * none of them has two names of which one is repeated. Some use words that only held-out
 * templates use otherwise, so those words have trained embeddings too.
 */
export const NAME_SENTENCE_TEMPLATES: readonly string[] = [
  "Yesterday, {A} went to the {PLACE}.",
  "This morning, {A} bought a {OBJECT} at the {PLACE}.",
  "Everyone knows that {A} likes the {PLACE}.",
  "Last week, {A} and {B} visited the {PLACE}.",
  "The {OBJECT} from the {PLACE} belongs to {A}.",
  "In the {PLACE}, {A} found a {OBJECT}.",
  "Today {A} met {B} at the {PLACE}.",
  "It was {A} who lost the {OBJECT}.",
  "After the lunch, {A} brought a {OBJECT} home.",
  "Now {A} was thinking about the {OBJECT} and wanted to buy it.",
  "This is {A}. Everyone at the {PLACE} likes {A}.",
  "Say hello to {A}, because {A} arrived at the {PLACE} today.",
];

/** `count` plain sentences (see {@link NAME_SENTENCE_TEMPLATES}); names drawn from every name, seeded. */
export function nameSentences(count: number, seed: number): string[] {
  if (!Number.isInteger(count) || count < 0) throw new InputError(`the number of sentences must be a non-negative integer, got ${count}`);
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const template = pick(rng, NAME_SENTENCE_TEMPLATES);
    const [a, b] = distinctNames(rng, IOI_NAMES, [], 2) as [string, string];
    out.push(template.replaceAll("{A}", a).replaceAll("{B}", b).replaceAll("{PLACE}", pick(rng, IOI_PLACES)).replaceAll("{OBJECT}", pick(rng, IOI_OBJECTS)));
  }
  return out;
}

/**
 * Texts that a tokenizer for this task is trained on: every template and sentence template
 * (training and held-out) with its slots filled round-robin, and every name, place and object
 * with a leading space, each several times, so that byte-level BPE ends with every one of them
 * as a single token.
 */
export function ioiTokenizerCorpus(): string[] {
  const texts: string[] = [];
  const templates = [...IOI_TRAIN_TEMPLATES, ...IOI_HELD_OUT_TEMPLATES, ...NAME_SENTENCE_TEMPLATES, ...IOI_PREAMBLES];
  templates.forEach((template, i) => {
    for (let k = 0; k < 4; k++) {
      const at = (list: readonly string[], j: number) => list[(i * 7 + k * 3 + j) % list.length]!;
      texts.push(fillIoiTemplate(template, { a: at(IOI_NAMES, 0), b: at(IOI_NAMES, 1), s: at(IOI_NAMES, 2), place: at(IOI_PLACES, 0), object: at(IOI_OBJECTS, 0) }));
    }
  });
  for (const word of [...IOI_NAMES, ...IOI_PLACES, ...IOI_OBJECTS]) for (let k = 0; k < 4; k++) texts.push(` ${word}`);
  return texts;
}
