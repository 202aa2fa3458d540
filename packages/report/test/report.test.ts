import { describe, expect, it } from "vitest";
import { formatDuration, lineChartSvg, niceTicks } from "../src/index.js";
import { checkXml } from "./xml.js";

describe("lineChartSvg", () => {
  it("breaks lines at non-finite values and escapes labels", () => {
    const svg = lineChartSvg({
      title: "a < b & c",
      xLabel: "k",
      left: { label: "f" },
      right: { label: "acc", min: 0, max: 1 },
      guides: [0, 1],
      series: [
        { label: "one", color: "#000", points: [[0, 1], [1, Number.NaN], [2, 3], [3, 4]] },
        { label: "two \"quoted\"", color: "#f00", axis: "right", markers: true, points: [[0, 0.5], [3, 0.25]] },
      ],
    });
    checkXml(svg);
    expect(svg).toContain("a &lt; b &amp; c");
    const paths = [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]!);
    expect(paths[0]!.match(/M/g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(2);
  });

  it("picks round ticks", () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.5, 1, 5)).toEqual([0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(niceTicks(-3, 7, 5)).toEqual([-2, 0, 2, 4, 6]);
  });
});

describe("formatDuration", () => {
  it("gives tenths under a minute, whole seconds and minutes above, and never 60 seconds", () => {
    expect([42.13, 59.94, 59.96, 119.6, 185, 3725, 3599.6].map(formatDuration)).toEqual(["42.1s", "59.9s", "1m00s", "2m00s", "3m05s", "1h02m", "1h00m"]);
    expect([Number.NaN, -1, Infinity].map(formatDuration)).toEqual(["?", "?", "?"]);
  });
});
