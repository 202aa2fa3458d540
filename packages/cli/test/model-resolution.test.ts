/**
 * `--model` takes a folder, a shipped model's name, or a Hugging Face hub id already in the
 * local cache (never downloaded), in every command; what was tried is said in one line.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gim, jsonLines, modelsDir } from "./helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gim-hub-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A hub cache holding `org/tiny` at commit `abc...`, as huggingface_hub lays it out (blobs linked from the snapshot). */
function fakeCache(): string {
  const cache = path.join(tmp, "hub");
  if (fs.existsSync(cache)) return cache;
  const repo = path.join(cache, "models--org--tiny");
  const commit = "a".repeat(40);
  const snapshot = path.join(repo, "snapshots", commit);
  fs.mkdirSync(snapshot, { recursive: true });
  fs.mkdirSync(path.join(repo, "blobs"), { recursive: true });
  fs.mkdirSync(path.join(repo, "refs"), { recursive: true });
  const fixture = path.join(modelsDir, "gpt2-f32");
  for (const file of fs.readdirSync(fixture)) {
    const blob = path.join(repo, "blobs", `blob-${file}`);
    fs.copyFileSync(path.join(fixture, file), blob);
    fs.symlinkSync(path.relative(snapshot, blob), path.join(snapshot, file));
  }
  fs.writeFileSync(path.join(repo, "refs", "main"), `${commit}\n`);
  return cache;
}

describe("--model", () => {
  it("takes a shipped model's name in explain, logits and components", async () => {
    const explain = await gim(["explain", "--model", "ioi-llama", "--json", "When Mary and John went to the store, John gave a drink to"]);
    expect(explain.code).toBe(0);
    expect(jsonLines(explain.stdout)[0]!["model"]).toBe("ioi-llama");
    const logits = await gim(["logits", "--model", "induction-gpt2", "--ids", "1,2,3", "--json"]);
    expect(logits.code).toBe(0);
  });

  it("finds a hub id in the Hugging Face cache (HF_HUB_CACHE, HF_HOME), at main or at a revision, and gives the same logits as the folder", async () => {
    const cache = fakeCache();
    const folder = await gim(["logits", "--model", path.join(modelsDir, "gpt2-f32"), "--ids", "5,17,3", "--json"]);
    for (const env of [{ HF_HUB_CACHE: cache }, { HF_HOME: tmp }]) {
      const viaHub = await gim(["logits", "--model", "org/tiny", "--ids", "5,17,3", "--json"], { env });
      expect(viaHub.stderr).toBe("");
      expect(viaHub.stdout).toBe(folder.stdout.replace('"model":"gpt2-f32"', '"model":"org/tiny"'));
    }
    const pinned = await gim(["logits", "--model", `org/tiny@${"a".repeat(40)}`, "--ids", "5,17,3", "--json"], { env: { HF_HUB_CACHE: cache } });
    expect(JSON.parse(pinned.stdout).logits).toEqual(JSON.parse(folder.stdout).logits);
  });

  it("says in one line what it tried when nothing fits, and exits 1 (as for a missing folder)", async () => {
    const cache = fakeCache();
    const cases: [string[], RegExp][] = [
      [["--model", "gpt2"], /^gim: --model gpt2: no folder .*gpt2, no shipped model of that name \(ioi-gpt2, ioi-llama, induction-gpt2[^)]*\), and gpt2 is not in the local Hugging Face cache \(.*models--gpt2 does not exist\); nothing is downloaded here/],
      [["--model", "org/tiny@v2"], /^gim: --model org\/tiny@v2: .*org\/tiny: the cache has no revision "v2"/],
      [["--model", "./no/such/dir"], /^gim: model folder .*no\/such\/dir does not exist\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await gim(["logits", ...args, "--ids", "1"], { env: { HF_HUB_CACHE: cache } });
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split("\n")).toHaveLength(2);
    }
  });
});
