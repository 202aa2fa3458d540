/**
 * Reading a backward trace (`grad(..., { trace: true })` or `explain(..., { trace: true })`)
 * by layer: which rules fired in each block, how often, and at which sub-modules.
 *
 *   h.0: gim.freezeNorm x2 (ln_1, ln_2), gim.softmaxTemperature (attn), gim.qScale (attn), ...
 */
import type { TraceEntry } from "@gim/autograd";

/** How often one rule fired in one layer, and where. */
export interface RuleFirings {
  readonly rule: string;
  readonly count: number;
  /** The distinct module paths below the layer where it fired (the layer's own path if none), in forward order. */
  readonly places: readonly string[];
}

/** The rules that fired in one layer (a block such as `h.0`, or a top-level module such as `ln_f`). */
export interface LayerFirings {
  readonly layer: string;
  /** In the order the rules first fire in the forward pass. */
  readonly rules: readonly RuleFirings[];
}

/**
 * The layer a module path belongs to and the rest of the path: the layer is the path up to
 * its first numeric segment (`h.0`, `model.layers.3`), or the whole path when it has none
 * (`ln_f`, `model.norm`).
 */
export function splitLayerPath(path: string): { layer: string; rest: string } {
  const segments = path === "" ? [] : path.split(".");
  const index = segments.findIndex((s) => /^\d+$/.test(s));
  if (index < 0) return { layer: path === "" ? "(top level)" : path, rest: "" };
  return { layer: segments.slice(0, index + 1).join("."), rest: segments.slice(index + 1).join(".") };
}

/** Groups the rule firings of a trace by layer (entries handled by `"default"` are left out), in forward order. */
export function groupTrace(trace: readonly TraceEntry[]): LayerFirings[] {
  const fired = trace.filter((t) => t.rule !== "default").sort((a, b) => a.id - b.id); // forward order
  const layers = new Map<string, Map<string, { count: number; places: string[] }>>();
  for (const entry of fired) {
    const { layer, rest } = splitLayerPath(entry.path);
    const byRule = layers.get(layer) ?? new Map<string, { count: number; places: string[] }>();
    layers.set(layer, byRule);
    const firings = byRule.get(entry.rule) ?? { count: 0, places: [] };
    byRule.set(entry.rule, firings);
    firings.count++;
    const place = rest === "" ? layer : rest;
    if (!firings.places.includes(place)) firings.places.push(place);
  }
  return [...layers].map(([layer, byRule]) => ({ layer, rules: [...byRule].map(([rule, f]) => ({ rule, count: f.count, places: f.places })) }));
}

/**
 * A trace as one line per layer, for display:
 * `h.0: gim.freezeNorm x2 (ln_1, ln_2), gim.softmaxTemperature (attn)`.
 * A rule that fired once is shown without a count.
 */
export function formatTrace(trace: readonly TraceEntry[]): string {
  const layers = groupTrace(trace);
  if (layers.length === 0) return "no rule fired (every node used its default backward)";
  return layers
    .map(({ layer, rules }) => `${layer}: ${rules.map((r) => `${r.rule}${r.count > 1 ? ` x${r.count}` : ""} (${r.places.join(", ")})`).join(", ")}`)
    .join("\n");
}
