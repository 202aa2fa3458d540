/** formatTrace / groupTrace: rule firings grouped per layer, in forward order. */
import type { TraceEntry } from "@gim/autograd";
import { describe, expect, it } from "vitest";
import { explain, formatTrace, groupTrace, splitLayerPath } from "../src/index.js";
import { fixture } from "./helpers.js";

const entry = (id: number, path: string, rule: string, op = "identity"): TraceEntry => ({ id, op, path, tags: [], rule });

describe("splitLayerPath", () => {
  it("splits at the first numeric segment; paths without one are their own layer", () => {
    expect(splitLayerPath("h.3.attn")).toEqual({ layer: "h.3", rest: "attn" });
    expect(splitLayerPath("model.layers.12.self_attn.q_proj")).toEqual({ layer: "model.layers.12", rest: "self_attn.q_proj" });
    expect(splitLayerPath("h.0")).toEqual({ layer: "h.0", rest: "" });
    expect(splitLayerPath("ln_f")).toEqual({ layer: "ln_f", rest: "" });
    expect(splitLayerPath("model.norm")).toEqual({ layer: "model.norm", rest: "" });
    expect(splitLayerPath("")).toEqual({ layer: "(top level)", rest: "" });
  });
});

describe("groupTrace and formatTrace", () => {
  it("groups by layer in forward order (a backward trace comes latest first), counts firings, lists places once, drops default entries", () => {
    const trace = [
      entry(90, "ln_f", "norm"),
      entry(80, "h.1.attn", "tsg"),
      entry(70, "h.1.attn", "default"),
      entry(60, "h.0.mlp", "scale"),
      entry(55, "h.0.mlp", "scale"),
      entry(50, "h.0.ln_2", "norm"),
      entry(40, "h.0.attn", "tsg"),
      entry(10, "h.0.ln_1", "norm"),
      entry(5, "", "top"),
    ];
    expect(groupTrace(trace)).toEqual([
      { layer: "(top level)", rules: [{ rule: "top", count: 1, places: ["(top level)"] }] },
      {
        layer: "h.0",
        rules: [
          { rule: "norm", count: 2, places: ["ln_1", "ln_2"] },
          { rule: "tsg", count: 1, places: ["attn"] },
          { rule: "scale", count: 2, places: ["mlp"] },
        ],
      },
      { layer: "h.1", rules: [{ rule: "tsg", count: 1, places: ["attn"] }] },
      { layer: "ln_f", rules: [{ rule: "norm", count: 1, places: ["ln_f"] }] },
    ]);
    expect(formatTrace(trace)).toBe(
      ["(top level): top ((top level))", "h.0: norm x2 (ln_1, ln_2), tsg (attn), scale x2 (mlp)", "h.1: tsg (attn)", "ln_f: norm (ln_f)"].join("\n"),
    );
  });

  it("says so when no rule fired", () => {
    expect(formatTrace([])).toBe("no rule fired (every node used its default backward)");
    expect(formatTrace([entry(1, "h.0.attn", "default")])).toBe("no rule fired (every node used its default backward)");
  });

  it("shows GIM on GPT-2 as one line per block plus ln_f", () => {
    const { model, golden } = fixture("gpt2-f32");
    const { trace } = explain(model, golden.ids, { baseline: 0, trace: true });
    const block = (i: number) =>
      `h.${i}: gim.freezeNorm x2 (ln_1, ln_2), gim.qScale (attn), gim.kScale (attn), gim.vScale (attn), gim.softmaxTemperature (attn)`;
    expect(formatTrace(trace!)).toBe([block(0), block(1), "ln_f: gim.freezeNorm (ln_f)"].join("\n"));
  });

  it("shows GIM on Llama with the gated-MLP scales in every layer", () => {
    const { model, golden } = fixture("llama-gqa-sharded");
    const { trace } = explain(model, golden.ids, { baseline: 0, trace: true });
    const layer = (i: number) =>
      `model.layers.${i}: gim.freezeNorm x2 (input_layernorm, post_attention_layernorm), gim.qScale (self_attn), gim.kScale (self_attn), gim.vScale (self_attn), gim.softmaxTemperature (self_attn), gim.gateScale (mlp), gim.upScale (mlp)`;
    expect(formatTrace(trace!)).toBe([layer(0), layer(1), layer(2), "model.norm: gim.freezeNorm (model.norm)"].join("\n"));
  });
});
