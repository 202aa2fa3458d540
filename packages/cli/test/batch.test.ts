/** `gim explain --batch FILE` (JSON Lines in and out) and the contrastive target (--foil). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gim, jsonLines } from "./helpers.js";

const prompt = "When Mary and John went to the store, John gave a drink to";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gim-batch-"));
afterAll(() => fs.rmSync(dir, { recursive: true }));

/** Writes `lines` as a batch file in the test folder and returns its name. */
function batchFile(name: string, lines: readonly string[]): string {
  fs.writeFileSync(path.join(dir, name), lines.join("\n"));
  return name;
}

describe("gim explain --foil", () => {
  it("explains logit[target] - logit[foil]: the attributions are those of the target minus those of the foil", async () => {
    const one = async (...extra: string[]) => jsonLines((await gim(["explain", prompt, "--json", "--baseline-id", "0", ...extra])).stdout)[0]!;
    const contrast = await one("--target", " Mary", "--foil", " John");
    const mary = await one("--target", " Mary");
    const john = await one("--target", " John");
    expect(contrast["foil"]).toBe(john["target"]);
    expect(contrast["foilLogit"]).toBe(john["logit"]);
    const want = (mary["attributions"] as number[]).map((a, t) => a - (john["attributions"] as number[])[t]!);
    (contrast["attributions"] as number[]).forEach((a, t) => expect(a).toBeCloseTo(want[t]!, 5));
  });

  it("says what the report explains, and refuses a foil equal to the target", async () => {
    const r = await gim(["explain", prompt, "--foil", " John"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/foil +" John" \(id \d+\), logit .*: attributions explain logit\[target\] - logit\[foil\]/);
    const same = await gim(["explain", prompt, "--target", " Mary", "--foil", " Mary"]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/^gim: explain: the foil token id \d+ is the target itself/);
    const both = await gim(["explain", prompt, "--foil", " John", "--foil-id", "3"]);
    expect(both.stderr).toMatch(/give either --foil or --foil-id, not both/);
  });
});

describe("gim explain --batch", () => {
  it("prints one JSON line per input line and method, each equal to the single explanation", async () => {
    const file = batchFile("ok.jsonl", [
      JSON.stringify({ text: prompt }),
      "",
      JSON.stringify({ text: prompt, target: " John", foil: " Mary", position: -1 }),
      JSON.stringify({ ids: [5, 17, 3], target: 42, baseline: 0 }),
    ]);
    const r = await gim(["explain", "--batch", file, "--method", "gim,gradient"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = jsonLines(r.stdout);
    expect(out.map((o) => [o["line"], o["method"]])).toEqual([[1, "gim"], [1, "gradient"], [3, "gim"], [3, "gradient"], [4, "gim"], [4, "gradient"]]);
    const singles = [
      ["explain", prompt],
      ["explain", prompt, "--target", " John", "--foil", " Mary"],
      ["explain", "--ids", "5,17,3", "--target-id", "42", "--baseline-id", "0"],
    ];
    for (const [i, argv] of singles.entries()) {
      const alone = jsonLines((await gim([...argv, "--json", "--method", "gim,gradient"])).stdout);
      expect(out.slice(2 * i, 2 * i + 2).map(({ line, ...rest }) => rest)).toEqual(alone);
    }
  });

  it("refuses bad lines before any work, naming the file and line", async () => {
    const cases: [string[], RegExp][] = [
      [["{\"text\": \"a\"}", "not json"], /bad1\.jsonl:2: not JSON/],
      [["[1, 2]"], /bad2\.jsonl:1: expected a JSON object/],
      [["{\"text\": \"a\", \"ids\": [1]}"], /bad3\.jsonl:1: give exactly one of "text" and "ids"/],
      [["{\"ids\": [1], \"colour\": 1}"], /bad4\.jsonl:1: unknown key "colour"/],
      [["{\"ids\": [1, 99999]}"], /bad5\.jsonl:1 "ids": .*99999/],
      [["{\"text\": \"a\", \"target\": \" Mary and\"}"], /bad6\.jsonl:1: "target" " Mary and" encodes to 2 tokens/],
      [["{\"ids\": [1, 2], \"position\": 1.5}"], /bad7\.jsonl:1: "position" must be an integer/],
      [["", "  "], /bad8\.jsonl holds no predictions/],
      [["{\"ids\": [1, 2], \"position\": 7}"], /bad9\.jsonl:1: .*position/],
    ];
    for (const [i, [lines, message]] of cases.entries()) {
      const r = await gim(["explain", "--batch", batchFile(`bad${i + 1}.jsonl`, lines)], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
    const missing = await gim(["explain", "--batch", "nowhere.jsonl"], { cwd: dir });
    expect(missing.stderr).toMatch(/--batch .*nowhere\.jsonl: no such file/);
    const withText = await gim(["explain", prompt, "--batch", "ok.jsonl"], { cwd: dir });
    expect(withText.stderr).toMatch(/give either --batch or TEXT/);
  });
});
