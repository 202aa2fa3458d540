/** Markdown formatting shared by the report's sections: numbers, tables, method names and colours. */
import { palette } from "@gim/report";
import type { MeanStat } from "../stats.js";
import type { EvalMethod } from "../task.js";

/** How each method is named in the report. */
export const methodLabels: Readonly<Record<EvalMethod, string>> = {
  gradient: "gradient × input",
  gim: "GIM",
  freezeNorm: "GIM: norm freeze only",
  softmaxTemperature: "GIM: TSG only (T = 2)",
  qkvScale: "GIM: q/k/v scale only",
  gateUpScale: "GIM: gate/up scale only",
  integratedGradients: "integrated gradients",
  occlusion: "occlusion",
  random: "random ranking",
};

/** A number with 3 significant decimals, `–` when not finite. */
export function formatValue(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return "–";
  return (v + 0).toFixed(digits);
}

export function formatStat(s: MeanStat): string {
  if (s.count === 0) return "–";
  return Number.isFinite(s.se) ? `${formatValue(s.mean)} ± ${formatValue(s.se)}` : formatValue(s.mean);
}

/** A mean difference with a sign and its standard error: `+0.012 ± 0.004`. */
export function formatSigned(s: MeanStat): string {
  if (s.count === 0 || !Number.isFinite(s.mean)) return "–";
  const sign = s.mean > 0 ? "+" : s.mean < 0 ? "−" : "±";
  const body = `${sign}${formatValue(Math.abs(s.mean))}`;
  return Number.isFinite(s.se) ? `${body} ± ${formatValue(s.se)}` : body;
}

export function percent(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–";
}

export function table(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ("l" | "r")[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  // A "|" inside a cell would end it: escape it.
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** Marks the best value of a column in bold (largest or smallest), ties included. */
export function boldBest(cells: string[], values: readonly number[], best: "max" | "min"): string[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return cells;
  const target = best === "max" ? Math.max(...finite) : Math.min(...finite);
  return cells.map((c, i) => (values[i] === target ? `**${c}**` : c));
}

export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

export function methodColor(method: string, index: number): string {
  const fixed: Record<string, string> = { gradient: "#1f77b4", gim: "#d62728", exact: "#2ca02c", random: "#7f7f7f" };
  return fixed[method] ?? palette[(index + 3) % palette.length]!;
}

/** The report's markdown and plots. */
