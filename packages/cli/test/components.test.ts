/**
 * `gim components` run in-process on a fixture model: its JSON holds the library's numbers,
 * the report names the sections, and mistakes are one line on stderr with exit code 2.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compareComponentMethods, compareEdgeMethods, exactComponentScores, gim as gimRules, listComponents, logitDiff, mibEdgeCount, readGraph } from "@gim/rules";
import { loadModel } from "@gim/transformer/node";
import { afterAll, describe, expect, it } from "vitest";
import { gim, modelsDir } from "./helpers.js";

const dir = path.join(modelsDir, "gpt2-f32");
const clean = [3, 7, 1, 9, 12, 4, 5, 8, 2, 11];
const corrupted = [3, 7, 1, 9, 20, 4, 5, 8, 2, 11];
const base = ["components", "--model", dir, "--ids", clean.join(","), "--corrupted-ids", corrupted.join(","), "--answer-id", "5", "--wrong-answer-id", "9"];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-components-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("gim components", () => {
  it("--json prints one object with each method's scores, agreement and circuits, equal to the library's", async () => {
    const { code, stdout: out, stderr: err } = await gim([...base, "--exact", "--json", "--top", "3"]);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(1);
    const json = JSON.parse(out);
    const model = loadModel(dir);
    const metric = logitDiff({ answer: 5, wrong: 9 });
    const report = compareComponentMethods(model, clean, corrupted, { metric, exact: true, top: 3 });
    expect(json.components).toEqual(listComponents(model).map((c) => c.name));
    expect(Object.keys(json.methods)).toEqual(["gim", "gradient"]);
    expect(json.exact.scores).toEqual(exactComponentScores(model, clean, corrupted, { metric }).scores);
    expect(json.methods.gim.scores).toEqual(report.methods[0]!.scores);
    expect(json.methods.gradient.agreement).toEqual(report.methods[1]!.agreement);
    expect(json.methods.gim.circuits.signed.area).toBe(report.methods[0]!.circuits!.signed.area);
    expect(json.methods.gim.circuits.absolute.mib.cmd).toBe(report.methods[0]!.circuits!.absolute.mib.areaFromOne);
    expect(json.metric.clean).toBe(report.metricClean);
    expect(json).toMatchObject({ answer: 5, wrongAnswer: 9, position: 9, clean: { ids: clean }, corrupted: { ids: corrupted } });
  });

  it("prints tables per method, the agreement with exact patching and the circuit summary; --edges adds edges", async () => {
    const { code, stdout: out } = await gim([...base, "--exact", "--edges", "--method", "gim", "--top", "2"]);
    expect(code).toBe(0);
    expect(out).toMatch(/gim: top 2 components by \|score\|/);
    expect(out).toMatch(/exact patching: top 2 components/);
    expect(out).toMatch(/agreement with exact patching \(heads and MLPs\)/);
    expect(out).toMatch(/circuit faithfulness/);
    expect(out).toMatch(/MIB graph: 110 edges \(2 layers of 4 heads; receivers per head q, k, v\); scored by EAP/);
    expect(out).toMatch(/gim: top 2 edges by \|score\|/);
    expect(out).toMatch(/a\d\.h\d<[qkv]>|->logits|->m\d/);
    expect(out).toMatch(/edge agreement with exact edge patching/);
    expect(out).toMatch(/edge circuits at MIB's sizes/);
    expect(out).not.toMatch(/gradient:/);
  });

  it("--edges --json holds MIB's edges with the library's scores and each method's graph in the EAP-IG layout", async () => {
    const { code, stdout: out, stderr: err } = await gim([...base, "--edges", "--exact", "--edge-method", "eap-ig", "--ig-steps", "3", "--json"]);
    expect(code, err).toBe(0);
    const json = JSON.parse(out);
    const model = loadModel(dir);
    const metric = logitDiff({ answer: 5, wrong: 9 });
    const lib = compareEdgeMethods(model, clean, corrupted, { metric, methods: [{ name: "gim", rules: gimRules() }, { name: "gradient", rules: [] }], method: "eap-ig-inputs", steps: 3, exact: true });
    expect(json.mib.edges).toHaveLength(mibEdgeCount({ layers: 2, heads: 4 }));
    expect(json.mib).toMatchObject({ method: "eap-ig-inputs", steps: 3 });
    expect(Object.keys(json.mib.sources)).toEqual(["gim", "gradient", "exact"]);
    expect(json.mib.sources.gim.scores).toEqual(lib.sources[0]!.scores);
    expect(json.mib.sources.gradient.agreement.spearman).toBe(lib.sources[1]!.agreement!.spearman);
    expect(json.mib.sources.exact.signed.cpr).toBe(lib.sources[2]!.signed.areaUnder);
    const g = json.mib.graphs.gim;
    expect(g.cfg).toEqual({ n_layers: 2, n_heads: 4, parallel_attn_mlp: false, d_model: model.hiddenSize });
    expect(Object.keys(g.edges)).toEqual(json.mib.edges);
    expect(g.edges["input->a0.h0<q>"]).toEqual({ score: lib.sources[0]!.scores[0], in_graph: false });
    expect(g.nodes.logits).toEqual({ in_graph: true });
  });

  it("--graph-out writes a graph file that --graph-in reads back: the same scores, the marked circuit evaluated", async () => {
    const file = path.join(tmp, "graph.json");
    const wrote = await gim([...base, "--edges", "--method", "gim", "--graph-out", file, "--graph-edges", "12", "--json"]);
    expect(wrote.code, wrote.stderr).toBe(0);
    expect(wrote.stderr).toMatch(/gim: wrote .*graph\.json \(gim, 110 edges, \d+ in_graph\)/);
    const model = loadModel(dir);
    const read = readGraph(model, fs.readFileSync(file, "utf8"), file);
    const first = JSON.parse(wrote.stdout);
    expect(read.scores).toEqual(first.mib.sources.gim.scores);
    expect(read.circuit.edgeCount).toBeGreaterThan(0);
    expect(read.circuit.edgeCount).toBeLessThanOrEqual(12);
    expect(read.metadata).toMatchObject({ rules: "gim", method: "eap" });

    const back = await gim([...base, "--graph-in", file, "--json"]);
    expect(back.code, back.stderr).toBe(0);
    const json = JSON.parse(back.stdout);
    expect(Object.keys(json.mib.sources)).toEqual(["graph.json"]);
    expect(json.mib.sources["graph.json"].scores).toEqual(read.scores);
    expect(json.mib.sources["graph.json"].signed.cpr).toBe(first.mib.sources.gim.signed.cpr); // the same ranking gives the same circuits
    const c = json.mib.graphIn.circuit;
    expect(c.edges).toBe(read.circuit.edgeCount);
    expect(c.faithfulness).toBeCloseTo((c.metric - c.metricEmpty) / (c.metricFull - c.metricEmpty), 12);
    expect(c.metricFull).toBeCloseTo(json.metric.clean, 4);
  });

  it("--graph-in refuses a file of another model's shape or a broken one, in one line", async () => {
    const other = path.join(tmp, "other.json");
    fs.writeFileSync(other, JSON.stringify({ cfg: { n_layers: 3, n_heads: 4, parallel_attn_mlp: false, d_model: 32 }, nodes: {}, edges: {} }));
    const broken = path.join(tmp, "broken.json");
    fs.writeFileSync(broken, "{ not json");
    for (const [file, message] of [
      [other, /other\.json is a graph of 3 layers of 4 heads; the model has 2 layers of 4 heads/],
      [broken, /broken\.json.*not valid JSON/],
      [path.join(tmp, "missing.json"), /cannot read --graph-in .*missing\.json: ENOENT/],
    ] as const) {
      const { code, stdout: out, stderr: err } = await gim([...base, "--graph-in", file]);
      expect(out).toBe("");
      expect(err).toMatch(message);
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(code).not.toBe(0);
    }
  });

  it("scores MIB's graph of a grouped-query Llama: k and v receivers per query head", async () => {
    const llama = path.join(modelsDir, "llama-gqa-sharded");
    const { code, stdout: out, stderr: err } = await gim(["components", "--model", llama, "--ids", "3,7,1,9,12", "--corrupted-ids", "3,7,1,9,20", "--answer-id", "5", "--wrong-answer-id", "9", "--edges", "--exact", "--method", "gim", "--json"]);
    expect(code, err).toBe(0);
    const json = JSON.parse(out);
    expect(json.mib.edges).toHaveLength(mibEdgeCount({ layers: 3, heads: 4 }));
    expect(json.mib.edges).toContain("a0.h3->a1.h1<k>");
    expect(json.mib.sources.gim.agreement.count).toBe(262);
  });

  it("identical prompts: scores 0, faithfulness undefined, said in the report", async () => {
    const { code, stdout: out } = await gim(["components", "--model", dir, "--ids", clean.join(","), "--corrupted-ids", clean.join(","), "--answer-id", "5", "--wrong-answer-id", "9"]);
    expect(code).toBe(0);
    expect(out).toMatch(/faithfulness is undefined: the clean and corrupted metrics are equal/);
  });

  it.each([
    [["--corrupted-ids", "1,2"], /the clean prompt has 10 tokens but the corrupted one 2/],
    [[], /needs a corrupted prompt/],
    [["--corrupted-ids", corrupted.join(","), "--corrupted", "x"], /either --corrupted or --corrupted-ids/],
    [["--corrupted-ids", corrupted.join(","), "--method", "ig"], /--method integrated-gradients is not a gradient method/],
    [["--corrupted-ids", corrupted.join(","), "--metric", "kl"], /unknown --metric "kl"/],
    [["--corrupted-ids", corrupted.join(","), "--answer-id", "5", "--wrong-answer-id", "5"], /the answer and the wrong answer are the same token \(id 5\)/],
    [["--corrupted-ids", "3,7,1,9,200,4,5,8,2,11"], /--corrupted-ids: token id 200 at position 4 is outside the vocabulary/],
    [["--corrupted", "some text"], /has no tokenizer/],
    [["--corrupted-ids", corrupted.join(","), "--edge-method", "ig"], /unknown --edge-method "ig" \(known: eap, eap-ig\)/],
    [["--corrupted-ids", corrupted.join(","), "--graph-out", "x.json"], /--graph-out applies to edges: add --edges/],
    [["--corrupted-ids", corrupted.join(","), "--edges", "--ig-steps", "3"], /--ig-steps applies to --edge-method eap-ig/],
    [["--corrupted-ids", corrupted.join(","), "--edges", "--graph-edges", "3"], /--graph-edges marks the circuit of the file --graph-out writes/],
  ])("refuses %j with one line and exit code 2", async (extra, message) => {
    const { code, stdout: out, stderr: err } = await gim(["components", "--model", dir, "--ids", clean.join(","), ...extra]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
  });
});
