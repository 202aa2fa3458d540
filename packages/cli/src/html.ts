/**
 * `gim explain --html FILE`: the report as one self-contained HTML page (inline CSS, no
 * scripts, no external files) for slides and notes: the heatmaps of every method with each
 * value in its token's tooltip, and the table of values. The heatmaps are `@gim/report`'s,
 * the ones the web explorable shows. Every token text is escaped.
 */
import { cssColor, divergingColor, escapeXml, formatNumber, heatmapCss, heatmapHtml, heatmapLegendHtml, isDark, normalizeByMaxAbs } from "@gim/report";

/** What the page shows. */
export interface HtmlReport {
  /** The page title (the prompt, for instance). */
  readonly title: string;
  /** Lines under the title: model, target, baseline (plain text; escaped here). */
  readonly facts: readonly (readonly [string, string])[];
  /** The tokens as text, and their ids. */
  readonly tokens: readonly string[];
  readonly ids: readonly number[];
  /** One row per method. */
  readonly methods: readonly { readonly label: string; readonly values: readonly number[] }[];
  /** A closing note (what the methods are). */
  readonly note?: string;
}

const pageCss = `
body { font: 15px/1.5 system-ui, sans-serif; color: #111; margin: 2em auto; max-width: 70em; padding: 0 1.5em; }
h1 { font-size: 1.3em; margin: 0 0 0.6em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em; margin: 0 0 1.5em; font-size: 0.9em; }
dt { color: #555; }
dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
table { border-collapse: collapse; margin-top: 1.5em; font: 0.85em ui-monospace, "DejaVu Sans Mono", monospace; }
th, td { padding: 0.2em 0.7em; text-align: right; border-bottom: 1px solid #eee; }
th { font-family: system-ui, sans-serif; color: #444; }
td.token { text-align: left; white-space: pre; }
p.note { color: #555; font-size: 0.85em; margin-top: 1.5em; }
`;

/** The page: a complete HTML document. */
export function htmlReport(report: HtmlReport): string {
  const facts = report.facts.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(v)}</dd>`).join("");
  const scaled = report.methods.map((m) => normalizeByMaxAbs(m.values));
  const head = ["#", "token", "id", ...report.methods.map((m) => m.label)].map((h) => `<th>${escapeXml(h)}</th>`).join("");
  const rows = report.tokens.map((token, t) => {
    const cells = report.methods.map((m, i) => {
      const bg = divergingColor(scaled[i]![t]!);
      return `<td style="background:${cssColor(bg)};color:${isDark(bg) ? "#fff" : "#111"}" title="${m.values[t]}">${escapeXml(formatNumber(m.values[t]!))}</td>`;
    });
    return `<tr><td>${t}</td><td class="token">${escapeXml(JSON.stringify(token))}</td><td>${report.ids[t]}</td>${cells.join("")}</tr>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(report.title)}</title>
<style>${pageCss}${heatmapCss}</style>
</head>
<body>
<h1>${escapeXml(report.title)}</h1>
<dl>${facts}</dl>
${heatmapHtml(report.tokens, report.methods, report.ids)}
${heatmapLegendHtml()}
<table><thead><tr>${head}</tr></thead><tbody>${rows.join("\n")}</tbody></table>
${report.note ? `<p class="note">${escapeXml(report.note)}</p>` : ""}
</body>
</html>
`;
}
