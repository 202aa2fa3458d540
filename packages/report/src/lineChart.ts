/**
 * A small hand-written SVG line chart: series of (x, y) points against a left axis and,
 * optionally, a right axis with its own range (e.g. loss on the left, accuracy 0..1 on the
 * right). Used for the faithfulness curves of `docs/results.md` and the loss curves of training.
 */

/** One plotted line. */
export interface LineSeries {
  readonly label: string;
  /** A CSS color (`#1f77b4`). */
  readonly color: string;
  /** [x, y] pairs in x order; non-finite y values break the line. */
  readonly points: readonly (readonly [number, number])[];
  /** Which axis the values belong to (default "left"). */
  readonly axis?: "left" | "right";
  /** Draw dashed. */
  readonly dashed?: boolean;
  /** Mark every point with a dot. */
  readonly markers?: boolean;
}

/** A value axis: its label and range (bounds left out are taken from the data and rounded). */
export interface ValueAxis {
  readonly label: string;
  readonly min?: number;
  readonly max?: number;
}

/** What {@link lineChartSvg} draws. */
export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  /** x range (default: the data's, from 0 when all x are non-negative). */
  readonly xMin?: number;
  readonly xMax?: number;
  readonly left: ValueAxis;
  readonly right?: ValueAxis;
  readonly series: readonly LineSeries[];
  /** Horizontal reference lines on the left axis (e.g. y = 0 and y = 1). */
  readonly guides?: readonly number[];
  /** Where the legend goes: inside the plot at a corner, or "outside" to its right (default: outside for more than 4 series, else top-right). */
  readonly legend?: "top-right" | "bottom-right" | "top-left" | "bottom-left" | "outside";
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 64, top: 36, bottom: 48 };

/** A palette of distinguishable colors (Tableau 10). */
export const palette: readonly string[] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Text safe inside SVG elements and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round tick values (1, 2 or 5 times a power of ten) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** The range of an axis: given bounds, else the data's (and 0) widened to round ticks. */
export function axisRange(values: readonly number[], axis: ValueAxis | undefined): [number, number] {
  const finite = values.filter(Number.isFinite);
  let lo = axis?.min ?? Math.min(0, ...finite);
  let hi = axis?.max ?? Math.max(...(finite.length ? finite : [1]));
  if (!(hi > lo)) hi = lo + 1;
  const ticks = niceTicks(lo, hi);
  if (axis?.min === undefined) lo = Math.min(lo, ticks[0]!);
  if (axis?.max === undefined) {
    const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
    if (ticks[ticks.length - 1]! < hi) hi = ticks[ticks.length - 1]! + step;
  }
  return [lo, hi];
}

/** A tick label: integers as they are, others to 3 significant digits. */
export function formatTick(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(3)).toString();
}

/** The SVG text of a line chart (640 x 360, wider with the legend outside; white background). */
export function lineChartSvg(chart: LineChart): string {
  const legend = chart.legend ?? (chart.series.length > 4 ? "outside" : "top-right");
  // A box wide enough for the longest label (about 7 px a character at 12 px), behind the entries.
  const boxWidth = 40 + 7 * Math.max(0, ...chart.series.map((s) => s.label.length));
  const fullWidth = legend === "outside" ? WIDTH + boxWidth + 8 : WIDTH;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMin = chart.xMin ?? Math.min(0, ...xs);
  const xMax = chart.xMax ?? Math.max(xMin + 1, ...xs);
  const valuesOf = (axis: "left" | "right") => chart.series.filter((s) => (s.axis ?? "left") === axis).flatMap((s) => s.points.map((p) => p[1]));
  const [lMin, lMax] = axisRange([...valuesOf("left"), ...(chart.guides ?? [])], chart.left);
  const [rMin, rMax] = chart.right ? axisRange(valuesOf("right"), chart.right) : [0, 1];
  const bottom = MARGIN.top + plotH;
  const right = MARGIN.left + plotW;
  const x = (v: number) => MARGIN.left + ((v - xMin) / (xMax - xMin)) * plotW;
  const clampY = (v: number) => Math.min(bottom, Math.max(MARGIN.top, v));
  const yLeft = (v: number) => clampY(bottom - ((v - lMin) / (lMax - lMin)) * plotH);
  const yRight = (v: number) => clampY(bottom - ((v - rMin) / (rMax - rMin)) * plotH);
  const f1 = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${fullWidth}" height="${HEIGHT}" viewBox="0 0 ${fullWidth} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${fullWidth}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(chart.title)}</text>`);
  for (const t of niceTicks(xMin, xMax, 6)) {
    parts.push(`<line x1="${f1(x(t))}" y1="${MARGIN.top}" x2="${f1(x(t))}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${f1(x(t))}" y="${bottom + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of niceTicks(lMin, lMax)) {
    parts.push(`<line x1="${MARGIN.left}" y1="${f1(yLeft(t))}" x2="${right}" y2="${f1(yLeft(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${f1(yLeft(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  if (chart.right) {
    for (const t of niceTicks(rMin, rMax)) parts.push(`<text x="${right + 6}" y="${f1(yRight(t) + 4)}" text-anchor="start">${formatTick(t)}</text>`);
  }
  for (const g of chart.guides ?? []) {
    if (g >= lMin && g <= lMax) parts.push(`<line x1="${MARGIN.left}" y1="${f1(yLeft(g))}" x2="${right}" y2="${f1(yLeft(g))}" stroke="#999" stroke-dasharray="2 3"/>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.left.label)}</text>`);
  if (chart.right) parts.push(`<text transform="translate(${WIDTH - 14} ${MARGIN.top + plotH / 2}) rotate(90)" text-anchor="middle">${escapeXml(chart.right.label)}</text>`);
  for (const s of chart.series) {
    const y = (s.axis ?? "left") === "left" ? yLeft : yRight;
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : "";
    // Non-finite values break the line into pieces.
    let d = "";
    let pen = false;
    for (const [px, py] of s.points) {
      if (!Number.isFinite(py) || !Number.isFinite(px)) {
        pen = false;
        continue;
      }
      d += `${d ? " " : ""}${pen ? "L" : "M"}${f1(x(px))},${f1(y(py))}`;
      pen = true;
    }
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.5"${dash}/>`);
    if (s.markers) {
      for (const [px, py] of s.points) {
        if (Number.isFinite(px) && Number.isFinite(py)) parts.push(`<circle cx="${f1(x(px))}" cy="${f1(y(py))}" r="2.5" fill="${escapeXml(s.color)}"/>`);
      }
    }
  }
  const lx = legend === "outside" ? WIDTH + 2 : legend.endsWith("right") ? right - boxWidth - 2 : MARGIN.left + 12;
  const ly0 = legend === "outside" || legend.startsWith("top") ? MARGIN.top + 16 : bottom - 8 - 16 * (chart.series.length - 1);
  if (chart.series.length > 0) {
    parts.push(`<rect x="${lx - 6}" y="${ly0 - 14}" width="${boxWidth}" height="${16 * chart.series.length + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`);
  }
  chart.series.forEach((s, i) => {
    const ly = ly0 + i * 16;
    parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${escapeXml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    parts.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(s.label)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
