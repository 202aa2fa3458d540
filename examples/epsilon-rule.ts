/**
 * LRP-epsilon as a backward rule: layer-wise relevance propagation written as a modified
 * gradient, so that relevance = input x (gradient under the rule).
 *
 *   npx tsx examples/epsilon-rule.ts
 *
 * For a linear layer z = W a (no bias), LRP-epsilon passes the relevance R_j of each output
 * back to the inputs in proportion to their contributions a_i W_ji, with a stabiliser:
 *
 *   R_i = sum_j a_i W_ji / (z_j + eps * sign(z_j)) * R_j
 *
 * If the relevance at the output is gradient x activation, R_j = z_j g_j, this is
 * R_i = a_i * [W^T (g * z / (z + eps sign z))]_i: a gradient x input whose backward through the
 * linear layer multiplies the upstream gradient by z / (z + eps sign z) first. That factor is
 * the whole rule. At eps = 0 it is 1 and the rule is the plain gradient; for eps > 0 each
 * neuron keeps back the fraction eps / (|z| + eps) of its relevance, so weak, noisy neurons
 * pass on less. A ReLU passes relevance unchanged (its default backward already does), and on
 * a network without biases the relevances of the input then add up to the output exactly at
 * eps = 0 (Euler's theorem for a positively homogeneous function).
 */
import { grad, gradcheck, linear, relu, rule, scope, variable, type GradcheckReport, type Rule, type RuleMatch, type TraceEntry, type Var } from "@gim/autograd";
import * as T from "@gim/tensor";
import type { Tensor } from "@gim/tensor";
import { pathToFileURL } from "node:url";

/**
 * The LRP-epsilon rule for `linear` nodes (optionally narrowed by tag or path):
 * dx = (dy * z / (z + eps sign z)) @ W, with sign(0) = +1. Where z + eps sign z is 0 (eps = 0
 * and z = 0) the output has no relevance and the factor is 0 (LRP's convention 0/0 = 0).
 * The weight gradient is left as it is.
 */
export function lrpEpsilon(epsilon: number, match: Omit<RuleMatch, "op"> = {}): Rule {
  if (!Number.isFinite(epsilon) || epsilon < 0) throw new RangeError(`lrpEpsilon: epsilon must be a finite number >= 0, got ${epsilon}`);
  return rule(`lrpEpsilon(${epsilon})`, { ...match, op: "linear" as const }, ({ inputs: { weight }, output: z, grad: dz, needs }, defaultBackward) => {
    // The fraction of each output's relevance passed on, z / (z + eps sign z), in z's dtype.
    const kept = T.map(z, (v) => {
      const denominator = v + (v >= 0 ? epsilon : -epsilon);
      return denominator === 0 ? 0 : v / denominator; // eps = 0 and z = 0: no relevance to pass on
    });
    return {
      x: needs.x ? T.matmul(T.mul(dz, kept), weight) : undefined,
      weight: needs.weight ? defaultBackward().weight : undefined,
    };
  });
}

/** Weights of a bias-free ReLU network with the given layer sizes (input first), [out, in] each, seeded. */
export function tinyNetwork(sizes: readonly number[], seed: number): Tensor[] {
  const rng = new T.Rng(seed);
  return sizes.slice(1).map((out, l) => T.randNormal([out, sizes[l]!], { rng, std: 1 / Math.sqrt(sizes[l]!), dtype: "float64" }));
}

/** f(a) = W_L relu(... relu(W_1 a)): layers `layer0`, `layer1`, ... with a ReLU between them. a [1, in] -> [1, out]. */
export function runNetwork(weights: readonly Tensor[], a: Var): Var {
  let h = a;
  weights.forEach((w, l) => {
    h = scope(`layer${l}`, () => {
      const z = linear(h, w);
      return l < weights.length - 1 ? relu(z) : z;
    });
  });
  return h;
}

/** Relevances of the inputs for output 0: x * (gradient of f_0 under the LRP-epsilon rule), and the trace. */
export function relevances(weights: readonly Tensor[], x: Tensor, epsilon: number): { output: number; relevance: number[]; trace: TraceEntry[] } {
  const a = variable(x);
  const f = runNetwork(weights, a); // [1, out]
  const seed = T.zeros(f.shape, { dtype: "float64" });
  seed.set([0, 0], 1);
  const { grads, trace } = grad(f, [a], { rules: [lrpEpsilon(epsilon)], seed, trace: true });
  return { output: f.value.get(0, 0), relevance: Array.from(T.contiguousData(T.mul(x, grads[0]!))), trace };
}

/** What the example prints. */
export interface EpsilonExample {
  readonly sizes: readonly number[];
  readonly x: Tensor;
  readonly output: number;
  /** For each epsilon: the input relevances and their sum. */
  readonly rows: readonly { epsilon: number; relevance: number[]; total: number }[];
  /** Which rule handled which node (eps = 0.1). */
  readonly trace: readonly TraceEntry[];
  /** At eps = 0 the rule is exact: gradcheck agrees with finite differences. At eps = 0.1 it does not. */
  readonly gradchecks: { readonly exact: GradcheckReport; readonly epsilon: GradcheckReport };
}

/** A 6-8-8-1 bias-free ReLU network, one random input, relevances for eps in {0, 0.01, 0.1, 1}. */
export function epsilonRuleExample(): EpsilonExample {
  const sizes = [6, 8, 8, 1];
  const weights = tinyNetwork(sizes, 3);
  const x = T.randNormal([1, sizes[0]!], { rng: new T.Rng(4), dtype: "float64" });
  const rows = [0, 0.01, 0.1, 1].map((epsilon) => {
    const { relevance } = relevances(weights, x, epsilon);
    return { epsilon, relevance, total: relevance.reduce((s, r) => s + r, 0) };
  });
  const { output, trace } = relevances(weights, x, 0.1);
  const net = (a: Var) => runNetwork(weights, a);
  return {
    sizes,
    x,
    output,
    rows,
    trace,
    gradchecks: { exact: gradcheck(net, [x], { rules: [lrpEpsilon(0)] }), epsilon: gradcheck(net, [x], { rules: [lrpEpsilon(0.1)] }) },
  };
}

function main(): void {
  const r = epsilonRuleExample();
  const fmt = (v: number) => v.toFixed(4).padStart(8);
  console.log(`A bias-free ReLU network ${r.sizes.join("-")}, input x = [${Array.from(T.contiguousData(r.x), (v) => v.toFixed(3)).join(", ")}], f(x) = ${r.output.toFixed(6)}\n`);
  console.log("Relevance of each input, R = x * (gradient under lrpEpsilon(eps)):");
  console.log(`  ${"eps".padEnd(5)} ${Array.from({ length: r.sizes[0]! }, (_, i) => `R_${i}`.padStart(8)).join(" ")}    sum R   f - sum R`);
  for (const row of r.rows) {
    console.log(`  ${String(row.epsilon).padEnd(5)} ${row.relevance.map(fmt).join(" ")} ${fmt(row.total)} ${(r.output - row.total).toExponential(2).padStart(10)}`);
  }
  console.log("\nAt eps = 0 the relevances add up to f(x) (up to rounding); larger eps absorbs more of it.\n");
  console.log("Which rule handled which node (eps = 0.1):");
  for (const t of r.trace) console.log(`  ${t.op.padEnd(7)} ${t.path.padEnd(7)} -> ${t.rule}`);
  console.log("\ngradcheck of the rule at eps = 0 (the plain gradient, so it must pass):");
  console.log(r.gradchecks.exact.format().split("\n").map((l) => "  " + l).join("\n"));
  console.log("gradcheck at eps = 0.1 (not a gradient any more; gradcheck says so):");
  console.log(r.gradchecks.epsilon.format().split("\n").slice(0, 2).map((l) => "  " + l).join("\n"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
