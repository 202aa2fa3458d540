/** `gim explain --html FILE`: a self-contained page whose values are the --json attributions, every token escaped. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { htmlReport } from "../src/html.js";
import { gim, jsonLines } from "./helpers.js";

const prompt = "When Mary and John went to the store, John gave a drink to";

describe("gim explain --html", () => {
  it("writes the heatmaps of each method with the values --json prints, and no script", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-html-"));
    const r = await gim(["explain", prompt, "--html", "out.html"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${path.join(dir, "out.html")}`);
    expect(r.stdout).toContain("gradient"); // the terminal report is still printed
    const page = fs.readFileSync(path.join(dir, "out.html"), "utf8");
    expect(page.startsWith("<!doctype html>")).toBe(true);
    expect(page).not.toMatch(/<script|<link|src=/i);
    for (const method of ["gim", "gradient"]) {
      const json = jsonLines((await gim(["explain", prompt, "--json", "--method", method])).stdout)[0]!;
      const row = page.match(new RegExp(`data-label="${method}">(.*?)</div>`))![1]!;
      const values = [...row.matchAll(/data-value="([^"]+)"/g)].map((m) => Number(m[1]));
      expect(values).toEqual(json["attributions"]);
    }
    fs.rmSync(dir, { recursive: true });
  });

  it("escapes token texts, labels and facts", () => {
    const page = htmlReport({ title: "<b>x</b>", facts: [["a&b", "<i>"]], tokens: ["<script>", ' "q"'], ids: [1, 2], methods: [{ label: "<m>", values: [1, -1] }] });
    expect(page).not.toMatch(/<script>|<b>|<i>|<m>/);
    expect(page).toContain("&lt;script&gt;");
    expect(page).toContain("&lt;m&gt;");
  });

  it("a file that cannot be written is a one-line error (exit 1)", async () => {
    const r = await gim(["explain", prompt, "--html", "/nonexistent-dir/x.html"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot write --html \/nonexistent-dir\/x.html: ENOENT/);
  });
});
