/**
 * A small hand-written SVG scatter chart: groups of (x, y) points as dots on a square plot,
 * optionally with the y = x line (both axes then share one range, so the line is the
 * diagonal). Used for the self-repair protocol's plots in `docs/results.md`: the joint
 * ablation effect against the sum of the single ones, and TSG against the plain gradient.
 */
import { axisRange, escapeXml, formatTick, niceTicks } from "./lineChart.js";

/** One group of points, drawn in one colour. */
export interface ScatterSeries {
  readonly label: string;
  /** A CSS color (`#1f77b4`). */
  readonly color: string;
  /** [x, y] pairs; points with a non-finite coordinate are left out (and counted in the legend). */
  readonly points: readonly (readonly [number, number])[];
  /** Dot radius in pixels (default 3). */
  readonly radius?: number;
}

/** What {@link scatterChartSvg} draws. */
export interface ScatterChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ScatterSeries[];
  /** Draw the y = x line, dashed; x and y then share one range (default false). */
  readonly diagonal?: boolean;
  /** Axis ranges (bounds left out are taken from the data, with 0, widened to round ticks). */
  readonly xMin?: number;
  readonly xMax?: number;
  readonly yMin?: number;
  readonly yMax?: number;
}

/** Where a scatter chart's plot area sits and how values map to pixels. */
export interface ScatterLayout {
  readonly width: number;
  readonly height: number;
  /** The plot area: left, top, and its side (it is square). */
  readonly left: number;
  readonly top: number;
  readonly side: number;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
  /** Pixel x of a value on the x axis, and pixel y of a value on the y axis (not clamped). */
  x(v: number): number;
  y(v: number): number;
}

const SIDE = 380;
const MARGIN = { left: 64, right: 24, top: 36, bottom: 48 };

/** The layout of a chart: the axis ranges from its data and bounds, and the value-to-pixel maps. */
export function scatterLayout(chart: ScatterChart): ScatterLayout {
  const finite = chart.series.flatMap((s) => s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)));
  let xRange = axisRange(finite.map((p) => p[0]), { label: "", ...(chart.xMin !== undefined ? { min: chart.xMin } : {}), ...(chart.xMax !== undefined ? { max: chart.xMax } : {}) });
  let yRange = axisRange(finite.map((p) => p[1]), { label: "", ...(chart.yMin !== undefined ? { min: chart.yMin } : {}), ...(chart.yMax !== undefined ? { max: chart.yMax } : {}) });
  if (chart.diagonal) {
    const shared: [number, number] = [Math.min(xRange[0], yRange[0]), Math.max(xRange[1], yRange[1])];
    xRange = shared;
    yRange = shared;
  }
  const [x0, x1] = xRange;
  const [y0, y1] = yRange;
  const left = MARGIN.left;
  const top = MARGIN.top;
  return {
    width: MARGIN.left + SIDE + MARGIN.right,
    height: MARGIN.top + SIDE + MARGIN.bottom,
    left,
    top,
    side: SIDE,
    xRange,
    yRange,
    x: (v) => left + ((v - x0) / (x1 - x0)) * SIDE,
    y: (v) => top + SIDE - ((v - y0) / (y1 - y0)) * SIDE,
  };
}

/** The SVG text of a scatter chart (square plot area; white background; legend at the top left). */
export function scatterChartSvg(chart: ScatterChart): string {
  const L = scatterLayout(chart);
  const bottom = L.top + L.side;
  const right = L.left + L.side;
  const f1 = (v: number) => v.toFixed(1);
  const inside = (px: number, py: number) => px >= L.xRange[0] && px <= L.xRange[1] && py >= L.yRange[0] && py <= L.yRange[1];
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${L.width}" height="${L.height}" fill="white"/>`);
  parts.push(`<text x="${L.width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(chart.title)}</text>`);
  for (const t of niceTicks(L.xRange[0], L.xRange[1], 6)) {
    parts.push(`<line x1="${f1(L.x(t))}" y1="${L.top}" x2="${f1(L.x(t))}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${f1(L.x(t))}" y="${bottom + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of niceTicks(L.yRange[0], L.yRange[1], 6)) {
    parts.push(`<line x1="${L.left}" y1="${f1(L.y(t))}" x2="${right}" y2="${f1(L.y(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${L.left - 6}" y="${f1(L.y(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  parts.push(`<rect x="${L.left}" y="${L.top}" width="${L.side}" height="${L.side}" fill="none" stroke="#333"/>`);
  if (chart.diagonal) {
    const [lo, hi] = L.xRange;
    parts.push(`<line class="diagonal" x1="${f1(L.x(lo))}" y1="${f1(L.y(lo))}" x2="${f1(L.x(hi))}" y2="${f1(L.y(hi))}" stroke="#333" stroke-dasharray="5 3"/>`);
  }
  parts.push(`<text x="${L.left + L.side / 2}" y="${L.height - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${L.top + L.side / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  const labels: string[] = [];
  for (const s of chart.series) {
    let shown = 0;
    for (const [px, py] of s.points) {
      if (!(Number.isFinite(px) && Number.isFinite(py)) || !inside(px, py)) continue;
      parts.push(`<circle class="point" cx="${f1(L.x(px))}" cy="${f1(L.y(py))}" r="${s.radius ?? 3}" fill="${escapeXml(s.color)}" fill-opacity="0.7"/>`);
      shown++;
    }
    const hidden = s.points.length - shown;
    labels.push(`${s.label} (${shown}${hidden > 0 ? `; ${hidden} outside the axes or not finite` : ""})`);
  }
  if (chart.series.length > 0) {
    const boxWidth = 34 + 7 * Math.max(...labels.map((l) => l.length));
    const lx = L.left + 12;
    const ly0 = L.top + 16;
    parts.push(`<rect x="${lx - 6}" y="${ly0 - 14}" width="${boxWidth}" height="${16 * labels.length + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`);
    chart.series.forEach((s, i) => {
      const ly = ly0 + i * 16;
      parts.push(`<circle class="legend" cx="${lx + 8}" cy="${ly - 4}" r="4" fill="${escapeXml(s.color)}"/>`);
      parts.push(`<text x="${lx + 20}" y="${ly}">${escapeXml(labels[i]!)}</text>`);
    });
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
