/**
 * Value-only attention: a custom rule set under which no gradient flows through the queries
 * and keys of any attention layer. The attention pattern is then a constant of the backward
 * pass, so an attribution only credits what the attention *moved* (the values), not *where it
 * looked* (the scores).
 *
 *   npx tsx examples/value-only-attention.ts
 *
 * The rules are two one-liners, bound to the places every model of @gim/transformer tags:
 * `attn.q` (queries after projection and RoPE) and `attn.k` (keys, before GQA repetition).
 * Nothing else changes: the forward pass is the same with and without them; only the
 * backward differs.
 */
import { stopGrad, type Rule } from "@gim/autograd";
import { Tags, type CausalLM } from "@gim/transformer";
import { loadModel } from "@gim/transformer/node";
import { bindRules, explainMethods, formatTrace, type Explanation } from "@gim/rules";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The GPT-2 checkpoint of the test fixtures (2 layers, 4 heads, width 32, random weights). */
export const gpt2FixtureDir = fileURLToPath(new URL("../packages/transformer/test/fixtures/models/gpt2-f32", import.meta.url));

/**
 * Value-only attention as two rules: stop the gradient at every query and every key. The
 * scores `q k^T / sqrt(dh)` depend on nothing else, so the pattern gets no gradient path.
 */
export function valueOnlyRules(): Rule[] {
  return [stopGrad("valueOnly.q", { op: "identity", tag: Tags.q }), stopGrad("valueOnly.k", { op: "identity", tag: Tags.k })];
}

/** What the example computes. */
export interface ValueOnlyResult {
  readonly ids: readonly number[];
  /** Plain gradient x input. */
  readonly plain: Explanation;
  /** Gradient x input with the value-only rules. */
  readonly valueOnly: Explanation;
  /** GIM (default settings), for comparison. */
  readonly gim: Explanation;
  /** sqrt(sum (valueOnly - plain)^2) / sqrt(sum plain^2) over the token attributions. */
  readonly relativeChange: number;
  /** Where the value-only rules fired, per layer (see `formatTrace`). */
  readonly firings: string;
}

/**
 * Explains one prediction three ways: plain and GIM (one `explainMethods` call, so one
 * forward pass), and value-only (a second call, since its rules replace every method's).
 * Defaults: the GPT-2 fixture, its golden input ids, baseline token 0.
 */
export function valueOnlyAttention(options: { model?: CausalLM; ids?: readonly number[]; baseline?: number } = {}): ValueOnlyResult {
  const model = options.model ?? loadModel(gpt2FixtureDir);
  const ids = options.ids ?? (JSON.parse(readFileSync(`${gpt2FixtureDir}/golden.json`, "utf8")) as { ids: number[] }).ids;
  const baseline = options.baseline ?? 0;
  // bindRules checks that both rules match places of this model (it throws if one cannot).
  const { rules } = bindRules(model, valueOnlyRules());
  const [plain, gim] = explainMethods(model, ids, ["gradient", "gim"], { baseline });
  const [valueOnly] = explainMethods(model, ids, ["gradient"], { baseline, rules, trace: true, target: plain!.target });
  let num = 0;
  let den = 0;
  plain!.attributions.forEach((p, t) => {
    num += (valueOnly!.attributions[t]! - p) ** 2;
    den += p * p;
  });
  return { ids, plain: plain!, valueOnly: valueOnly!, gim: gim!, relativeChange: Math.sqrt(num / den), firings: formatTrace(valueOnly!.trace!) };
}

function main(): void {
  const r = valueOnlyAttention();
  console.log(`GPT-2 fixture (random weights), ids ${JSON.stringify(r.ids)}, target token ${r.plain.target} at position ${r.plain.position} (logit ${r.plain.logit.toFixed(4)}), baseline token ${r.plain.baseline}\n`);
  console.log("Where the value-only rules fired:");
  console.log(r.firings.split("\n").map((l) => "  " + l).join("\n") + "\n");
  console.log("Token attributions, gradient x (embedding - baseline embedding):");
  console.log("  token    id      plain  value-only        gim");
  r.ids.forEach((id, t) => {
    const cells = [r.plain, r.valueOnly, r.gim].map((e) => e.attributions[t]!.toFixed(4).padStart(10));
    console.log(`  ${String(t).padStart(5)} ${String(id).padStart(5)} ${cells.join(" ")}`);
  });
  const rank = (e: Explanation) => e.attributions.map((a, t) => [a, t] as const).sort((x, y) => y[0] - x[0]).map(([, t]) => t);
  console.log(`\n  relative change, value-only vs plain: ${(100 * r.relativeChange).toFixed(1)} %`);
  console.log(`  tokens by attribution, plain:      ${rank(r.plain).join(" ")}`);
  console.log(`  tokens by attribution, value-only: ${rank(r.valueOnly).join(" ")}`);
  console.log(`\nThe difference is the credit plain gradients give tokens for changing where attention looks.`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
