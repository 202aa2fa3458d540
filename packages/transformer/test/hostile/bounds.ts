/**
 * Bounds for fuzzing: each input accepted or refused with the library's typed error within a
 * time limit, and the process's memory growth over a property bounded.
 */
import { FileFormatError, InputError } from "@gim/tensor";
import { expect } from "vitest";

/** GIM_FUZZ_SCALE=10 runs ten times as many inputs (to search, not in CI). */
const scale = Math.max(1, Number(process.env["GIM_FUZZ_SCALE"] ?? 1) || 1);
export const runs = (n: number) => ({ numRuns: Math.round(n * scale) });

/** Time one input may take (the real files parse in a few milliseconds). */
const MAX_MS_PER_INPUT = 2000;
/** Growth of the resident set over a whole property (a bound on what any one input allocates). */
const MAX_RSS_GROWTH_MB = 512;

/**
 * Runs `parse` on one input: it must return, or throw an InputError whose message is one line
 * (naming `file` when given), within {@link MAX_MS_PER_INPUT}. Anything else is a crash.
 */
export function acceptOrRefuse(parse: () => void, file?: string): "accepted" | "refused" {
  const start = performance.now();
  let outcome: "accepted" | "refused" = "accepted";
  try {
    parse();
  } catch (error) {
    if (!(error instanceof InputError)) throw new Error(`not the library's typed error: ${String(error)}`, { cause: error });
    expect(error.message).not.toMatch(/[\r\n]/);
    if (file !== undefined && error instanceof FileFormatError) expect(error.message).toContain(file);
    outcome = "refused";
  }
  const ms = performance.now() - start;
  if (ms > MAX_MS_PER_INPUT) throw new Error(`took ${ms.toFixed(0)} ms (limit ${MAX_MS_PER_INPUT} ms)`);
  return outcome;
}

/** Runs a fast-check property and asserts the resident set grew by at most {@link MAX_RSS_GROWTH_MB} over it. */
export function withinMemory(run: () => void): void {
  const before = process.memoryUsage().rss;
  run();
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  expect(grown, `resident set grew by ${grown.toFixed(0)} MB`).toBeLessThan(MAX_RSS_GROWTH_MB);
}
