/**
 * `pnpm web bench [--shape gpt2-small|gpt2-wide] [--runs N] [--repeat K]`: the explorable's speed in a real
 * browser. Builds the site, serves it on localhost with the isolation headers (as `pnpm web
 * preview`), opens it in headless Chromium, and times an explain of the README's prompt on a
 * random-weight model of the shape (the page's "Time it" button: forward, plain backward, GIM
 * backward; the prompt repeated `repeat` times, for longer inputs), `runs` times on every thread and `runs` times on one, after one warm-up each.
 * Prints the medians with their range, the threads, the cores and the machine's load. Not a
 * test: the figures depend on the machine (run it under `flock /work/quiet.lock` here).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { Page } from "playwright-core";
import { isolationHeaders } from "../vite.config.js";
import { buildSite, chromiumPath, hasChromium, launchChromium, serveStatic } from "../test/harness.js";

interface Run {
  rescuedJobs: number;
  forwardMs: number;
  backwardMs: number;
  threads: number;
  tokens: number;
  parameters: number;
}

async function timeOnce(page: Page, shape: string, threads: "all" | "1"): Promise<Run> {
  const before = await page.evaluate(() => Number(document.body.dataset.speeds ?? "0"));
  await page.selectOption("#speed-shape", shape);
  await page.selectOption("#speed-threads", threads);
  await page.click("#speed-run");
  await page.waitForFunction((b) => document.body.dataset.error || Number(document.body.dataset.speeds ?? "0") > b, before, { timeout: 600_000 });
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error) throw new Error(`the page failed: ${error}`);
  const d = await page.locator("#speed-result").evaluate((e) => ({ ...(e as HTMLElement).dataset }));
  return { rescuedJobs: Number(d.rescuedJobs), forwardMs: Number(d.forwardMs), backwardMs: Number(d.backwardMs), threads: Number(d.threads), tokens: Number(d.tokens), parameters: Number(d.parameters) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const cell = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;

export async function bench(shape: string, runs: number, repeat = 1): Promise<void> {
  if (!hasChromium) throw new Error(`no Chromium at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)`);
  const loadBefore = os.loadavg()[0]!;
  const site = await buildSite();
  const server = await serveStatic(site, isolationHeaders);
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => Number(document.body.dataset.renders ?? "0") >= 1 && document.body.dataset.busy === "0", null, { timeout: 120_000 });
    const backend = await page.locator("#backend-info").innerText();
    const prompt = await page.locator("#prompt").inputValue();
    await page.fill("#prompt", Array.from({ length: repeat }, () => prompt).join(" "));
    const rows: { threads: number; forward: number[]; backward: number[]; rescued: number; first: Run }[] = [];
    for (const threads of ["all", "1"] as const) {
      await timeOnce(page, shape, threads); // warm-up (and, the first time, building the model)
      const measured: Run[] = [];
      for (let i = 0; i < runs; i++) measured.push(await timeOnce(page, shape, threads));
      rows.push({ threads: measured[0]!.threads, rescued: measured.reduce((n, r) => n + r.rescuedJobs, 0), forward: measured.map((r) => r.forwardMs), backward: measured.map((r) => r.backwardMs), first: measured[0]! });
    }
    const first = rows[0]!.first;
    const out = [
      `the explorable in headless Chromium, ${new Date().toISOString().slice(0, 16)} UTC, ${os.cpus().length} cores, load ${loadBefore.toFixed(1)} before / ${os.loadavg()[0]!.toFixed(1)} after`,
      backend,
      `${shape} (random weights, ${first.parameters.toLocaleString("en")} parameters), ${first.tokens} tokens, one explain = forward + plain backward + GIM backward; median (min-max) of ${runs} runs, ms:`,
      "",
      "| threads | forward | backward (plain + GIM) | forward + backward | matmul jobs rescued after 1 s |",
      "| ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((r) => `| ${r.threads} | ${cell(r.forward)} | ${cell(r.backward)} | ${cell(r.forward.map((f, i) => f + r.backward[i]!))} | ${r.rescued} |`),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(site, { recursive: true, force: true });
  }
}
