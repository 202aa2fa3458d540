/**
 * Custom backward rules: one forward pass, differentiated several ways.
 *
 *   npx tsx examples/custom-rule.ts
 *
 * 1. A rule that halves the gradient flowing back through a tagged place (`scaleGrad`).
 * 2. A rule that replaces an attention softmax's backward with the VJP evaluated at
 *    softmax(x / T) (GIM's temperature-adjusted softmax gradient), matched by op and tag.
 * 3. `gradcheck` with rules: a rule meant to be exact passes; the temperature rule is reported
 *    as different from the true gradient, which is what it is designed to be.
 */
import { pathToFileURL } from "node:url";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import {
  grad, gradcheck, matmul, mul, rule, scaleGrad, scope, softmax, softmaxBackward, softmaxForward, sum, tag, tagged, tanh, variable,
  type GradcheckReport, type TraceEntry,
} from "@gim/autograd";

/** Everything the example computes, for printing and for its test. */
export interface CustomRuleExample {
  scale: {
    x: Tensor;
    w: Tensor;
    c: Tensor;
    /** d/dx of sum(tanh(x @ w) * c) with default rules. */
    plain: Tensor;
    /** The same with the gradient through the place tagged "h" halved. */
    halved: Tensor;
    trace: TraceEntry[];
  };
  temperature: {
    scores: Tensor;
    v: Tensor;
    /** Upstream gradient of the attention output softmax(scores) @ v. */
    upstream: Tensor;
    temperature: number;
    plain: Tensor;
    tsg: Tensor;
    trace: TraceEntry[];
  };
  gradchecks: { exactRule: GradcheckReport; temperatureRule: GradcheckReport };
}

/** Runs the three parts of the example (seeded, float64) and returns what they computed. */
export function customRuleExample(): CustomRuleExample {
  const rng = new T.Rng(7);
  const f64 = (shape: number[]) => T.randNormal(shape, { rng, dtype: "float64" });

  // 1. Halve the gradient through a tagged place. Every path from x to y passes through h,
  //    so the gradient with respect to x halves too.
  const x = variable(f64([2, 3]), "x");
  const w = f64([3, 4]);
  const c = f64([2, 4]); // random weights on the output, so the upstream gradient is not all ones
  const y = scope("block", () => sum(mul(tanh(tag(matmul(x, w), "h")), c)));
  const [plainX] = grad(y, [x]);
  const halfAtH = scaleGrad("half at h", 0.5, { tag: "h" }, { required: true });
  const halved = grad(y, [x], { rules: [halfAtH], trace: true });

  // 2. A temperature rule for the attention softmax only, matched by op AND tag.
  const scores = variable(f64([3, 5]), "scores");
  const v = f64([5, 2]);
  const upstream = f64([3, 2]);
  const temperature = 2;
  const pattern = scope("h.0", () => scope("attn", () => tagged("attn.pattern", () => softmax(scores)))); // [3, 5]
  const out = matmul(pattern, v); // [3, 2]
  const tsg = rule(
    "temperature softmax",
    { op: "softmax", tag: "attn.pattern" },
    // ctx.inputs.x is the softmax's input; ctx.grad is dL/d(softmax output).
    ({ inputs, grad: dp }) => ({ x: softmaxBackward(softmaxForward(T.div(inputs.x, temperature)), dp) }),
    { required: true },
  );
  const [plainScores] = grad(out, [scores], { seed: upstream });
  const withTsg = grad(out, [scores], { seed: upstream, rules: [tsg], trace: true });

  // 3. gradcheck compares the backward under a rule set with finite differences of the true function.
  const exactTanh = rule("exact tanh", { op: "tanh" }, ({ output, grad: dy }) => ({ x: T.mul(dy, T.sub(1, T.square(output))) }));
  const exactRule = gradcheck((a) => sum(mul(tanh(a), c)), [f64([2, 4])], { rules: [exactTanh] });
  const temperatureRule = gradcheck((s) => matmul(tagged("attn.pattern", () => softmax(s)), v), [scores.value], { rules: [tsg] });

  return {
    scale: { x: x.value, w, c, plain: plainX!, halved: halved.grads[0]!, trace: halved.trace },
    temperature: { scores: scores.value, v, upstream, temperature, plain: plainScores!, tsg: withTsg.grads[0]!, trace: withTsg.trace },
    gradchecks: { exactRule, temperatureRule },
  };
}

function show(t: Tensor): string {
  const rows = t.toArray() as number[][];
  return rows.map((r) => "    " + r.map((v) => v.toFixed(4).padStart(8)).join(" ")).join("\n");
}

function showTrace(trace: readonly TraceEntry[]): string {
  return trace.map((e) => `    ${e.op.padEnd(9)} ${(e.path || "(top)").padEnd(9)} [${e.tags.join(", ")}]`.padEnd(44) + ` -> ${e.rule}`).join("\n");
}

function main(): void {
  const r = customRuleExample();
  console.log("1. scaleGrad('half at h', 0.5, { tag: 'h' }) on y = sum(tanh(x @ w) * c)\n");
  console.log("  plain dy/dx:\n" + show(r.scale.plain));
  console.log("  with the rule (every entry halved, since all of x's influence passes through h):\n" + show(r.scale.halved));
  console.log("  which rule handled which node:\n" + showTrace(r.scale.trace) + "\n");

  console.log(`2. A temperature rule (T = ${r.temperature.temperature}) on the attention softmax: ds = pT * (dp - sum(pT * dp)), pT = softmax(s / T)\n`);
  console.log("  plain d/dscores:\n" + show(r.temperature.plain));
  console.log("  with the rule (the same forward, differentiated again):\n" + show(r.temperature.tsg));
  console.log("  trace:\n" + showTrace(r.temperature.trace) + "\n");

  console.log("3. gradcheck with rules");
  console.log("  a rule that re-implements tanh's backward exactly:");
  console.log(indent(r.gradchecks.exactRule.format()));
  console.log("  the temperature rule (deliberately not the true gradient, so gradcheck reports it):");
  console.log(indent(r.gradchecks.temperatureRule.format()));
}

function indent(text: string): string {
  return text.split("\n").map((l) => "    " + l).join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
