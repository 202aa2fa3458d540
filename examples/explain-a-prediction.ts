/**
 * Explain one prediction of the shipped IOI model, twice from one forward pass: with the plain
 * backward and with GIM's. This is the README's library example, run and tested in CI.
 *
 *   npx tsx examples/explain-a-prediction.ts
 */
import { grad, variable } from "@gim/autograd";
import { modelDir } from "@gim/models/node";
import { bindRules, explain, gim, gradientTimesDelta } from "@gim/rules";
import { loadModel, loadTokenizer } from "@gim/transformer/node";
import { pathToFileURL } from "node:url";

export interface ExplainedPrediction {
  readonly tokens: string[];
  readonly target: string;
  /** GIM attributions from explain(). */
  readonly gim: number[];
  /** The same two methods computed by hand from one forward pass. */
  readonly byHand: { readonly plain: number[]; readonly gim: number[] };
}

export async function explainAPrediction(text = "When Mary and John went to the store, John gave a drink to"): Promise<ExplainedPrediction> {
  const dir = modelDir("ioi-gpt2");
  const model = loadModel(dir); // any Hugging Face folder
  const tokenizer = await loadTokenizer(dir);
  const ids = tokenizer.encode(text);

  // One call: GIM token attributions (target = argmax at the last position by default).
  const result = explain(model, ids, { tokenizer });

  // By hand: one forward, two backward passes with different rules.
  const e = variable(model.embedTokens(ids)); // token embeddings [T, d]
  const out = model.forward({ embeds: e });
  const logit = out.logit(-1, result.target);
  const [plain] = grad(logit, [e]);
  const [modified] = grad(logit, [e], { rules: bindRules(model, gim()).rules });
  const baseline = model.embedTokens([result.baseline]); // [1, d]

  return {
    tokens: ids.map((id) => tokenizer.decodeToken(id)),
    target: tokenizer.decodeToken(result.target),
    gim: result.attributions,
    byHand: { plain: gradientTimesDelta(plain!, e.value, baseline), gim: gradientTimesDelta(modified!, e.value, baseline) },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await explainAPrediction();
  console.log(`target: ${JSON.stringify(r.target)}`);
  console.log("token        plain       GIM");
  r.tokens.forEach((t, i) => console.log(`${JSON.stringify(t).padEnd(10)} ${r.byHand.plain[i]!.toFixed(4).padStart(8)} ${r.gim[i]!.toFixed(4).padStart(9)}`));
}
