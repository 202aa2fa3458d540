import * as path from "node:path";
import { noGrad, rule, scope, tagged, withForwardHook, type KnownTags } from "@gim/autograd";
import { describe, expect, it } from "vitest";
import { Tags } from "../src/index.js";
import { loadModel } from "../src/node/index.js";
import { fixturesDir } from "./golden.js";

const blockTags = [Tags.residPre, Tags.normInput, Tags.normScale, Tags.normOutput, Tags.q, Tags.k, Tags.v, Tags.scores, Tags.pattern, Tags.z, Tags.attnOutput, Tags.residMid, Tags.mlpInput, Tags.mlpHidden, Tags.mlpOutput, Tags.residPost];

describe("every block exposes its places by checkpoint path and tag", () => {
  it("GPT-2", () => {
    const model = loadModel(path.join(fixturesDir, "gpt2-f32"));
    const keys = new Set(model.places().flatMap((p) => p.keys));
    for (let i = 0; i < 2; i++) {
      for (const tag of [Tags.residPre, Tags.residMid, Tags.residPost]) expect(keys).toContain(`h.${i}:${tag}`);
      for (const ln of ["ln_1", "ln_2"]) for (const tag of [Tags.normInput, Tags.normScale, Tags.normOutput]) expect(keys).toContain(`h.${i}.${ln}:${tag}`);
      for (const tag of [Tags.q, Tags.k, Tags.v, Tags.scores, Tags.pattern, Tags.z, Tags.attnOutput]) expect(keys).toContain(`h.${i}.attn:${tag}`);
      for (const tag of [Tags.mlpInput, Tags.mlpHidden, Tags.mlpOutput]) expect(keys).toContain(`h.${i}.mlp:${tag}`);
      expect(keys).not.toContain(`h.${i}.mlp:${Tags.gate}`);
    }
    for (const tag of [Tags.normInput, Tags.normScale, Tags.normOutput]) expect(keys).toContain(`ln_f:${tag}`);
    expect(keys).toContain(`:${Tags.logits}`);
    expect(keys).toContain(`wte:${Tags.tokenEmbeddings}`);
    // The softmax itself carries the pattern tag (so a rule can replace its backward); the statistic is its own op.
    const places = model.places();
    expect(places.find((p) => p.keys.includes(`h.0.attn:${Tags.pattern}`))!.op).toBe("softmax");
    expect(places.find((p) => p.keys.includes(`h.0.ln_1:${Tags.normScale}`))!.op).toBe("std");
    expect(places.find((p) => p.keys.includes(`h.0.attn:${Tags.q}`))!.shape).toEqual([1, 4, 1, 8]);
  });

  it("Llama with GQA", () => {
    const model = loadModel(path.join(fixturesDir, "llama-gqa-sharded"));
    const places = model.places();
    const keys = new Set(places.flatMap((p) => p.keys));
    for (let i = 0; i < 3; i++) {
      const l = `model.layers.${i}`;
      for (const tag of [Tags.residPre, Tags.residMid, Tags.residPost]) expect(keys).toContain(`${l}:${tag}`);
      for (const norm of ["input_layernorm", "post_attention_layernorm"]) expect(keys).toContain(`${l}.${norm}:${Tags.normScale}`);
      for (const tag of [Tags.q, Tags.k, Tags.v, Tags.scores, Tags.pattern, Tags.z, Tags.attnOutput]) expect(keys).toContain(`${l}.self_attn:${tag}`);
      for (const tag of [Tags.mlpInput, Tags.gate, Tags.up, Tags.mlpHidden, Tags.mlpOutput]) expect(keys).toContain(`${l}.mlp:${tag}`);
    }
    expect(keys).toContain(`model.norm:${Tags.normScale}`);
    expect(places.find((p) => p.keys.includes(`model.layers.0.input_layernorm:${Tags.normScale}`))!.op).toBe("rms");
    // k and v are tagged before the kv heads are repeated: 2 kv heads, 4 query heads.
    expect(places.find((p) => p.keys.includes(`model.layers.0.self_attn:${Tags.k}`))!.shape).toEqual([1, 2, 1, 8]);
    expect(places.find((p) => p.keys.includes(`model.layers.0.self_attn:${Tags.q}`))!.shape).toEqual([1, 4, 1, 8]);
    expect(places.find((p) => p.keys.includes(`model.layers.0.self_attn:${Tags.z}`))!.shape).toEqual([1, 4, 1, 8]);
    // Projections are recorded under their checkpoint names.
    expect(places.some((p) => p.path === "model.layers.0.self_attn.q_proj" && p.op === "linear")).toBe(true);
    expect(blockTags.every((t) => keys.has(`model.layers.0${t.startsWith("resid") ? "" : t.startsWith("norm") ? ".input_layernorm" : t.startsWith("mlp") ? ".mlp" : ".self_attn"}:${t}`))).toBe(true);
  });
});

describe("places() does not depend on the caller's context", () => {
  it("is the same list when first asked inside noGrad, a scope, tags and a forward hook", () => {
    const reference = loadModel(path.join(fixturesDir, "gpt2-f32")).places();
    const model = loadModel(path.join(fixturesDir, "gpt2-f32"));
    let hookCalls = 0;
    const places = noGrad(() => scope("outer", () => tagged("extra", () => withForwardHook(() => void hookCalls++, () => model.places()))));
    expect(places.length).toBeGreaterThan(100);
    expect(places).toEqual(reference);
    expect(hookCalls).toBe(0);
  });
});

describe("tags are typed where known", () => {
  it("declares every model place as a known tag of @gim/autograd (checked by the type checker)", () => {
    // Compiles only if every value of Tags is a key of KnownTags.
    const known: (keyof KnownTags)[] = Object.values(Tags);
    // @ts-expect-error a misspelled place is not a known tag
    const misspelled: keyof KnownTags = "attn.patern";
    // Tags outside the list still work (custom ops and models), as plain strings.
    const custom = rule("custom", { tag: "my.place" }, ({ grad }) => ({ x: grad }));
    expect(known).toContain("attn.pattern");
    expect(misspelled).toBe("attn.patern");
    expect(custom.match.tag).toBe("my.place");
  });
});
