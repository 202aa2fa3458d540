/**
 * `pnpm bench NAME [--json] [...]`: runs one benchmark and prints its figures.
 * Each benchmark lives next to its package (`packages/<pkg>/bench/<name>.ts`) and exports `main(args)`.
 */
const benches: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  matmul: () => import("../packages/tensor/bench/matmul.js"),
  model: () => import("../packages/transformer/bench/model.js"),
  gim: () => import("../packages/rules/bench/gim.js"),
  train: () => import("../packages/models/bench/train.js"),
  "self-repair-share": () => import("../packages/eval/bench/selfRepairShare.js"),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join("|")}> [--json]${name ? ` (unknown benchmark '${name}')` : ""}`);
  process.exit(2);
}
await (await load()).main(args);
