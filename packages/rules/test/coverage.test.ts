/**
 * Rule coverage on real checkpoints (the golden fixtures): every rule of gim() fires at every
 * place it should and nowhere else, shown with backward traces. The expected places are
 * written from the Hugging Face module names of each family, not read from the models.
 */
import { grad, rule, scaleGrad, stopGrad, variable, type Rule } from "@gim/autograd";
import { placeVars, Tags, type CausalLM } from "@gim/transformer";
import { describe, expect, it } from "vitest";
import { bindRules, explain, freezeNorm, gim, gimOff, gradientScale, softmaxTemperature, type GimOptions, type MethodName } from "../src/index.js";
import { expectBitwise, fixture, relativeL2, values } from "./helpers.js";

/** The (module path, rule) pairs a GIM backward must visit, one entry per firing, from the checkpoint layout. */
function expectedFirings(model: CausalLM): string[] {
  const c = model.config;
  const out: string[] = [];
  const attention = (path: string) => ["gim.softmaxTemperature", "gim.qScale", "gim.kScale", "gim.vScale"].map((r) => `${path} ${r}`);
  if (c.modelType === "gpt2") {
    for (let i = 0; i < c.nLayer; i++) {
      out.push(`h.${i}.ln_1 gim.freezeNorm`, `h.${i}.ln_2 gim.freezeNorm`, ...attention(`h.${i}.attn`));
    }
    out.push("ln_f gim.freezeNorm");
  } else {
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const l = `model.layers.${i}`;
      out.push(`${l}.input_layernorm gim.freezeNorm`, `${l}.post_attention_layernorm gim.freezeNorm`, ...attention(`${l}.self_attn`));
      out.push(`${l}.mlp gim.gateScale`, `${l}.mlp gim.upScale`);
    }
    out.push("model.norm gim.freezeNorm");
  }
  return out.sort();
}

/** Which op and tag each rule must handle. */
const ruleSite: Record<string, { ops: string[]; tag: string }> = {
  "gim.freezeNorm": { ops: ["std", "rms"], tag: Tags.normScale },
  "gim.softmaxTemperature": { ops: ["softmax"], tag: Tags.pattern },
  "gim.qScale": { ops: ["identity"], tag: Tags.q },
  "gim.kScale": { ops: ["identity"], tag: Tags.k },
  "gim.vScale": { ops: ["identity"], tag: Tags.v },
  "gim.gateScale": { ops: ["identity"], tag: Tags.gate },
  "gim.upScale": { ops: ["identity"], tag: Tags.up },
};

const families = ["gpt2-f32", "llama-gqa-sharded", "qwen2-f32"] as const;

describe.each(families)("%s: every rule of gim() fires at every place it should", (name) => {
  const { model, golden } = fixture(name);
  const ids = golden.ids;

  it("grad with the bound rules visits exactly the expected (path, rule) pairs, each once, at the right op and tag", () => {
    const { rules } = bindRules(model, gim());
    const e = variable(model.embedTokens(ids));
    const out = model.forward({ embeds: e });
    const { trace } = grad(out.logit(-1, golden.target_id), [e], { rules, trace: true });
    const fired = trace.filter((t) => t.rule !== "default");
    expect(fired.map((t) => `${t.path} ${t.rule}`).sort()).toEqual(expectedFirings(model));
    for (const t of fired) {
      const site = ruleSite[t.rule]!;
      expect(site.ops).toContain(t.op);
      expect(t.tags).toContain(site.tag);
    }
  });

  it("explain(..., { trace: true }) reports the same firings; the first token's target (position 0) reaches them too", () => {
    const last = explain(model, ids, { baseline: 0, trace: true });
    expect(last.trace!.map((t) => `${t.path} ${t.rule}`).sort()).toEqual(expectedFirings(model));
    // At position 0 only the first token is seen, but every layer still lies on the path.
    const first = explain(model, ids, { baseline: 0, position: 0, trace: true });
    expect(first.trace!.map((t) => `${t.path} ${t.rule}`).sort()).toEqual(expectedFirings(model));
  });

  it("the scales multiply exactly the gradient passing through each q, k, v (and gate, up) place of every layer", () => {
    const settings: GimOptions = { qScale: 0.3, kScale: 0.2, vScale: 0.7, gateScale: 0.6, upScale: 0.45 };
    const factorOf: Record<string, number> = { [Tags.q]: 0.3, [Tags.k]: 0.2, [Tags.v]: 0.7, [Tags.gate]: 0.6, [Tags.up]: 0.45 };
    const { rules } = bindRules(model, gim(settings));
    const e = variable(model.embedTokens(ids));
    const out = model.forward({ embeds: e });
    const L = out.logit(-1, golden.target_id);
    const keys = model.places().flatMap((p) => p.keys).filter((k) => Object.keys(factorOf).some((t) => k.endsWith(`:${t}`)));
    expect(keys.length).toBe(model.config.modelType === "gpt2" ? 3 * model.config.nLayer : 5 * model.config.numHiddenLayers);
    const at = placeVars(L, keys);
    const outsides = keys.map((k) => at.get(k)!); // the tagged identity's output
    const insides = outsides.map((v) => v.node!.inputs[0]!); // and its input
    const grads = grad(L, [...insides, ...outsides], { rules });
    keys.forEach((key, i) => {
      const factor = factorOf[key.slice(key.indexOf(":") + 1)]!;
      const inside = grads[i]!;
      const outside = grads[i + keys.length]!;
      expect(relativeL2(values(outside), values(outside).map(() => 0))).toBeGreaterThan(0); // a gradient reached it
      expectBitwise(values(inside), values(outside).map((g) => Math.fround(g * Math.fround(factor)))); // float32 model: the factor and the product are float32
    });
  });
});

describe("gim() on GPT-2 skips the gated-MLP scales; on Llama nothing is skipped", () => {
  it("GPT-2: gate and up are reported in skippedRules with the reason, with no error", () => {
    const { model, golden } = fixture("gpt2-f32");
    const bound = bindRules(model, gim());
    expect(bound.skipped.map((s) => s.rule)).toEqual(["gim.gateScale", "gim.upScale"]);
    expect(bound.skipped[0]!.reason).toBe("the gpt2 model has no place tagged mlp.gate");
    expect(bound.skipped[1]!.reason).toBe("the gpt2 model has no place tagged mlp.up");
    const layers = 2;
    expect(Object.fromEntries(bound.matches)).toEqual({ "gim.freezeNorm": 2 * layers + 1, "gim.softmaxTemperature": layers, "gim.qScale": layers, "gim.kScale": layers, "gim.vScale": layers });
    expect(bound.rules.every((r) => r.required)).toBe(true);
    expect(explain(model, golden.ids, { baseline: 0 }).skippedRules).toEqual(bound.skipped);
  });

  it("Llama and Qwen2: no rule is skipped and each matches once per layer (norms twice, plus the final norm)", () => {
    for (const name of ["llama-gqa-sharded", "qwen2-f32"]) {
      const { model } = fixture(name);
      const layers = model.config.modelType === "gpt2" ? 0 : model.config.numHiddenLayers;
      const bound = bindRules(model, gim());
      expect(bound.skipped).toEqual([]);
      expect(Object.fromEntries(bound.matches)).toEqual({
        "gim.freezeNorm": 2 * layers + 1,
        "gim.softmaxTemperature": layers,
        "gim.qScale": layers,
        "gim.kScale": layers,
        "gim.vScale": layers,
        "gim.gateScale": layers,
        "gim.upScale": layers,
      });
    }
  });
});

describe("gim() straight into grad(), without bindRules", () => {
  it("GPT-2: equals the bound rule set (the gated-MLP scales are optional); a rule with a misspelled tag is an error", () => {
    const { model, golden } = fixture("gpt2-f32");
    const e = variable(model.embedTokens(golden.ids));
    const L = model.forward({ embeds: e }).logit(-1, golden.gim.target_id);
    const [raw] = grad(L, [e], { rules: gim() });
    const [bound] = grad(L, [e], { rules: bindRules(model, gim()).rules });
    expectBitwise(values(raw!), values(bound!));
    expect(() => grad(L, [e], { rules: [scaleGrad("typo", 0.5, { tag: "attn.vv" })] })).toThrow(/^rule 'typo' \(tag attn\.vv\) matches no node of this graph/);
  });
});

describe("rules that cannot bind", () => {
  const gpt2 = fixture("gpt2-f32");
  const llama = fixture("llama-gqa-sharded");

  it("a rule that targets a tag the model has but no op there (matmul at attn.pattern) is an error naming the ops found", () => {
    const wrong = rule("attnMatmul", { op: "matmul", tag: Tags.pattern }, () => ({}));
    expect(() => bindRules(gpt2.model, [wrong])).toThrow("rule 'attnMatmul' (op matmul, tag attn.pattern) matches none of the model's 2 places tagged attn.pattern (ops: softmax)");
    expect(() => bindRules(llama.model, [wrong])).toThrow(/matches none of the model's 3 places tagged attn.pattern \(ops: softmax\)/);
    expect(() => explain(gpt2.model, gpt2.golden.ids, { baseline: 0, rules: [wrong] })).toThrow(/attnMatmul/);
  });

  it("a custom tag-only rule binds where the model has the tag and is skipped where the family lacks it", () => {
    const onGate = scaleGrad("myGate", 0.5, { tag: Tags.gate });
    const onZ = scaleGrad("myZ", 0.5, { tag: Tags.z });
    expect(bindRules(gpt2.model, [onZ]).matches.get("myZ")).toBe(2);
    const onGpt2 = bindRules(gpt2.model, [onGate]);
    expect(onGpt2.rules).toEqual([]);
    expect(onGpt2.skipped).toEqual([{ rule: "myGate", reason: "the gpt2 model has no place tagged mlp.gate" }]);
    expect(bindRules(llama.model, [onGate]).matches.get("myGate")).toBe(3);
  });

  it("a tag no model has (a typo) is an error, not a silent skip", () => {
    expect(() => bindRules(gpt2.model, [stopGrad("typo", { op: "softmax", tag: "attn.patern" })])).toThrow(/names the tag attn\.patern, which no model has; tags: .*attn\.pattern/);
  });

  it("an op or path rule that matches nothing is an error", () => {
    expect(() => bindRules(llama.model, [stopGrad("lnOnLlama", { op: "layerNorm" })])).toThrow(/rule 'lnOnLlama' \(op layerNorm\) matches none of the model's \d+ places/);
    expect(() => bindRules(gpt2.model, [stopGrad("prefixed", { path: "transformer.h.*.attn" })])).toThrow(/rule 'prefixed' \(path transformer\.h\.\*\.attn\) matches none/);
  });

  it("a bound rule is required: one that matches a place but not on the differentiated path fails in grad", () => {
    const { model, golden } = gpt2;
    const { rules } = bindRules(model, [scaleGrad("onLogits", 2, { tag: Tags.logits })]);
    const e = variable(model.embedTokens(golden.ids));
    const out = model.forward({ embeds: e });
    // The logits node lies on the path; a rule on the position embeddings (not on the path to e) does not.
    expect(() => grad(out.logit(-1, 0), [e], { rules })).not.toThrow();
    const { rules: offPath } = bindRules(model, [scaleGrad("onPositions", 2, { tag: Tags.positionEmbeddings })]);
    expect(() => grad(out.logit(-1, 0), [e], { rules: offPath })).toThrow("rule 'onPositions' (tag embed.positions) matched no node on the path from the inputs to the output");
  });
});

describe.each(families)("%s: gim() with parts off", (name) => {
  const { model, golden } = fixture(name);
  const ids = golden.ids;

  it("every part off: gim() is empty and explain equals the plain gradient bit for bit", () => {
    expect(gim(gimOff)).toEqual([]);
    const off = explain(model, ids, { baseline: 0, method: "gim", gim: gimOff, trace: true });
    const plain = explain(model, ids, { baseline: 0, method: "gradient" });
    expect(off.trace).toEqual([]);
    // the plain gradient, independently of explain
    const e = variable(model.embedTokens(ids));
    const [g] = grad(model.forward({ embeds: e }).logit(-1, off.target), [e]);
    expectBitwise(values(off.gradient!), values(g!));
    expectBitwise(values(plain.gradient!), values(g!));
    expectBitwise(off.attributions, plain.attributions);
  });

  const settings: Required<GimOptions> = { temperature: 3, freezeNorm: true, qScale: 0.3, kScale: 0.2, vScale: 0.7, gateScale: 0.6, upScale: 0.45 };
  const single: [MethodName, Rule[]][] = [
    ["freezeNorm", [freezeNorm()]],
    ["softmaxTemperature", [softmaxTemperature(3)]],
    ["qkvScale", [gradientScale("q", 0.3), gradientScale("k", 0.2), gradientScale("v", 0.7)]],
    ["gateUpScale", [gradientScale("gate", 0.6), gradientScale("up", 0.45)]],
  ];

  it.each(single)("the %s method equals gim with only that part on, and that rule alone", (method, alone) => {
    const viaMethod = explain(model, ids, { baseline: 0, method, gim: settings, trace: true });
    const partOn: GimOptions = {
      ...gimOff,
      ...(method === "freezeNorm" ? { freezeNorm: true } : {}),
      ...(method === "softmaxTemperature" ? { temperature: 3 } : {}),
      ...(method === "qkvScale" ? { qScale: 0.3, kScale: 0.2, vScale: 0.7 } : {}),
      ...(method === "gateUpScale" ? { gateScale: 0.6, upScale: 0.45 } : {}),
    };
    const viaGim = explain(model, ids, { baseline: 0, rules: gim(partOn) });
    const e = variable(model.embedTokens(ids));
    const [g] = grad(model.forward({ embeds: e }).logit(-1, viaMethod.target), [e], { rules: bindRules(model, alone).rules });
    expectBitwise(values(viaMethod.gradient!), values(viaGim.gradient!));
    expectBitwise(values(viaMethod.gradient!), values(g!));
    expectBitwise(viaMethod.attributions, viaGim.attributions);
    expect(new Set(viaMethod.trace!.map((t) => t.rule))).toEqual(new Set(alone.map((r) => r.name).filter((r) => bindRules(model, alone).matches.has(r))));

    const plain = explain(model, ids, { baseline: 0, method: "gradient" });
    if (method === "gateUpScale" && model.config.modelType === "gpt2") {
      expect(viaMethod.skippedRules!.map((s) => s.rule)).toEqual(["gim.gateScale", "gim.upScale"]);
      expectBitwise(viaMethod.attributions, plain.attributions);
    } else {
      expect(relativeL2(values(viaMethod.gradient!), values(plain.gradient!))).toBeGreaterThan(0.01); // the part does something
    }
  });
});
