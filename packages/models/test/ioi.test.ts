import { describe, expect, it } from "vitest";
import {
  IOI_HELD_OUT_CLAUSES, IOI_HELD_OUT_INTROS, IOI_HELD_OUT_NAMES, IOI_HELD_OUT_TEMPLATES, IOI_PREAMBLES, IOI_TRAIN_CLAUSES, IOI_TRAIN_INTROS, IOI_NAMES, IOI_OBJECTS, IOI_PLACES, IOI_TRAIN_NAMES, IOI_TRAIN_TEMPLATES,
  ioiExamples, ioiNamePairs, ioiPrompts, ioiTokenizer, nameSentences, NAME_SENTENCE_TEMPLATES, type IoiSplit,
} from "../src/index.js";

const tokenizer = ioiTokenizer();
const splits: IoiSplit[] = ["train", "heldout", "heldoutNames"];

// The names mentioned in a text, in order, found by splitting it into words (independent of the generator).
function namesIn(text: string): string[] {
  const names = new Set(IOI_NAMES);
  return text.split(/[^A-Za-z]+/).filter((w) => names.has(w));
}

// Positions where two equal-length id lists differ.
function differences(a: readonly number[], b: readonly number[]): number[] {
  expect(b.length).toBe(a.length);
  return a.flatMap((x, i) => (x === b[i] ? [] : [i]));
}

describe("IOI word lists", () => {
  it("has dozens of distinct names, split into disjoint training and held-out names", () => {
    expect(IOI_NAMES.length).toBeGreaterThanOrEqual(50);
    expect(new Set(IOI_NAMES).size).toBe(IOI_NAMES.length);
    expect(IOI_TRAIN_NAMES.filter((n) => IOI_HELD_OUT_NAMES.includes(n))).toEqual([]);
    expect(IOI_TRAIN_NAMES.length + IOI_HELD_OUT_NAMES.length).toBe(IOI_NAMES.length);
    expect(IOI_HELD_OUT_NAMES.length).toBeGreaterThanOrEqual(6);
  });

  it("builds held-out templates from introductions and clauses that no training template uses", () => {
    for (const intro of IOI_HELD_OUT_INTROS) {
      expect(IOI_TRAIN_INTROS).not.toContain(intro);
      for (const t of IOI_TRAIN_TEMPLATES) expect(t.startsWith(intro)).toBe(false);
    }
    for (const clause of IOI_HELD_OUT_CLAUSES) {
      expect(IOI_TRAIN_CLAUSES).not.toContain(clause);
      for (const t of IOI_TRAIN_TEMPLATES) expect(t.endsWith(clause)).toBe(false);
    }
    expect(IOI_TRAIN_TEMPLATES).toHaveLength(IOI_TRAIN_INTROS.length * IOI_TRAIN_CLAUSES.length);
    expect(IOI_HELD_OUT_TEMPLATES).toHaveLength(IOI_HELD_OUT_INTROS.length * IOI_HELD_OUT_CLAUSES.length);
  });

  it("has at least 8 training and 2 held-out templates, none shared", () => {
    expect(IOI_TRAIN_TEMPLATES.length).toBeGreaterThanOrEqual(8);
    expect(IOI_HELD_OUT_TEMPLATES.length).toBeGreaterThanOrEqual(2);
    expect(IOI_HELD_OUT_TEMPLATES.filter((t) => IOI_TRAIN_TEMPLATES.includes(t))).toEqual([]);
    for (const t of [...IOI_TRAIN_TEMPLATES, ...IOI_HELD_OUT_TEMPLATES]) {
      // One introduction with two names, one repeated subject; the prompt stops where a name comes next.
      expect(t.match(/\{A\}/g)?.length).toBe(1);
      expect(t.match(/\{B\}/g)?.length).toBe(1);
      expect(t.match(/\{S\}/g)?.length).toBe(1);
      expect(t.indexOf("{A}")).toBeLessThan(t.indexOf("{B}"));
      expect(t.indexOf("{B}")).toBeLessThan(t.indexOf("{S}"));
      expect(t.endsWith(" to")).toBe(true);
    }
  });

  it("makes every name, place and object exactly one token with its leading space", () => {
    for (const word of [...IOI_NAMES, ...IOI_PLACES, ...IOI_OBJECTS]) {
      const ids = tokenizer.encode(` ${word}`);
      expect(ids, word).toHaveLength(1);
      expect(tokenizer.decode(ids)).toBe(` ${word}`);
    }
    const nameIds = IOI_NAMES.map((n) => tokenizer.encode(` ${n}`)[0]);
    expect(new Set(nameIds).size).toBe(IOI_NAMES.length);
  });

  it("splits training-name pairs into disjoint training and held-out pairs covering all pairs", () => {
    const { train, heldout } = ioiNamePairs();
    const key = ([a, b]: readonly [string, string]) => [a, b].sort().join("|");
    const trainKeys = new Set(train.map(key));
    expect(heldout.filter((p) => trainKeys.has(key(p)))).toEqual([]);
    const n = IOI_TRAIN_NAMES.length;
    expect(new Set([...train, ...heldout].map(key)).size).toBe((n * (n - 1)) / 2);
    expect(heldout.length).toBeGreaterThan(50);
  });
});

describe("ioiPrompts and ioiExamples", () => {
  it("are deterministic for a seed and differ between seeds", () => {
    for (const split of splits) {
      expect(ioiPrompts(split, 50, 7)).toEqual(ioiPrompts(split, 50, 7));
      expect(ioiPrompts(split, 50, 7).map((p) => p.text)).not.toEqual(ioiPrompts(split, 50, 8).map((p) => p.text));
    }
    expect(ioiExamples("train", 20, 3, tokenizer)).toEqual(ioiExamples("train", 20, 3, tokenizer));
  });

  it("refuses unknown splits and bad counts with one line", () => {
    expect(() => ioiPrompts("test" as IoiSplit, 1, 0)).toThrow(/unknown IOI split "test"/);
    expect(() => ioiPrompts("train", -1, 0)).toThrow(/non-negative integer/);
  });

  it("targets the name that is mentioned once, and records where the evidence is", () => {
    for (const split of splits) {
      const examples = ioiExamples(split, 300, 11, tokenizer);
      const orders = new Set(examples.map((e) => e.prompt.order));
      expect(orders).toEqual(new Set(["ABBA", "BABA"]));
      for (const e of examples) {
        const names = namesIn(e.text);
        expect(names).toHaveLength(3);
        const once = names.filter((n) => names.filter((m) => m === n).length === 1);
        const twice = names.filter((n) => names.filter((m) => m === n).length === 2);
        expect(once).toHaveLength(1);
        expect(tokenizer.decode([e.target])).toBe(` ${once[0]}`);
        expect(tokenizer.decode([e.subject])).toBe(` ${twice[0]}`);
        expect(tokenizer.decode(e.ids)).toBe(e.text);
        const { io, s1, s2, end } = e.positions;
        expect(tokenizer.decode([e.ids[io]!])).toBe(` ${once[0]}`);
        expect(e.ids[s1]).toBe(e.subject);
        expect(e.ids[s2]).toBe(e.subject);
        expect(end).toBe(e.ids.length - 1);
        expect(Math.max(io, s1)).toBeLessThan(s2);
        // ABBA: IO comes first in the introduction; BABA: S does.
        expect(io < s1).toBe(e.prompt.order === "ABBA");
        // Every other position holds no name.
        const nameTokens = new Set(IOI_NAMES.map((n) => tokenizer.encode(` ${n}`)[0]));
        expect(e.ids.flatMap((id, i) => (nameTokens.has(id) ? [i] : []))).toEqual([io, s1, s2].sort((a, b) => a - b));
      }
    }
  });

  it("draws each split from its own templates and names; held-out pairs never appear in training", () => {
    // The template a text was filled from, allowing 0 to 2 preamble sentences before it.
    const preamble = `(?:(?:${IOI_PREAMBLES.map((p) => p.replace(/\./g, "\\.")).join("|")}) ){0,2}`;
    const templateOf = (text: string, templates: readonly string[]) =>
      templates.filter((t) => new RegExp(`^${preamble}${t.replace(/[.,]/g, "\\$&").replace(/\{[A-Z]+\}/g, "[A-Za-z]+")}$`).test(text));
    const trainPairs = new Set(ioiNamePairs().train.map((p) => [...p].sort().join("|")));
    for (const e of ioiExamples("train", 500, 5, tokenizer)) {
      expect(templateOf(e.text, IOI_TRAIN_TEMPLATES)).toHaveLength(1);
      expect(templateOf(e.text, IOI_HELD_OUT_TEMPLATES)).toHaveLength(0);
      for (const n of namesIn(e.text)) expect(IOI_TRAIN_NAMES).toContain(n);
      expect(trainPairs.has([e.prompt.io, e.prompt.s].sort().join("|"))).toBe(true);
    }
    for (const e of ioiExamples("heldout", 500, 5, tokenizer)) {
      expect(templateOf(e.text, IOI_HELD_OUT_TEMPLATES)).toHaveLength(1);
      expect(templateOf(e.text, IOI_TRAIN_TEMPLATES)).toHaveLength(0);
      for (const n of namesIn(e.text)) expect(IOI_TRAIN_NAMES).toContain(n);
      expect(trainPairs.has([e.prompt.io, e.prompt.s].sort().join("|"))).toBe(false);
    }
    for (const e of ioiExamples("heldoutNames", 500, 5, tokenizer)) {
      expect(templateOf(e.text, IOI_HELD_OUT_TEMPLATES)).toHaveLength(1);
      for (const n of [...namesIn(e.text), ...namesIn(e.corrupted.text), ...namesIn(e.abc.text)]) expect(IOI_HELD_OUT_NAMES).toContain(n);
    }
  });

  it("builds corruptions that change only the name positions they name", () => {
    for (const e of ioiExamples("heldout", 200, 9, tokenizer)) {
      const { io, s1, s2 } = e.positions;
      // corrupted: the IO mention replaced by a third name, which the context now supports.
      expect(differences(e.ids, e.corrupted.ids)).toEqual([io]);
      expect(e.corrupted.target).toBe(e.corrupted.ids[io]);
      expect([e.target, e.subject]).not.toContain(e.corrupted.target);
      // abc: all three name slots hold three new distinct names.
      expect(differences(e.ids, e.abc.ids)).toEqual([io, s1, s2].sort((a, b) => a - b));
      const abcNames = [io, s1, s2].map((p) => e.abc.ids[p]);
      expect(new Set(abcNames).size).toBe(3);
      for (const id of abcNames) expect([e.target, e.subject, e.corrupted.target]).not.toContain(id);
      expect(e.abc.target).toBeNull();
      // flipped: S2 replaced by IO, so the answer becomes S.
      expect(differences(e.ids, e.flipped.ids)).toEqual([s2]);
      expect(e.flipped.ids[s2]).toBe(e.target);
      expect(e.flipped.target).toBe(e.subject);
      expect(tokenizer.decode(e.corrupted.ids)).toBe(e.corrupted.text);
    }
  });
});

describe("nameSentences", () => {
  it("mentions every name (held-out ones included) and never has the IOI structure (two names, one repeated)", () => {
    const sentences = nameSentences(2000, 1);
    expect(sentences).toEqual(nameSentences(2000, 1));
    const seen = new Set(sentences.flatMap(namesIn));
    expect([...IOI_NAMES].filter((n) => !seen.has(n))).toEqual([]);
    let copies = 0;
    for (const s of sentences) {
      const names = namesIn(s);
      const distinct = new Set(names).size;
      // Either distinct names, or one name mentioned twice (copying practice); never two names with a repeat.
      expect(distinct === names.length || distinct === 1).toBe(true);
      if (distinct === 1 && names.length === 2) copies++;
      expect(s.startsWith(" ")).toBe(false);
      expect(IOI_NAMES.some((n) => s.startsWith(n))).toBe(false);
    }
    expect(copies).toBeGreaterThan(100);
    expect(NAME_SENTENCE_TEMPLATES.filter((t) => IOI_TRAIN_TEMPLATES.includes(t) || IOI_HELD_OUT_TEMPLATES.includes(t))).toEqual([]);
  });
});
