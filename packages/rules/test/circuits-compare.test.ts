/**
 * `compareEdgeMethods` (what `gim components --edges` prints) and the model-level graph file
 * functions: a file's circuit of every edge has f = 1 and of no edge f = 0 exactly; a file's
 * scores rank edges exactly as the method they came from; `readGraph(writeGraph(...))` gives
 * back the scores and the pruned circuit on a grouped-query Llama.
 */
import { describe, expect, it } from "vitest";
import { compareEdgeMethods, gim, logitDiff, mibEdgeCount, mibGraph, readGraph, topEdgeCircuit, writeGraph, type GraphFile } from "../src/index.js";
import { fixtureModel } from "./helpers.js";

const clean = [3, 7, 1, 9, 12, 4, 5, 8];
const corrupted = [3, 7, 1, 9, 20, 4, 5, 8];
const metric = logitDiff({ answer: 5, wrong: 9 });

describe("compareEdgeMethods", () => {
  const model = fixtureModel("llama-gqa-sharded");
  const graph = mibGraph(model);
  const first = compareEdgeMethods(model, clean, corrupted, { metric, methods: [{ name: "gim", rules: gim() }], exact: true });
  const asFile = (kept: (i: number) => boolean): GraphFile => ({
    cfg: { n_layers: graph.layers, n_heads: graph.heads, parallel_attn_mlp: false, d_model: model.hiddenSize },
    scores: first.sources[0]!.scores,
    circuit: { edges: graph.edges.map((_, i) => kept(i)), nodes: graph.senders.map(() => true), edgeCount: graph.edges.filter((_, i) => kept(i)).length },
  });

  it("scores the 262 edges of a 3-layer, 4-head Llama and compares them with exact edge patching", () => {
    expect(first.sources.map((s) => s.name)).toEqual(["gim", "exact"]);
    expect(first.sources[0]!.scores).toHaveLength(mibEdgeCount({ layers: 3, heads: 4 }));
    expect(first.sources[0]!.agreement!.count).toBe(262);
    expect(first.sources[1]!.agreement).toBeUndefined();
    for (const s of first.sources) expect(s.signed.faithfulness[s.signed.faithfulness.length - 1]).toBe(1);
  });

  it("gives a file's circuit of every edge f = 1 and of none f = 0, exactly", () => {
    const all = compareEdgeMethods(model, clean, corrupted, { metric, methods: [], file: { name: "all", graph: asFile(() => true) } });
    expect(all.fileCircuit!.faithfulness).toBe(1);
    expect(all.fileCircuit!.edges).toBe(262);
    const none = compareEdgeMethods(model, clean, corrupted, { metric, methods: [], file: { name: "none", graph: asFile(() => false) } });
    expect(none.fileCircuit!.faithfulness).toBe(0);
    expect(none.fileCircuit!.metric).toBe(none.fileCircuit!.metricEmpty);
  });

  it("ranks by a file's scores exactly as by the method they came from", () => {
    const viaFile = compareEdgeMethods(model, clean, corrupted, { metric, methods: [], file: { name: "f", graph: asFile(() => false) } });
    expect(viaFile.sources[0]!.signed.faithfulness).toEqual(first.sources[0]!.signed.faithfulness);
    expect(viaFile.sources[0]!.absolute.areaFromOne).toBe(first.sources[0]!.absolute.areaFromOne);
  });

  it("refuses to compare nothing", () => {
    expect(() => compareEdgeMethods(model, clean, corrupted, { metric, methods: [] })).toThrow(/nothing to compare/);
  });

  it("round-trips a graph file through writeGraph and readGraph", () => {
    const scores = first.sources[0]!.scores;
    const circuit = topEdgeCircuit(graph, scores, 20, "signed");
    const text = JSON.stringify(writeGraph(model, scores, { circuit, metadata: { rules: "gim" } }));
    const back = readGraph(model, text, "g.json");
    expect(back.scores).toEqual(scores);
    expect(back.circuit.edges).toEqual(circuit.edges);
    expect(back.circuit.edgeCount).toBe(circuit.edgeCount);
    expect(back.cfg).toEqual({ n_layers: 3, n_heads: 4, parallel_attn_mlp: false, d_model: model.hiddenSize });
    expect(back.metadata).toEqual({ rules: "gim" });
    expect(() => readGraph(fixtureModel("gpt2-f32"), text, "g.json")).toThrow(/g\.json is a graph of 3 layers of 4 heads; the model has 2 layers of 4 heads/);
  });
});
