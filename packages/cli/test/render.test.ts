/** Terminal output: color detection, the heatmap's colors, tables, and the human reports. */
import fc from "fast-check";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  detectColorMode,
  displayWidth,
  divergingColor,
  formatNumber,
  normalizeByMaxAbs,
  paint,
  renderHeatmap,
  renderTable,
  visibleWhitespace,
  xterm256,
  xterm256Rgb,
} from "../src/index.js";
import { terminalWidth } from "../src/commands/explain.js";
import { gim, modelsDir } from "./helpers.js";

const gpt2 = path.join(modelsDir, "gpt2-f32");
const ids = "23,23,84,28,1,16,77,92";
const ESC = "\x1b";

/** Background colors of the painted spans of a line, in order. */
function backgrounds(line: string): [number, number, number][] {
  return [...line.matchAll(/\x1b\[\d+;48;2;(\d+);(\d+);(\d+)m/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
}

describe("color detection", () => {
  it("follows NO_COLOR, FORCE_COLOR, TTY, TERM=dumb and COLORTERM", () => {
    expect(detectColorMode({}, true)).toBe("256");
    expect(detectColorMode({ COLORTERM: "truecolor" }, true)).toBe("truecolor");
    expect(detectColorMode({ COLORTERM: "24bit" }, true)).toBe("truecolor");
    expect(detectColorMode({}, false)).toBe("none");
    expect(detectColorMode({ NO_COLOR: "1" }, true)).toBe("none");
    expect(detectColorMode({ NO_COLOR: "" }, true)).toBe("256"); // empty NO_COLOR does not count
    expect(detectColorMode({ TERM: "dumb" }, true)).toBe("none");
    expect(detectColorMode({ FORCE_COLOR: "1" }, false)).toBe("256");
    expect(detectColorMode({ FORCE_COLOR: "3" }, false)).toBe("truecolor");
    expect(detectColorMode({ FORCE_COLOR: "0" }, false)).toBe("none");
    expect(detectColorMode({ FORCE_COLOR: "1", NO_COLOR: "1" }, true)).toBe("none");
  });
});

describe("colors", () => {
  it("diverge from white at 0 to blue at -1 and red at +1, clamped", () => {
    expect(divergingColor(0)).toEqual([247, 247, 247]);
    expect(divergingColor(1)).toEqual([178, 24, 43]);
    expect(divergingColor(-1)).toEqual([33, 102, 172]);
    expect(divergingColor(5)).toEqual(divergingColor(1));
    expect(divergingColor(NaN)).toEqual(divergingColor(0));
    // Stronger values move every channel further from white.
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (a, b, negative) => {
        const s = negative ? -1 : 1;
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const dist = (v: number) => divergingColor(s * v).reduce((acc, c, i) => acc + Math.abs(c - [247, 247, 247][i]!), 0);
        expect(dist(hi)).toBeGreaterThanOrEqual(dist(lo));
      }),
    );
  });

  it("map to the nearest xterm cube color; cube colors map to themselves", () => {
    for (let index = 16; index < 232; index++) expect(xterm256(xterm256Rgb(index))).toBe(index);
    expect(xterm256([255, 0, 0])).toBe(196);
    expect(xterm256([250, 250, 250])).toBe(231);
    expect(() => xterm256Rgb(7)).toThrow("7 is not an index of the xterm color cube (16..231)");
  });

  it("paint wraps text in one background escape and a reset, and nothing in mode none", () => {
    expect(paint("ab", 1, "none")).toBe("ab");
    expect(paint("ab", 1, "truecolor")).toBe(`${ESC}[97;48;2;178;24;43mab${ESC}[0m`);
    expect(paint("ab", 0, "truecolor")).toBe(`${ESC}[30;48;2;247;247;247mab${ESC}[0m`);
    expect(paint("ab", -1, "256")).toBe(`${ESC}[97;48;5;${xterm256([33, 102, 172])}mab${ESC}[0m`);
  });

  it("normalise per row by the largest |value|", () => {
    expect(normalizeByMaxAbs([2, -4, 1])).toEqual([0.5, -1, 0.25]);
    expect(normalizeByMaxAbs([0, 0])).toEqual([0, 0]);
  });
});

describe("text helpers", () => {
  it("make whitespace visible", () => {
    expect(visibleWhitespace(" the")).toBe("␣the");
    expect(visibleWhitespace("a\n\t\r")).toBe("a\\n\\t\\r");
    expect(visibleWhitespace("\x00\x7f")).toBe("\\x00\\x7f");
    expect(visibleWhitespace("\u00a0\u200b")).toBe("\\u{a0}\\u{200b}");
    expect(visibleWhitespace("")).toBe("∅");
    expect(visibleWhitespace("日本")).toBe("日本");
  });

  it("measure terminal columns", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("日本")).toBe(4);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(displayWidth(paint("abc", 0.5, "truecolor"))).toBe(3);
  });

  it("format numbers with 4 significant digits", () => {
    expect(formatNumber(3.98367238)).toBe("3.984");
    expect(formatNumber(-0.0083867)).toBe("-0.008387");
    expect(formatNumber(-0)).toBe("0");
    expect(formatNumber(1234567)).toBe("1.235e+6");
    expect(formatNumber(1.5e-7)).toBe("1.500e-7");
    expect(formatNumber(NaN)).toBe("NaN");
  });

  it("tables align columns whatever the cell widths", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.double({ noNaN: true })), { minLength: 1, maxLength: 6 }), (rows) => {
        const cells = rows.map(([s, x]) => [visibleWhitespace(s.replace(/[^\x20-\x7e]/g, "")), formatNumber(x)]);
        const lines = renderTable([{ header: "token", align: "left" }, { header: "value", align: "right" }], cells).split("\n").slice(0, -1);
        const widths = lines.map(displayWidth);
        expect(new Set(widths).size).toBe(1); // right-aligned last column: every line ends at the same column
      }),
    );
  });
});

describe("heatmap", () => {
  it("colors each token by its value over the row's max |value|: red positive, blue negative", () => {
    const out = renderHeatmap(["a", "b", "c"], [{ label: "m", values: [2, -4, 0] }], "truecolor");
    const first = out.split("\n")[0]!;
    expect(first.startsWith("m  ")).toBe(true);
    expect(backgrounds(first)).toEqual([divergingColor(0.5), divergingColor(-1), divergingColor(0)]);
  });

  it("wraps at the width, continuing under the first token", () => {
    const tokens = Array.from({ length: 30 }, (_, i) => `tok${i % 10} `);
    const out = renderHeatmap(tokens, [{ label: "gim", values: tokens.map(() => 1) }], "truecolor", 40);
    const lines = out.split("\n").filter((l) => l.includes(ESC) && !l.startsWith("scale"));
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(40);
    for (const l of lines.slice(1)) expect(l.startsWith("     ")).toBe(true);
    expect(lines.map((l, i) => l.replace(/\x1b\[[0-9;]*m/g, "").slice(i === 0 ? "gim".length : 0).trim()).join(" ").replace(/\s+/g, " ")).toBe(tokens.join("").trim());
  });

  it("is empty without colors", () => {
    expect(renderHeatmap(["a"], [{ label: "m", values: [1] }], "none")).toBe("");
  });
});

describe("human reports", () => {
  it("gim explain prints target, position, logit, and a table with the JSON's numbers; no escapes when not a terminal", async () => {
    const base = ["explain", "--model", gpt2, "--ids", ids, "--baseline-id", "0"];
    const human = await gim(base);
    expect(human.code).toBe(0);
    expect(human.stderr).toBe("");
    expect(human.stdout).not.toContain(ESC);
    const lines = await Promise.all(["gim", "gradient"].map(async (m) => JSON.parse((await gim([...base, "--method", m, "--json"])).stdout) as { target: number; logit: number; attributions: number[] }));
    const [g, plain] = lines as [(typeof lines)[0], (typeof lines)[0]];
    expect(human.stdout).toContain(`target    "<${g.target}>" (id ${g.target}) at position 7 (the last of 8 tokens), logit ${formatNumber(g.logit)}`);
    expect(human.stdout).toContain('baseline  "<0>" (id 0)');
    const table = human.stdout.split("\n").filter((l) => /^\d+\s/.test(l));
    expect(table).toHaveLength(8);
    table.forEach((row, t) => {
      const cells = row.trim().split(/\s+/);
      expect(cells).toEqual([String(t), `<${ids.split(",")[t]}>`, ids.split(",")[t], formatNumber(g.attributions[t]!), formatNumber(plain.attributions[t]!)]);
    });
    expect(human.stdout).toMatch(/^#\s+token\s+id\s+gim\s+gradient$/m);
  });

  it("gim explain on a terminal colors the heatmap and the table; NO_COLOR turns that off", async () => {
    const argv = ["explain", "--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "gim"];
    const colored = await gim(argv, { isTTY: true, env: { COLORTERM: "truecolor" } });
    const heat = colored.stdout.split("\n").find((l) => l.startsWith("gim "))!;
    const json = JSON.parse((await gim([...argv, "--json"])).stdout) as { attributions: number[] };
    const scaled = normalizeByMaxAbs(json.attributions);
    expect(backgrounds(heat)).toEqual(scaled.map(divergingColor));
    expect((await gim(argv, { isTTY: true, env: { NO_COLOR: "1" } })).stdout).not.toContain(ESC);
    expect((await gim(argv, { isTTY: false, env: { FORCE_COLOR: "1" } })).stdout).toContain(`${ESC}[`);
  });

  it("gim explain notes on stderr when a method's rules do not apply to the model", async () => {
    const r = await gim(["explain", "--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "gate-up-scale"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "gim: note: gate-up-scale changes nothing on this model (the gpt2 model has no place tagged mlp.gate; the gpt2 model has no place tagged mlp.up): its attributions are plain gradient x input\n",
    );
    // GIM itself skips the gated-MLP scales on GPT-2 without a note: its other rules apply.
    expect((await gim(["explain", "--model", gpt2, "--ids", ids, "--baseline-id", "0", "--method", "gim"])).stderr).toBe("");
  });

  it("gim logits lists the top-k tokens by logit with softmax probabilities", async () => {
    const r = await gim(["logits", "--model", gpt2, "--ids", ids, "--top-k", "5"]);
    expect(r.code).toBe(0);
    const logits = (JSON.parse((await gim(["logits", "--model", gpt2, "--ids", ids, "--json"])).stdout) as { logits: number[] }).logits;
    const order = logits.map((_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
    const z = logits.reduce((acc, l) => acc + Math.exp(l), 0);
    const rows = r.stdout.split("\n").filter((l) => /^\s*\d+\s+\d+\s/.test(l)).map((l) => l.trim().split(/\s+/));
    expect(rows).toHaveLength(5);
    rows.forEach((cells, rank) => {
      const id = order[rank]!;
      expect(cells).toEqual([String(rank + 1), String(id), `<${id}>`, formatNumber(logits[id]!), formatNumber(Math.exp(logits[id]!) / z)]);
    });
    expect(r.stdout).toContain('logits    at position 7 (the last of 8 tokens), after token "<92>" (id 92)');
  });
});

describe("terminalWidth", () => {
  it("takes the terminal's columns, else $COLUMNS, else 80; a terminal reporting 0 columns is unknown", () => {
    const io = (columns: number | undefined, env: Record<string, string> = {}) => ({ stdout: { write: () => true, columns }, env });
    expect(terminalWidth(io(120))).toBe(120);
    expect(terminalWidth(io(0))).toBe(80);
    expect(terminalWidth(io(0, { COLUMNS: "100" }))).toBe(100);
    expect(terminalWidth(io(undefined, { COLUMNS: "0" }))).toBe(80);
    expect(terminalWidth(io(undefined, { COLUMNS: "wide" }))).toBe(80);
  });

  it("gim explain on a terminal of 0 columns wraps the heatmap at 80", async () => {
    const text = "When Mary and John went to the store, John gave a drink to";
    const r = await gim(["explain", text], { isTTY: true, columns: 0, env: {} });
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").map((l) => l.replace(/\x1b\[[0-9;]*m/g, ""));
    // Each method's heatmap on one line (the prompt fits in 80 columns), not one token per line.
    expect(lines).toContain(`gim       ${text}`);
    expect(lines).toContain(`gradient  ${text}`);
  });
});
