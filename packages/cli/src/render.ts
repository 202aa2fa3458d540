/**
 * Terminal output: a diverging red/blue heatmap of token attributions (one line block per
 * method), aligned tables, and the helpers they need (color detection, visible whitespace,
 * display width). Nothing here computes attributions.
 */
import { divergingColor, inlineToken, isDark, normalizeByMaxAbs, type HeatmapRow, type Rgb } from "@gim/report";
import { InputError } from "@gim/tensor";

// The colors, numbers and token texts the HTML heatmaps share live in @gim/report.
export { divergingColor, formatNumber, inlineToken, normalizeByMaxAbs, type HeatmapRow, type Rgb } from "@gim/report";

/** How colors are written: 24-bit, the xterm 256-color palette, or not at all. */
export type ColorMode = "truecolor" | "256" | "none";

/**
 * The color mode for an output stream. `NO_COLOR` (set and not empty) turns colors off;
 * `FORCE_COLOR` (set, not "0" or "false") turns them on even when the stream is not a
 * terminal; otherwise colors are used only on a terminal that is not `TERM=dumb`.
 * `COLORTERM=truecolor|24bit` (or `FORCE_COLOR=3`) selects 24-bit colors.
 */
export function detectColorMode(env: Readonly<Record<string, string | undefined>>, isTTY: boolean): ColorMode {
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return "none";
  const force = env["FORCE_COLOR"];
  const forced = force !== undefined && force !== "0" && force !== "false";
  if (!forced && (!isTTY || env["TERM"] === "dumb")) return "none";
  const colorterm = (env["COLORTERM"] ?? "").toLowerCase();
  return force === "3" || colorterm === "truecolor" || colorterm === "24bit" ? "truecolor" : "256";
}

const CUBE_LEVELS = [0, 95, 135, 175, 215, 255];

/** The nearest color of the xterm 256-color 6x6x6 cube (indices 16..231). */
export function xterm256(rgb: Rgb): number {
  const level = (c: number) => {
    let best = 0;
    for (let i = 1; i < CUBE_LEVELS.length; i++) if (Math.abs(CUBE_LEVELS[i]! - c) < Math.abs(CUBE_LEVELS[best]! - c)) best = i;
    return best;
  };
  return 16 + 36 * level(rgb[0]) + 6 * level(rgb[1]) + level(rgb[2]);
}

/** The color of an index of the xterm 6x6x6 cube (16..231). */
export function xterm256Rgb(index: number): Rgb {
  const i = index - 16;
  if (!Number.isInteger(i) || i < 0 || i >= 216) throw new InputError(`${index} is not an index of the xterm color cube (16..231)`);
  return [CUBE_LEVELS[Math.floor(i / 36)]!, CUBE_LEVELS[Math.floor(i / 6) % 6]!, CUBE_LEVELS[i % 6]!];
}

const RESET = "\x1b[0m";

/** `text` on the background color of value `v` in [-1, 1], with black or white text for contrast. */
export function paint(text: string, v: number, mode: ColorMode): string {
  if (mode === "none") return text;
  const wanted = divergingColor(v);
  const index = xterm256(wanted);
  // The color actually shown (the palette's, in 256-color mode) decides black or white text,
  // by relative luminance (Rec. 709 weights).
  const bg = mode === "truecolor" ? wanted : xterm256Rgb(index);
  const fg = isDark(bg) ? "97" : "30";
  const back = mode === "truecolor" ? `48;2;${bg[0]};${bg[1]};${bg[2]}` : `48;5;${index}`;
  return `\x1b[${fg};${back}m${text}${RESET}`;
}

const ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * A token's text with whitespace made visible: a space is `␣`, newline, return and tab are
 * `\n`, `\r`, `\t`, other control characters `\xNN` or `\u{...}`. An empty token is `∅`.
 */
export function visibleWhitespace(text: string): string {
  if (text === "") return "∅";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === " ") out += "␣";
    else if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (/[\p{Zs}\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(ch)) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return out;
}

/**
 * Terminal columns a string takes: wide East Asian characters and emoji count 2, combining
 * marks and zero-width characters 0, everything else 1. ANSI escape sequences count 0.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text.replace(/\x1b\[[0-9;]*m/g, "")) {
    if (/[\p{Mn}\p{Me}\p{Cf}]/u.test(ch)) continue;
    width += isWide(ch.codePointAt(0)!) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

/** A table column. */
export interface Column {
  readonly header: string;
  /** Numbers and ids right-aligned; text left-aligned. */
  readonly align: "left" | "right";
}

/**
 * An aligned table: a header row, a rule, and the rows. Cells may hold ANSI colors (their
 * width is measured without them); `paintCell(row, column, padded)` may color a padded cell.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], paintCell?: (row: number, column: number, padded: string) => string): string {
  const widths = columns.map((c, j) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[j] ?? ""))));
  const pad = (text: string, j: number) => {
    const fill = " ".repeat(widths[j]! - displayWidth(text));
    return columns[j]!.align === "right" ? fill + text : text + fill;
  };
  const lines = [columns.map((c, j) => pad(c.header, j)).join("  ").trimEnd(), widths.map((w) => "─".repeat(w)).join("  ")];
  rows.forEach((row, i) => {
    const cells = columns.map((_, j) => {
      const padded = pad(row[j] ?? "", j);
      return paintCell ? paintCell(i, j, padded) : padded;
    });
    lines.push(cells.join("  ").trimEnd());
  });
  return lines.join("\n") + "\n";
}


/**
 * The tokens as running text, once per row, each token on the background color of its
 * value divided by the row's max |value| (red positive, blue negative). Lines wrap at
 * `width` columns, continuing under the first token. In color mode "none" the heatmap
 * cannot be shown and the result is "" (the table carries the numbers). `separator` goes
 * uncolored between tokens (for ids, which do not read as running text).
 */
export function renderHeatmap(tokens: readonly string[], rows: readonly HeatmapRow[], mode: ColorMode, width = 80, separator = ""): string {
  if (mode === "none" || rows.length === 0) return "";
  const labelWidth = Math.max(...rows.map((r) => displayWidth(r.label)));
  const indent = labelWidth + 2;
  const room = Math.max(16, width - indent);
  const shown = tokens.map(inlineToken);
  let out = "";
  for (const row of rows) {
    const scaled = normalizeByMaxAbs(row.values);
    let line = row.label.padEnd(labelWidth) + "  ";
    let used = 0;
    shown.forEach((token, t) => {
      const w = displayWidth(token);
      const gap = used > 0 ? displayWidth(separator) : 0;
      if (used > 0 && used + gap + w > room) {
        out += line + "\n";
        line = " ".repeat(indent);
        used = 0;
      } else if (used > 0) {
        line += separator;
        used += gap;
      }
      line += paint(token, scaled[t]!, mode);
      used += w;
    });
    out += line + "\n";
  }
  return out + legend(mode) + "\n";
}

/** The color scale, from -max to +max. */
export function legend(mode: ColorMode): string {
  if (mode === "none") return "";
  const steps = [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1];
  return `scale: -max ${steps.map((v) => paint("  ", v, mode)).join("")} +max (per method)`;
}
