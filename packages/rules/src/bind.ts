/**
 * Binding a rule set to a model: every rule must match some place of the model, or the
 * model must have no place of the kind the rule targets (then the rule does not apply, as
 * the gated-MLP scales on GPT-2). A rule that targets places the model has but matches none
 * of them is an error: that is how a silently skipped modification would look.
 */
import { describeMatch, type Rule } from "@gim/autograd";
import { Tags, type CausalLM, type Place } from "@gim/transformer";

/** What {@link bindRules} returns. */
export interface BoundRules {
  /** The rules that apply, marked required so `grad` fails if one then fires nowhere. */
  readonly rules: Rule[];
  /** Rules the model has no place for, with the reason. */
  readonly skipped: { readonly rule: string; readonly reason: string }[];
  /** For each applied rule, how many places of a forward pass it matches. */
  readonly matches: ReadonlyMap<string, number>;
}

/** Every tag a model of `@gim/transformer` can carry (a rule's tag outside this set is a typo). */
const knownTags: ReadonlySet<string> = new Set(Object.values(Tags));

/**
 * Binds `rules` to `model`: returns the rules that match some place of it (marked required),
 * skips rules whose tag this model family has no place for (reported in `skipped`), and
 * throws for a rule that matches none of the places it targets, or names a tag no model has.
 */
export function bindRules(model: CausalLM, rules: readonly Rule[]): BoundRules {
  const places = model.places();
  const bound: Rule[] = [];
  const skipped: { rule: string; reason: string }[] = [];
  const matches = new Map<string, number>();
  for (const r of rules) {
    const hits = places.filter((p) => r.matches(p)).length;
    if (hits > 0) {
      bound.push({ ...r, required: true });
      matches.set(r.name, hits);
      continue;
    }
    const tag = r.match.tag;
    const tagged: Place[] = tag === undefined ? [] : places.filter((p) => p.tags.includes(tag));
    if (tag !== undefined && tagged.length === 0 && !knownTags.has(tag)) {
      throw new Error(`rule '${r.name}' (${describeMatch(r.match)}) names the tag ${tag}, which no model has; tags: ${[...knownTags].join(", ")}`);
    }
    if (tag !== undefined && tagged.length === 0) {
      skipped.push({ rule: r.name, reason: `the ${model.config.modelType} model has no place tagged ${tag}` });
      continue;
    }
    const where = tag !== undefined ? `${tagged.length} places tagged ${tag} (ops: ${[...new Set(tagged.map((p) => p.op))].join(", ")})` : `${places.length} places`;
    throw new Error(`rule '${r.name}' (${describeMatch(r.match)}) matches none of the model's ${where}`);
  }
  return { rules: bound, skipped, matches };
}
