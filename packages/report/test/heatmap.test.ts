import { describe, expect, it } from "vitest";
import { divergingColor, heatmapHtml, normalizeByMaxAbs } from "../src/index.js";

describe("heatmapHtml", () => {
  it("colors each token by its value over the row's largest |value|, with the exact value in data-value", () => {
    const html = heatmapHtml(["a", " b", "c"], [{ label: "gim", values: [2, -4, 0] }], [7, 8, 9]);
    const spans = [...html.matchAll(/<span class="gim-token" style="background:rgb\((\d+), (\d+), (\d+)\)[^"]*" data-index="(\d)" data-value="([^"]+)" title="([^"]+)">([^<]*)<\/span>/g)];
    expect(spans.map((m) => Number(m[5]))).toEqual([2, -4, 0]);
    expect(spans.map((m) => m.slice(1, 4).map(Number))).toEqual(normalizeByMaxAbs([2, -4, 0]).map((v) => [...divergingColor(v)]));
    expect(spans.map((m) => m[7])).toEqual(["a", " b", "c"]);
    expect(spans[1]![6]).toBe("#1 &quot; b&quot; (id 8): -4");
  });

  it("escapes every token and label, and refuses a row of the wrong length", () => {
    const html = heatmapHtml(["<img src=x>", "&"], [{ label: '"><b>', values: [1, 1] }]);
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain("&lt;img src=x&gt;");
    expect(() => heatmapHtml(["a"], [{ label: "gim", values: [1, 2] }])).toThrow(/2 values for 1 tokens/);
  });
});
