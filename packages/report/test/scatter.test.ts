import { describe, expect, it } from "vitest";
import { scatterChartSvg, scatterLayout, type ScatterChart } from "../src/index.js";
import { checkXml } from "./xml.js";

/** The numeric attributes of every element `<name class="cls" ...>` in the SVG text. */
function elements(svg: string, name: string, cls: string): Record<string, number>[] {
  return [...svg.matchAll(new RegExp(`<${name} class="${cls}"([^>]*)/>`, "g"))].map((m) => Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="(-?[\d.]+)"/g)].map((a) => [a[1]!, Number(a[2])])));
}

describe("scatterChartSvg", () => {
  const chart: ScatterChart = {
    title: "joint < sum & more",
    xLabel: "sum",
    yLabel: "joint",
    diagonal: true,
    xMin: -1,
    xMax: 3,
    yMin: 0,
    yMax: 2,
    series: [
      { label: "rows", color: "#1f77b4", points: [[-1, -1], [3, 3], [1, 2], [Number.NaN, 1], [5, 0]] },
      { label: "top 5%", color: "#d62728", points: [[0, 0]] },
    ],
  };
  const svg = scatterChartSvg(chart);
  const L = scatterLayout(chart);

  it("shares one range between the axes with the y = x line, and draws it corner to corner", () => {
    expect(L.xRange).toEqual([-1, 3]);
    expect(L.yRange).toEqual([-1, 3]);
    const frame = [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="none"/g)][0]!.slice(1).map(Number);
    expect(frame[2]).toBe(frame[3]); // square
    const [d] = elements(svg, "line", "diagonal");
    expect(d).toEqual({ x1: frame[0], y1: frame[1]! + frame[3]!, x2: frame[0]! + frame[2]!, y2: frame[1] });
  });

  it("puts each finite point inside the axes at its coordinates and counts the others in the legend", () => {
    checkXml(svg);
    const points = elements(svg, "circle", "point");
    const expected = [[-1, -1], [3, 3], [1, 2], [0, 0]].map(([x, y]) => ({ cx: Number(L.x(x!).toFixed(1)), cy: Number(L.y(y!).toFixed(1)), r: 3, "fill-opacity": 0.7 }));
    expect(points).toEqual(expected);
    // (-1, -1) is the bottom-left corner, (3, 3) the top-right one; (1, 2) is above the diagonal.
    expect([points[0]!.cx, points[0]!.cy]).toEqual([L.left, L.top + L.side]);
    expect([points[1]!.cx, points[1]!.cy]).toEqual([L.left + L.side, L.top]);
    expect(points[2]!.cy).toBeLessThan(L.y(1));
    expect(svg).toContain("rows (3; 2 outside the axes or not finite)");
    expect(svg).toContain("top 5% (1)");
    expect(svg).toContain("joint &lt; sum &amp; more");
    expect(elements(svg, "circle", "legend")).toHaveLength(2);
  });

  it("takes ranges from the data (with 0) widened to round ticks when no bounds are given", () => {
    const auto = scatterLayout({ title: "", xLabel: "", yLabel: "", series: [{ label: "a", color: "#000", points: [[0.5, 7.5], [2.2, 1]] }] });
    expect(auto.xRange).toEqual([0, 2.5]);
    expect(auto.yRange).toEqual([0, 8]);
    const shared = scatterLayout({ title: "", xLabel: "", yLabel: "", diagonal: true, series: [{ label: "a", color: "#000", points: [[-3, 1], [2, 7.5]] }] });
    expect(shared.xRange).toEqual(shared.yRange);
    expect(shared.xRange[0]).toBeLessThanOrEqual(-3);
    expect(shared.xRange[1]).toBeGreaterThanOrEqual(7.5);
  });
});
