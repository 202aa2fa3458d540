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

  it("refuses lengths that cannot hold distinct symbols and a repeat", () => {
    expect(() => inductionSequences(1, 0, { length: INDUCTION_SYMBOLS.length + 1 })).toThrow(/length must be an integer from/);
    expect(() => inductionSequences(1, 0, { length: 5, maxRepeat: 3 })).toThrow(/length must be an integer from/);
    expect(() => inductionSequences(1, 0, { maxRepeat: 0 })).toThrow(/maxRepeat/);
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
