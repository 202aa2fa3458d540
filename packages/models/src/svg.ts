/**
 * A small hand-written SVG line plot of a training run: loss against step (left axis) and
 * accuracies against step (right axis, 0 to 1).
 */

/** One plotted series. */
export interface Series {
  readonly label: string;
  readonly color: string;
  /** [step, value] pairs, in step order. */
  readonly points: readonly (readonly [number, number])[];
  /** Which axis the values belong to. */
  readonly axis: "loss" | "accuracy";
  /** Draw dashed. */
  readonly dashed?: boolean;
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 60, right: 60, top: 56, bottom: 48 };

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Round tick values: 1, 2 or 5 times a power of ten, about `count` of them from 0 to at least max.
function ticks(max: number, count: number): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let i = 0; out.length === 0 || out[out.length - 1]! < max - step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

function format(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(3).replace(/\.?0+$/, "");
}

/** The SVG text of a plot of `series` with the given title. Loss starts at 0; accuracy spans 0 to 1. */
export function trainingCurveSvg(title: string, series: readonly Series[]): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const all = series.flatMap((s) => s.points);
  const stepTicks = ticks(Math.max(1, ...all.map((p) => p[0])), 6);
  const maxStep = stepTicks[stepTicks.length - 1]!;
  const lossValues = series.filter((s) => s.axis === "loss").flatMap((s) => s.points.map((p) => p[1]));
  const lossTicks = ticks(Math.max(1e-6, ...lossValues.filter(Number.isFinite)), 5);
  const maxLoss = lossTicks[lossTicks.length - 1]!;
  const x = (step: number) => MARGIN.left + (step / maxStep) * plotW;
  const yLoss = (v: number) => MARGIN.top + plotH - (Math.min(v, maxLoss) / maxLoss) * plotH;
  const yAcc = (v: number) => MARGIN.top + plotH - v * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`);
  // Grid and axes.
  const bottom = MARGIN.top + plotH;
  const right = MARGIN.left + plotW;
  for (const t of stepTicks) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${MARGIN.top}" x2="${x(t).toFixed(1)}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${format(t)}</text>`);
  }
  for (const t of lossTicks) {
    parts.push(`<line x1="${MARGIN.left}" y1="${yLoss(t).toFixed(1)}" x2="${right}" y2="${yLoss(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${(yLoss(t) + 4).toFixed(1)}" text-anchor="end">${format(t)}</text>`);
  }
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${right + 6}" y="${(yAcc(t) + 4).toFixed(1)}" text-anchor="start">${format(t)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">training step</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">loss (cross-entropy, nats)</text>`);
  parts.push(`<text transform="translate(${WIDTH - 14} ${MARGIN.top + plotH / 2}) rotate(90)" text-anchor="middle">accuracy</text>`);
  // Lines.
  for (const s of series) {
    if (s.points.length === 0) continue;
    const y = s.axis === "loss" ? yLoss : yAcc;
    const d = s.points.map(([step, v], i) => `${i === 0 ? "M" : "L"}${x(step).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
  }
  // Legend: one row between the title and the plot.
  const slot = plotW / Math.max(1, series.length);
  series.forEach((s, i) => {
    const ly = MARGIN.top - 10;
    const lx = MARGIN.left + i * slot;
    parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`);
    parts.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(s.label)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
