import { describe, expect, it } from "vitest";
import { INDUCTION_SYMBOLS, inductionExamples, inductionRuleTable, inductionSequences, inductionText, inductionTokenizer, ruleSequences } from "../src/index.js";

const tokenizer = inductionTokenizer();

describe("induction task", () => {
  it("makes every symbol one token, distinct, decoding back", () => {
    expect(INDUCTION_SYMBOLS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(INDUCTION_SYMBOLS).size).toBe(INDUCTION_SYMBOLS.length);
    const ids = INDUCTION_SYMBOLS.map((s) => tokenizer.encode(` ${s}`));
    for (const [i, id] of ids.entries()) {
      expect(id).toHaveLength(1);
      expect(tokenizer.decode(id)).toBe(` ${INDUCTION_SYMBOLS[i]}`);
    }
    expect(new Set(ids.map((x) => x[0])).size).toBe(INDUCTION_SYMBOLS.length);
  });

  it("is deterministic for a seed and differs between seeds", () => {
    expect(inductionSequences(30, 4)).toEqual(inductionSequences(30, 4));
    expect(inductionSequences(30, 4)).not.toEqual(inductionSequences(30, 5));
  });

  it("ends with a token that occurred exactly once before; the target followed it", () => {
    for (const options of [{}, { length: 12, maxRepeat: 2 }, { length: 30, maxRepeat: 5 }]) {
      const examples = inductionExamples(300, 2, tokenizer, options);
      const repeats = new Set(examples.map((e) => e.sequence.repeat));
      expect(repeats.size).toBe((options as { maxRepeat?: number }).maxRepeat ?? 3);
      for (const e of examples) {
        const { ids } = e;
        const end = ids.length - 1;
        expect(ids.length).toBe((options as { length?: number }).length ?? 24);
        const earlier = ids.slice(0, end).flatMap((id, i) => (id === ids[end] ? [i] : []));
        expect(earlier).toEqual([e.positions.s]);
        expect(e.positions.next).toBe(e.positions.s + 1);
        expect(e.positions.next).toBeLessThan(end);
        expect(e.target).toBe(ids[e.positions.next]);
        // The tail repeats the segment that ends at s.
        const r = e.sequence.repeat;
        expect(ids.slice(end - r + 1)).toEqual(ids.slice(e.positions.s - r + 1, e.positions.s + 1));
        expect(tokenizer.decode(ids)).toBe(e.text);
        expect(e.text).toBe(inductionText(e.sequence.symbols));
      }
    }
  });

  it("corrupts the evidence: the token after s, or the earlier occurrence itself", () => {
    for (const e of inductionExamples(200, 3, tokenizer)) {
      const { s, next, end } = e.positions;
      const changed = (other: readonly number[]) => other.flatMap((id, i) => (id === e.ids[i] ? [] : [i]));
      expect(changed(e.corrupted.ids)).toEqual([next]);
      expect(e.ids).not.toContain(e.corrupted.ids[next]);
      expect(e.corrupted.target).toBe(e.corrupted.ids[next]);
      expect(changed(e.broken.ids)).toEqual([s]);
      // After breaking, the last token has no earlier occurrence.
      expect(e.broken.ids.slice(0, end)).not.toContain(e.broken.ids[end]);
      expect(e.broken.target).toBeNull();
    }
  });

  it("with occurrences k, the last token occurred k times before, each time followed by the target", () => {
    for (const options of [{ length: 20, maxRepeat: 3, occurrences: 2 }, { length: 12, maxRepeat: 2, occurrences: 2 }, { length: 29, maxRepeat: 4, occurrences: 3 }]) {
      const examples = inductionExamples(300, 6, tokenizer, options);
      expect(new Set(examples.map((e) => e.sequence.repeat)).size).toBe(options.maxRepeat);
      const gaps = new Set<number>();
      let adjacent = 0;
      for (const e of examples) {
        const { ids } = e;
        const end = ids.length - 1;
        expect(ids.length).toBe(options.length);
        const earlier = ids.slice(0, end).flatMap((id, i) => (id === ids[end] ? [i] : []));
        expect(earlier).toHaveLength(options.occurrences);
        expect(e.sequence.earlier).toEqual(earlier);
        expect(e.positions.earlier).toEqual(earlier.map((s) => ({ s, next: s + 1 })));
        expect(e.positions.s).toBe(earlier[0]);
        const r = e.sequence.repeat;
        for (const s of earlier) {
          expect(ids[s + 1]).toBe(e.target);
          expect(ids.slice(s - r + 1, s + 1)).toEqual(ids.slice(end - r + 1));
        }
        gaps.add(earlier[1]! - earlier[0]!);
        if (earlier[1]! - earlier[0]! === r + 1) adjacent++;
        // Every symbol outside the segment's copies and the tail occurs once.
        const inCopies = new Set(earlier.flatMap((s) => Array.from({ length: r + 1 }, (_, j) => s - r + 1 + j)));
        const others = ids.slice(0, end - r + 1).filter((_, i) => !inCopies.has(i));
        expect(new Set(others).size).toBe(others.length);
        expect(others).not.toContain(e.target);
        // Corrupting replaces the answer after every occurrence; breaking removes every occurrence.
        const changed = (other: readonly number[]) => other.flatMap((id, i) => (id === ids[i] ? [] : [i]));
        expect(changed(e.corrupted.ids)).toEqual(earlier.map((s) => s + 1));
        expect(e.corrupted.ids.slice(0, end)).not.toContain(e.target);
        expect(changed(e.broken.ids)).toEqual(earlier);
        expect(e.broken.ids.slice(0, end)).not.toContain(ids[end]);
      }
      // The copies stand at different distances from the first occurrence, adjacent ones included.
      expect(gaps.size).toBeGreaterThan(3);
      expect(adjacent).toBeGreaterThan(0);
      expect(adjacent).toBeLessThan(examples.length / 2);
    }
  });

  it("draws the same single-occurrence sequences whether or not occurrences: 1 is given", () => {
    expect(inductionSequences(50, 9, { length: 20, maxRepeat: 8, occurrences: 1 })).toEqual(inductionSequences(50, 9, { length: 20, maxRepeat: 8 }));
    expect(inductionSequences(50, 9).every((s) => s.earlier.length === 1 && s.earlier[0] === s.s)).toBe(true);
  });

  it("refuses lengths that cannot hold distinct symbols and a repeat", () => {
    expect(() => inductionSequences(1, 0, { length: INDUCTION_SYMBOLS.length + 1 })).toThrow(/length must be an integer from/);
    expect(() => inductionSequences(1, 0, { length: 5, maxRepeat: 3 })).toThrow(/length must be an integer from/);
    expect(() => inductionSequences(1, 0, { maxRepeat: 0 })).toThrow(/maxRepeat/);
    expect(() => inductionSequences(1, 0, { occurrences: 0 })).toThrow(/occurrences must be an integer from 1 to 3, got 0/);
    expect(() => inductionSequences(1, 0, { occurrences: 1.5 })).toThrow(/occurrences/);
    expect(() => inductionSequences(1, 0, { length: 11, maxRepeat: 3, occurrences: 2 })).toThrow(/length must be an integer from 12 to 30 with 2 occurrences, got 11/);
    expect(inductionSequences(20, 0, { length: 12, maxRepeat: 3, occurrences: 2 })).toHaveLength(20);
  });
});

describe("ruleSequences", () => {
  it("follow the fixed second-order rule, seeded", () => {
    const table = inductionRuleTable();
    expect(table).toHaveLength(INDUCTION_SYMBOLS.length);
    const index = new Map(INDUCTION_SYMBOLS.map((s, i) => [s, i]));
    const sequences = ruleSequences(50, 8, 20);
    expect(sequences).toEqual(ruleSequences(50, 8, 20));
    expect(sequences).not.toEqual(ruleSequences(50, 9, 20));
    for (const seq of sequences) {
      expect(seq).toHaveLength(20);
      for (let t = 2; t < seq.length; t++) expect(index.get(seq[t]!)).toBe(table[index.get(seq[t - 2]!)!]![index.get(seq[t - 1]!)!]);
    }
    // The table uses most symbols as outputs (it is not a degenerate rule).
    expect(new Set(table.flat()).size).toBeGreaterThan(INDUCTION_SYMBOLS.length / 2);
  });
});
