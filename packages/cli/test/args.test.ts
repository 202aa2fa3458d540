/** The argument parser on its own, and the help every command prints. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { closest, editDistance, explainSpec, formatHelp, logitsSpec, parseArgs, UsageError, type CommandSpec } from "../src/index.js";
import { gim } from "./helpers.js";

const spec: CommandSpec = {
  name: "demo",
  summary: "a command for tests",
  usage: ["[options] TEXT"],
  positionals: { name: "TEXT", description: "text", max: 1 },
  options: [
    { name: "model", kind: "string", valueName: "DIR", description: "a folder" },
    { name: "ids", kind: "ids", description: "ids" },
    { name: "position", kind: "int", description: "a position" },
    { name: "steps", kind: "int", min: 1, description: "steps" },
    { name: "scale", kind: "number", description: "a scale" },
    { name: "temperature", kind: "number", positive: true, description: "a temperature" },
    { name: "method", kind: "string", repeatable: true, description: "methods" },
    { name: "json", kind: "flag", description: "json" },
    { name: "no-freeze", kind: "flag", description: "a negative flag" },
  ],
};

function usageError(argv: string[]): string {
  try {
    parseArgs(spec, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(argv)}`);
}

describe("parseArgs", () => {
  it("reads every kind of option, in either spelling, and positionals", () => {
    const a = parseArgs(spec, ["--model", "m", "hello", "--ids=5, 17,3", "--position", "-2", "--scale", "2.5e-1", "--json", "--method", "a", "--method=b", "--no-freeze"]);
    expect(a.help).toBe(false);
    expect(a.string("model")).toBe("m");
    expect(a.ids("ids")).toEqual([5, 17, 3]);
    expect(a.number("position")).toBe(-2);
    expect(a.number("scale")).toBe(0.25);
    expect(a.flag("json")).toBe(true);
    expect(a.flag("no-freeze")).toBe(true);
    expect(a.strings("method")).toEqual(["a", "b"]);
    expect(a.positionals).toEqual(["hello"]);
  });

  it("leaves options that are not given undefined / false / empty", () => {
    const a = parseArgs(spec, []);
    expect(a.string("model")).toBeUndefined();
    expect(a.number("position")).toBeUndefined();
    expect(a.ids("ids")).toBeUndefined();
    expect(a.flag("json")).toBe(false);
    expect(a.strings("method")).toEqual([]);
    expect(a.has("model")).toBe(false);
    expect(a.positionals).toEqual([]);
  });

  it("takes everything after -- as positional, and text that merely starts with a dash", () => {
    expect(parseArgs(spec, ["--", "--json"]).positionals).toEqual(["--json"]);
    expect(parseArgs(spec, ["--json", "--", "-x"]).flag("json")).toBe(true);
    expect(parseArgs(spec, ["-5"]).positionals).toEqual(["-5"]);
    expect(parseArgs(spec, ["- item"]).positionals).toEqual(["- item"]);
  });

  it("a value may start with a dash (negative numbers, text) but not with --", () => {
    expect(parseArgs(spec, ["--model", "-odd"]).string("model")).toBe("-odd");
    expect(parseArgs(spec, ["--model=--odd"]).string("model")).toBe("--odd");
    expect(usageError(["--model", "--odd"])).toBe("option --model needs a value (DIR)");
    expect(usageError(["--model", "--"])).toBe("option --model needs a value (DIR)");
  });

  it("--help and -h win over any other mistake before --", () => {
    expect(parseArgs(spec, ["--bogus", "--help"]).help).toBe(true);
    expect(parseArgs(spec, ["-h", "--model"]).help).toBe(true);
    expect(parseArgs(spec, ["--", "--help"]).help).toBe(false);
  });

  it("rejects bad values with one line naming the option", () => {
    expect(usageError(["--position", "2x"])).toBe('option --position needs an integer, got "2x"');
    expect(usageError(["--position", "99999999999999999999"])).toBe('option --position needs an integer, got "99999999999999999999"');
    expect(usageError(["--scale", "NaN"])).toBe('option --scale needs a number, got "NaN"');
    expect(usageError(["--scale", "Infinity"])).toBe('option --scale needs a number, got "Infinity"');
    expect(usageError(["--scale", "1e999"])).toBe('option --scale needs a number, got "1e999"');
    expect(usageError(["--scale", "0x10"])).toBe('option --scale needs a number, got "0x10"');
    expect(usageError(["--temperature", "-1"])).toBe("option --temperature must be greater than 0, got -1");
    expect(usageError(["--steps", "0"])).toBe("option --steps must be at least 1, got 0");
    expect(usageError(["--ids", "1.5"])).toBe('option --ids: "1.5" is not a token id (ids are integers >= 0, separated by commas)');
    expect(usageError(["--json=1"])).toBe('option --json takes no value (got "1")');
    expect(usageError(["--model", "a", "--model=b"])).toBe("option --model is given more than once");
    expect(usageError(["a", "b"])).toBe("gim demo takes at most 1 TEXT argument, got 2 (quote text that has spaces)");
    expect(usageError(["--jsn"])).toBe("unknown option --jsn for gim demo; did you mean --json? (see gim demo --help)");
  });

  it("integers, decimals and id lists round-trip", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), fc.boolean(), (i, x, ids, inline) => {
        const argv = inline ? [`--position=${i}`, `--scale=${x}`, `--ids=${ids.join(",")}`] : ["--position", String(i), "--scale", String(x), "--ids", ids.join(",")];
        const a = parseArgs(spec, argv);
        expect(a.number("position")).toBe(i);
        expect(a.number("scale")! + 0).toBe(x + 0); // String(-0) is "0"
        expect(a.ids("ids")).toEqual(ids);
      }),
    );
  });

  it("asking for an option the spec lacks, or with the wrong kind, is a bug (plain Error)", () => {
    const a = parseArgs(spec, []);
    expect(() => a.string("nope")).toThrow("command demo has no option --nope");
    expect(() => a.flag("model")).toThrow("option --model is string, not flag");
  });
});

describe("suggestions", () => {
  it("edit distance is the Levenshtein distance", () => {
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("model", "modle")).toBe(2);
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => editDistance(a, b) === editDistance(b, a) && editDistance(a, a) === 0));
  });

  it("closest prefers a unique prefix, else distance <= 2", () => {
    expect(closest("targ", ["target", "target-id"])).toBe("target");
    expect(closest("tar", ["target-id", "steps"])).toBe("target-id");
    expect(closest("modle", ["model", "method"])).toBe("model");
    expect(closest("zzzzzz", ["model"])).toBeUndefined();
  });
});

describe("help", () => {
  it.each([explainSpec, logitsSpec])("gim $name --help lists every option with its value name and default", async (command) => {
    const r = await gim([command.name, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(formatHelp(command));
    const flat = r.stdout.replace(/\s+/g, " "); // undo the wrapping of long descriptions
    for (const o of command.options) {
      expect(r.stdout).toMatch(new RegExp(`^  --${o.name}${o.kind === "flag" ? "" : ` ${o.valueName}`} `, "m"));
      expect(flat).toContain(o.description);
      if (o.defaultText !== undefined) expect(flat).toContain(`default: ${o.defaultText}`);
    }
    for (const line of r.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
  });

  it("explain's help shows the GIM defaults of @gim/rules", async () => {
    const { gimDefaults } = await import("@gim/rules");
    const help = formatHelp(explainSpec);
    const line = (option: string) => help.split("\n").find((l) => l.trimStart().startsWith(`--${option} `))!;
    expect(line("softmax-temperature")).toContain(`default: ${gimDefaults.temperature}]`);
    expect(line("q-scale")).toContain(`default: ${gimDefaults.qScale}]`);
    expect(line("k-scale")).toContain(`default: ${gimDefaults.kScale}]`);
    expect(line("v-scale")).toContain(`default: ${gimDefaults.vScale}]`);
    expect(line("gate-scale")).toContain(`default: ${gimDefaults.gateScale}]`);
    expect(line("up-scale")).toContain(`default: ${gimDefaults.upScale}]`);
  });

  it("gim --help, gim -h and gim help list the commands; gim help CMD is CMD --help", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const r = await gim(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^gim: /);
      expect(r.stdout).toMatch(/^\s+explain\s+token attributions/m);
      expect(r.stdout).toMatch(/^\s+logits\s+the logits/m);
      expect(r.stdout).toContain("GIM_DEBUG=1");
    }
    expect((await gim(["help", "explain"])).stdout).toBe((await gim(["explain", "-h"])).stdout);
  });
});
