/**
 * Models already in the local Hugging Face cache, by hub id (`gpt2`, `meta-llama/Llama-3.2-1B`),
 * without any download: the cache is where `huggingface_hub` and transformers put what they
 * downloaded, `<cache>/models--<org>--<name>/snapshots/<commit>/`, with `refs/<revision>`
 * holding the commit of a branch or tag.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { InputError } from "@gim/tensor";

/** The environment variables the cache location depends on. */
export type HubEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * The hub cache folder, as `huggingface_hub` finds it: `HF_HUB_CACHE`, else `HF_HOME/hub`,
 * else `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
 */
export function hubCacheDir(env: HubEnvironment = process.env): string {
  if (env["HF_HUB_CACHE"]) return env["HF_HUB_CACHE"];
  if (env["HF_HOME"]) return nodePath.join(env["HF_HOME"], "hub");
  const cache = env["XDG_CACHE_HOME"] || nodePath.join(os.homedir(), ".cache");
  return nodePath.join(cache, "huggingface", "hub");
}

/** Whether `text` has the form of a hub model id: `name` or `org/name`, optionally `@revision`. */
export function isHubId(text: string): boolean {
  return /^(?:[\w.-]+\/)?[\w.-]+(?:@[\w./-]+)?$/.test(text) && !text.startsWith(".") && !text.includes("..");
}

/**
 * The snapshot folder of hub model `id` (`org/name`, optionally `@revision`, default `main`) in
 * the local cache. A clear error, naming the folder it looked in, when the model or the
 * revision is not there: nothing is downloaded.
 */
export function hubSnapshotDir(id: string, env: HubEnvironment = process.env): string {
  if (!isHubId(id)) throw new InputError(`"${id}" is not a Hugging Face model id (name or org/name, optionally @revision)`);
  const [repo, revision] = id.includes("@") ? [id.slice(0, id.indexOf("@")), id.slice(id.indexOf("@") + 1)] : [id, "main"];
  const cache = hubCacheDir(env);
  const repoDir = nodePath.join(cache, `models--${repo.replace("/", "--")}`);
  const snapshots = nodePath.join(repoDir, "snapshots");
  if (!fs.existsSync(snapshots)) {
    throw new InputError(`${repo} is not in the local Hugging Face cache (${repoDir} does not exist); nothing is downloaded here: copy the model folder to this machine and pass its path`);
  }
  const refFile = nodePath.join(repoDir, "refs", revision);
  let commit: string | undefined;
  if (fs.existsSync(refFile) && fs.statSync(refFile).isFile()) commit = fs.readFileSync(refFile, "utf8").trim();
  else if (/^[0-9a-f]{40}$/.test(revision)) commit = revision;
  else {
    const all = fs.readdirSync(snapshots);
    if (revision === "main" && all.length === 1) commit = all[0];
    else throw new InputError(`${repo}: the cache has no revision "${revision}" (${refFile} does not exist; snapshots: ${all.join(", ") || "none"})`);
  }
  const dir = nodePath.join(snapshots, commit!);
  if (!fs.existsSync(dir)) throw new InputError(`${repo}@${revision}: the cache names commit ${commit} but ${dir} does not exist`);
  return dir;
}
