/**
 * Token heatmaps as HTML: each token of a prompt on a background colored by its attribution
 * (red positive, white zero, blue negative; each row scaled by its own largest |value|), with
 * the exact value in the token's tooltip and `data-value`. The terminal heatmap of `gim
 * explain`, the self-contained page of `gim explain --html` and the web explorable all color
 * with {@link divergingColor}, so a token reads the same everywhere.
 */
import { escapeXml } from "./lineChart.js";

/** A color as red, green, blue in 0..255. */
export type Rgb = readonly [number, number, number];

// Ends of the diverging scale: blue for negative, white at zero, red for positive
// (ColorBrewer RdBu ends, so the scale reads the same as in the usual plotting tools).
const NEGATIVE: Rgb = [33, 102, 172];
const ZERO: Rgb = [247, 247, 247];
const POSITIVE: Rgb = [178, 24, 43];

/** The color of a value in [-1, 1] (clamped): blue below zero, white at zero, red above. */
export function divergingColor(v: number): Rgb {
  const t = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
  const end = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(t);
  return [0, 1, 2].map((i) => Math.round(ZERO[i]! + (end[i]! - ZERO[i]!) * a)) as unknown as Rgb;
}

/** True when black text is hard to read on `rgb` (relative luminance, Rec. 709 weights). */
export function isDark(rgb: Rgb): boolean {
  return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 140;
}

/** `rgb(r, g, b)` for CSS. */
export function cssColor(rgb: Rgb): string {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/** Values divided by the largest |value| (all zeros stay zeros): the per-method normalisation. */
export function normalizeByMaxAbs(values: readonly number[]): number[] {
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  return values.map((v) => (max > 0 && Number.isFinite(v) ? v / max : 0));
}

/** A number for tables: 4 significant digits, no `-0`. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e-4 && a < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** A token as it reads inside running text: line breaks and tabs shown as `↵` and `→`, other controls escaped. */
export function inlineToken(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\n") out += "↵";
    else if (ch === "\t") out += "→";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f || /[\p{Cf}\p{Zl}\p{Zp}]/u.test(ch)) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return out;
}

/** One row of a heatmap: a label and one value per token. */
export interface HeatmapRow {
  readonly label: string;
  readonly values: readonly number[];
}

/**
 * A heatmap as an HTML fragment: one row per method, its label, then the tokens as running
 * text, each a `span.gim-token` on its color with `data-value` (the exact value), `data-index`
 * and a tooltip `#t "token" id: value`. Every token text is escaped. Style it with
 * {@link heatmapCss}.
 */
export function heatmapHtml(tokens: readonly string[], rows: readonly HeatmapRow[], ids?: readonly number[]): string {
  const lines = rows.map((row) => {
    if (row.values.length !== tokens.length) throw new Error(`heatmap row "${row.label}" has ${row.values.length} values for ${tokens.length} tokens`);
    const scaled = normalizeByMaxAbs(row.values);
    const spans = tokens.map((token, t) => {
      const bg = divergingColor(scaled[t]!);
      const tip = `#${t} ${JSON.stringify(token)}${ids ? ` (id ${ids[t]})` : ""}: ${row.values[t]}`;
      const style = `background:${cssColor(bg)};color:${isDark(bg) ? "#fff" : "#111"}`;
      return `<span class="gim-token" style="${style}" data-index="${t}" data-value="${row.values[t]}" title="${escapeXml(tip)}">${escapeXml(inlineToken(token))}</span>`;
    });
    return `<div class="gim-heatmap-row" data-label="${escapeXml(row.label)}"><span class="gim-heatmap-label">${escapeXml(row.label)}</span><span class="gim-heatmap-tokens">${spans.join("")}</span></div>`;
  });
  return `<div class="gim-heatmap">${lines.join("")}</div>`;
}

/** The scale under a heatmap: -max, the colors, +max (each row scaled by its own largest |value|). */
export function heatmapLegendHtml(): string {
  const stops = [-1, -0.5, 0, 0.5, 1].map((v) => cssColor(divergingColor(v))).join(", ");
  return `<div class="gim-heatmap-legend"><span>−max</span><span class="gim-heatmap-scale" style="background:linear-gradient(to right, ${stops})"></span><span>+max</span><span class="gim-heatmap-note">each row scaled by its own largest |value|</span></div>`;
}

/** The CSS of {@link heatmapHtml} and {@link heatmapLegendHtml}. */
export const heatmapCss = `
.gim-heatmap { display: grid; gap: 0.5em; }
.gim-heatmap-row { display: grid; grid-template-columns: 11em 1fr; align-items: baseline; gap: 0.75em; }
.gim-heatmap-label { font: 600 0.85em system-ui, sans-serif; color: #444; text-align: right; }
.gim-heatmap-tokens { font: 1.05em/1.9 ui-monospace, "DejaVu Sans Mono", monospace; }
.gim-token { white-space: pre; padding: 0.15em 0; border-radius: 3px; box-decoration-break: clone; -webkit-box-decoration-break: clone; }
.gim-heatmap-legend { display: flex; align-items: center; gap: 0.5em; font: 0.8em system-ui, sans-serif; color: #555; margin-top: 0.5em; }
.gim-heatmap-scale { display: inline-block; width: 10em; height: 0.9em; border: 1px solid #ccc; border-radius: 2px; }
.gim-heatmap-note { margin-left: 0.75em; }
`;
