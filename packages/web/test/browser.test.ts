/**
 * The explorable in a real browser (Debian's Chromium, driven by playwright-core): the page
 * loads the shipped model, explains the README's prompt, and its numbers are checked against
 * the library run here in Node; each modification is switched and the page must move exactly
 * as the library says; the gpu.js WebGL matmul is checked against the CPU kernel. The site is
 * built once per run and served with the isolation headers `pnpm web preview` sends (the CPU
 * matmul then runs on Web Workers), and again without them, as a host that cannot set headers
 * (the service worker adds them, or without it the matmul runs on one thread). Screenshots go
 * to packages/web/test-artifacts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { modelDir } from "@gim/models/node";
import { compareComponentMethods, explain, listEdges, gim, gimDefaults, gimOff, logitDiff, type GimOptions } from "@gim/rules";
import { grad, variable } from "@gim/autograd";
import { placeVars } from "@gim/transformer";
import { loadModel, loadTokenizer } from "@gim/transformer/node";
import type { CausalLM, Tokenizer } from "@gim/transformer";
import { isolationHeaders } from "../vite.config.js";
import { timingModel } from "../src/explorer.js";
import { artifactsDir, buildSite, chromiumPath, hasChromium, launchChromium, serveStatic } from "./harness.js";

const PROMPT = "When Mary and John went to the store, John gave a drink to"; // the README's
const CORRUPTED = "When Mary and John went to the store, Paul gave a drink to";

/** GIM and plain attributions of the random-weight timing model the page builds (`gpt2-wide`, with the shipped GPT-2's vocabulary), by the library here. */
async function timingAttributions(prompt: string) {
  const tokenizer = await loadTokenizer(modelDir("ioi-gpt2"));
  const model = timingModel("gpt2-wide", loadModel(modelDir("ioi-gpt2")).vocabSize);
  const ids = tokenizer.encode(prompt, { addSpecialTokens: true });
  return { gim: explain(model, ids, { tokenizer, method: "gim", gim: {} }).attributions, plain: explain(model, ids, { tokenizer, method: "gradient" }).attributions };
}

/** Times an explain on the page's `gpt2-wide` model, on every thread or one; returns what the page reports. */
async function timeOnPage(page: Page, threads: "all" | "1") {
  const before = await page.evaluate(() => Number(document.body.dataset.speeds ?? "0"));
  await page.selectOption("#speed-shape", "gpt2-wide");
  await page.selectOption("#speed-threads", threads);
  await page.click("#speed-run");
  await page.waitForFunction((b) => document.body.dataset.error || Number(document.body.dataset.speeds ?? "0") > b, before, { timeout: 120_000 });
  expect(await page.evaluate(() => document.body.dataset.error ?? null), "the page's error").toBeNull();
  const d = await page.locator("#speed-result").evaluate((e) => ({ ...(e as HTMLElement).dataset }));
  return { threads: Number(d.threads), workerTasks: Number(d.workerTasks), forwardMs: Number(d.forwardMs), gim: JSON.parse(d.gim!) as number[], plain: JSON.parse(d.plain!) as number[], text: await page.locator("#speed-result").innerText() };
}

/**
 * Times on every thread until the Web Workers have taken tasks (at most `tries` runs): each job
 * of this small model takes well under a millisecond, so on a loaded machine the page's worker
 * can finish one before a Web Worker is scheduled at all. Every run must give the same numbers.
 */
async function timeUntilWorkersHelp(page: Page, tries = 5) {
  const first = await timeOnPage(page, "all");
  let run = first;
  for (let i = 1; i < tries && run.workerTasks === 0; i++) {
    run = await timeOnPage(page, "all");
    expect(run.gim).toEqual(first.gim);
  }
  return run;
}

function expectNear(actual: readonly number[], expected: readonly number[], what: string) {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]: page ${actual[i]} vs library ${expected[i]}`).toBeLessThanOrEqual(1e-5 * scale);
}

/** The page's timing model attributions on every thread, from the isolated run, for the runs without isolation to match. */
let pooled: { gim: number[]; plain: number[] } | undefined;

/** The site, built once per run (removed after the last tests). */
let built: Promise<string> | undefined;
const theSite = () => (built ??= buildSite());

if (!hasChromium) {
  describe("the web explorable in Chromium", () => {
    it.skip(`skipped: no Chromium at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM=/path/to/chromium)`, () => {});
  });
} else {
  describe("the web explorable in Chromium", () => {
    let server: Awaited<ReturnType<typeof serveStatic>>;
    let browser: Awaited<ReturnType<typeof launchChromium>>;
    let context: BrowserContext;
    let page: Page;
    const pageErrors: string[] = [];
    const models = new Map<string, { model: CausalLM; tokenizer: Tokenizer }>();

    async function library(name: string) {
      if (!models.has(name)) models.set(name, { model: loadModel(modelDir(name)), tokenizer: await loadTokenizer(modelDir(name)) });
      return models.get(name)!;
    }

    /** GIM and plain attributions the library computes in Node for the prompt. */
    async function libraryAttributions(name: string, settings: GimOptions, target?: number, prompt = PROMPT) {
      const { model, tokenizer } = await library(name);
      const ids = tokenizer.encode(prompt, { addSpecialTokens: true });
      const common = { tokenizer, ...(target !== undefined ? { target } : {}) };
      return {
        gim: explain(model, ids, { ...common, method: "gim", gim: settings }),
        plain: explain(model, ids, { ...common, method: "gradient" }),
      };
    }

    const counter = (name: string) => page.evaluate((n) => Number(document.body.dataset[n] ?? "0"), name);

    /** Runs `action`, then waits until the view's counter moved and the worker is idle. */
    async function andWait(name: string, action: () => Promise<unknown>) {
      const before = await counter(name);
      await action();
      await page.evaluate(() => delete document.body.dataset.error);
      await page.waitForFunction(([n, b]) => document.body.dataset.error || (Number(document.body.dataset[n as string] ?? "0") > (b as number) && document.body.dataset.busy === "0"), [name, before] as const, { timeout: 60_000 });
      expect(await page.evaluate(() => document.body.dataset.error ?? null), "the page's error").toBeNull();
    }

    const rowValues = (label: string) =>
      page.$$eval(`#heatmap .gim-heatmap-row[data-label="${label}"] .gim-token`, (spans) => spans.map((s) => Number((s as HTMLElement).dataset.value)));

    function expectClose(actual: readonly number[], expected: readonly number[], what: string) {
      expect(actual.length, what).toBe(expected.length);
      const scale = Math.max(...expected.map(Math.abs));
      for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]: page ${actual[i]} vs library ${expected[i]}`).toBeLessThanOrEqual(1e-5 * scale);
    }

    const differs = (a: readonly number[], b: readonly number[]) => a.some((v, i) => Math.abs(v - b[i]!) > 1e-4 * Math.max(...b.map(Math.abs)));

    beforeAll(async () => {
      server = await serveStatic(await theSite(), isolationHeaders);
      browser = await launchChromium();
      context = browser.context;
      page = await context.newPage();
      page.on("pageerror", (e) => pageErrors.push(e.message));
      fs.mkdirSync(artifactsDir, { recursive: true });
      await page.goto(server.url);
      await page.waitForFunction(() => Number(document.body.dataset.renders ?? "0") >= 1 && document.body.dataset.busy === "0", null, { timeout: 60_000 });
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close().catch(() => {});
    });

    it("loads the shipped model, says which matmul backend ran, and explains the README's prompt as the library does", async () => {
      expect(await page.evaluate(() => document.body.dataset.model)).toBe("ioi-gpt2");
      expect(await page.locator("#backend-info").getAttribute("data-backend")).toMatch(/^wasm/);
      const tokens = await page.$$eval('#heatmap .gim-heatmap-row[data-label="GIM"] .gim-token', (s) => s.map((x) => x.textContent));
      expect(tokens.join("")).toBe(PROMPT);
      const { gim: g, plain } = await libraryAttributions("ioi-gpt2", {});
      expect(await page.locator("#target-select").inputValue()).toBe(String(g.target)); // " Mary", the argmax
      expectClose(await rowValues("GIM"), g.attributions, "GIM");
      expectClose(await rowValues("gradient × input"), plain.attributions, "gradient × input");
      expect(differs(g.attributions, plain.attributions)).toBe(true);
      // Hovering a token shows both values; the table under the heatmaps holds the same numbers.
      await page.hover('#heatmap .gim-heatmap-row[data-label="GIM"] .gim-token[data-index="1"]');
      const hover = await page.locator("#hover-value").innerText();
      const [hPlain, hGim] = [...hover.matchAll(/(?:input|GIM) ([-+.\deE]+)/g)].map((m) => Number(m[1]));
      expect(hover.startsWith('#1 " Mary"')).toBe(true);
      expect(Math.abs(hPlain! - plain.attributions[1]!)).toBeLessThanOrEqual(1e-5 * Math.abs(plain.attributions[1]!));
      expect(Math.abs(hGim! - g.attributions[1]!)).toBeLessThanOrEqual(1e-5 * Math.abs(g.attributions[1]!));
      const tableGim = await page.$$eval(".attribution-table tr[data-index] td:nth-of-type(3)", (c) => c.map((x) => Number((x as HTMLElement).dataset.value)));
      expect(tableGim).toEqual(await rowValues("GIM"));
      // The trace: GIM's rules fired in every block, and the final norm was frozen.
      expect(await page.getAttribute('.trace-box[data-place="h.0.attn"]', "data-rules")).toContain("gim.softmaxTemperature");
      expect(await page.getAttribute('.trace-box[data-place="ln_f"]', "data-rules")).toBe("gim.freezeNorm");
      await page.screenshot({ path: path.join(artifactsDir, "explorable.png"), fullPage: true });
      // The README's picture (docs/img/web-explorable.png is a copy): the heatmaps, the switches and the trace.
      const bottom = await page.$eval("#trace", (e) => e.getBoundingClientRect().bottom + window.scrollY);
      await page.screenshot({ path: path.join(artifactsDir, "readme.png"), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom) + 16 } });
      expect(pageErrors).toEqual([]);
    });

    it("is cross-origin isolated under the preview's headers: the CPU matmul runs on Web Workers and gives the one-thread numbers", async () => {
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      const threads = Math.min(8, cores);
      const info = page.locator("#backend-info");
      expect(Number(await info.getAttribute("data-threads"))).toBe(threads);
      expect(await info.getAttribute("data-why")).toBeNull();
      if (cores > 1) expect(await info.innerText()).toContain(`on ${threads} threads (the page's worker and ${threads - 1} Web Worker`);
      expect(await page.locator("#timing").getAttribute("data-threads")).toBe(String(threads));
      expect(Number(await page.locator("#timing").getAttribute("data-forward-ms"))).toBeGreaterThan(0);
      // A model whose products are large enough to be shared out: the Web Workers take tasks, and change no number.
      const all = cores > 1 ? await timeUntilWorkersHelp(page) : await timeOnPage(page, "all");
      expect(all.threads).toBe(threads);
      if (cores > 1) expect(all.workerTasks).toBeGreaterThan(0);
      const one = await timeOnPage(page, "1");
      expect(one).toMatchObject({ threads: 1, workerTasks: 0 });
      expect(all.gim).toEqual(one.gim); // same tiles, same sums: bit for bit
      expect(all.plain).toEqual(one.plain);
      const lib = await timingAttributions(PROMPT);
      expectNear(all.gim, lib.gim, "GIM of the timing model");
      expectNear(all.plain, lib.plain, "gradient × input of the timing model");
      pooled = all;
      await page.selectOption("#speed-threads", "all");
    });

    it("switches each modification off and on: the page moves exactly as the library says, with no new forward pass", async () => {
      const passes = () => page.locator("#passes").innerText();
      const forwardsBefore = /forward passes so far: (\d+)/.exec(await passes())![1];
      const allOn = await rowValues("GIM");
      const offs: [string, GimOptions][] = [
        ["freezeNorm", { freezeNorm: false }],
        ["tsg", { temperature: 1 }],
        ["qkv", { qScale: 1, kScale: 1, vScale: 1 }],
        ["gateUp", { gateScale: 1, upScale: 1 }],
      ];
      for (const [part, off] of offs) {
        await andWait("renders", () => page.click(`#switch-${part}`));
        const page1 = await rowValues("GIM");
        const { gim: lib } = await libraryAttributions("ioi-gpt2", off);
        expectClose(page1, lib.attributions, `GIM with ${part} off`);
        // GPT-2 has no gated MLP: the library says gate/up changes nothing there; every other part changes the numbers.
        expect(differs(page1, allOn), `${part} off changes the attributions`).toBe(part !== "gateUp");
        await andWait("renders", () => page.click(`#switch-${part}`));
        expectClose(await rowValues("GIM"), allOn, `GIM with ${part} back on`);
      }
      // Every part off: GIM is exactly the plain gradient.
      for (const [part] of offs) await andWait("renders", () => page.click(`#switch-${part}`));
      expect(await rowValues("GIM")).toEqual(await rowValues("gradient × input"));
      for (const [part] of offs) await andWait("renders", () => page.click(`#switch-${part}`));
      // A slider: TSG at T = 4.
      await andWait("renders", () => page.locator("#slider-temperature").fill("4"));
      expectClose(await rowValues("GIM"), (await libraryAttributions("ioi-gpt2", { temperature: 4 })).gim.attributions, "GIM at T = 4");
      await andWait("renders", () => page.locator("#slider-temperature").fill(String(gimDefaults.temperature)));
      expect(/forward passes so far: (\d+)/.exec(await passes())![1]).toBe(forwardsBefore);
    });

    it("retargets from the top predictions without a new forward pass", async () => {
      const second = await page.$eval("#target-select", (s) => (s as HTMLSelectElement).options[1]!.value);
      await andWait("renders", () => page.selectOption("#target-select", second));
      const { gim: g, plain } = await libraryAttributions("ioi-gpt2", {}, Number(second));
      expectClose(await rowValues("GIM"), g.attributions, "GIM for the second prediction");
      expectClose(await rowValues("gradient × input"), plain.attributions, "plain for the second prediction");
    });

    it("shows a softmax Jacobian row: the score gradients sum to zero, and TSG at T = 1 is the plain gradient", async () => {
      await andWait("jacobians", () => page.click("#attention tr.query[data-row='10']"));
      const column = (i: number) => page.$$eval(`#jacobian tr[data-key] td:nth-of-type(${i})`, (c) => c.map((x) => Number((x as HTMLElement).dataset.value)));
      const [ds, dsT] = [await column(4), await column(5)];
      expect(ds.length).toBe(11);
      const scale = Math.max(...ds.map(Math.abs));
      expect(Math.abs(ds.reduce((a, b) => a + b, 0))).toBeLessThan(1e-6 * scale * ds.length);
      expect(Math.abs(dsT.reduce((a, b) => a + b, 0))).toBeLessThan(1e-6 * scale * ds.length);
      expect(differs(dsT, ds)).toBe(true);
      // The attention table's "cancelled" share for the row is 1 - sum |ds| / sum |p dp| of the same numbers.
      const p = await column(1);
      const dp = await column(3);
      const cancelled = () => page.$$eval("#attention tr.query[data-row='10'] td.cancel", (c) => c.map((x) => Number((x as HTMLElement).dataset.value)));
      const [plainShare, tsgShare] = await cancelled();
      const share = (w: number[], d: number[]) => 1 - d.reduce((a, v) => a + Math.abs(v), 0) / w.reduce((a, v, k) => a + Math.abs(v * dp[k]!), 0);
      expect(plainShare).toBeCloseTo(share(p, ds), 6);
      expect(tsgShare).toBeCloseTo(share(await column(2), dsT), 6);
      await andWait("jacobians", () => page.locator("#slider-temperature").fill("1"));
      expectClose(await column(5), await column(4), "TSG at T = 1");
      const [plainAtOne, tsgAtOne] = await cancelled();
      expect(tsgAtOne).toBeCloseTo(plainAtOne!, 6);
      await andWait("renders", () => page.locator("#slider-temperature").fill(String(gimDefaults.temperature)));
    });

    it("computes the Jacobian row of the last layer as the library's own TSG rule does", async () => {
      // In the last layer no attention lies downstream, so the page's closed forms must equal the
      // gradient the library's backward gives the scores: with GIM (TSG there) and with TSG off.
      await andWait("attentions", () => page.selectOption("#layer-select", "1"));
      await andWait("jacobians", () => page.click("#attention tr.query[data-row='10']"));
      const column = (i: number) => page.$$eval(`#jacobian tr[data-key] td:nth-of-type(${i})`, (c) => c.map((x) => Number((x as HTMLElement).dataset.value)));
      const { model, tokenizer } = await library("ioi-gpt2");
      const ids = tokenizer.encode(PROMPT, { addSpecialTokens: true });
      const e = variable(model.embedTokens(ids));
      const out = model.forward({ embeds: e }, { positions: [-1] });
      const L = out.logit(out.positions[0]!, tokenizer.encode(" Mary")[0]!);
      const places = placeVars(out.logits, ["h.1.attn:attn.pattern", "h.1.attn:attn.scores"]);
      const row = (t: { get(...i: number[]): number }) => Array.from({ length: 11 }, (_, k) => t.get(0, 0, 10, k));
      const [dp, dsGim] = grad(L, [places.get("h.1.attn:attn.pattern")!, places.get("h.1.attn:attn.scores")!], { rules: gim(), unmatched: "ignore" });
      const [dsNoTsg] = grad(L, [places.get("h.1.attn:attn.scores")!], { rules: gim({ temperature: 1 }), unmatched: "ignore" });
      expectClose(await column(3), row(dp!), "dL/dp");
      expectClose(await column(5), row(dsGim!), "ds with TSG");
      expectClose(await column(4), row(dsNoTsg!), "ds plain");
      await andWait("attentions", () => page.selectOption("#layer-select", "0"));
    });

    it("scores components and edges against exact patching as the library does", async () => {
      await andWait("componentRenders", () => page.click("#score-components"));
      const { model, tokenizer } = await library("ioi-gpt2");
      const clean = tokenizer.encode(PROMPT, { addSpecialTokens: true });
      const corrupted = tokenizer.encode(CORRUPTED, { addSpecialTokens: true });
      const report = compareComponentMethods(model, clean, corrupted, {
        metric: logitDiff({ answer: tokenizer.encode(" Mary")[0]!, wrong: tokenizer.encode(" Robert")[0]!, position: clean.length - 1 }),
        methods: [{ name: "gim", rules: gim() }],
        exact: true,
        faithfulness: false,
      });
      const nodeValues = () => page.$$eval(".component-graph g.node", (g) => g.map((x) => Number((x as HTMLElement).dataset.value)));
      expectClose(await nodeValues(), report.methods[0]!.scores, "GIM component scores");
      await page.selectOption("#score-source", "exact");
      expectClose(await nodeValues(), report.exact!.scores, "exact patching");
      // Edges: the SVG draws the strongest by |exact| (title "name: score"); each must be the library's.
      const { edgeScores: libraryEdges } = compareComponentMethods(model, clean, corrupted, { metric: logitDiff({ answer: tokenizer.encode(" Mary")[0]!, wrong: tokenizer.encode(" Robert")[0]!, position: clean.length - 1 }), methods: [], exact: true, edges: true, faithfulness: false }).exact!;
      const drawn = await page.$$eval(".component-graph path.edge title", (t) => t.map((x) => x.textContent!));
      expect(drawn.length).toBeGreaterThan(10);
      const maxEdge = Math.max(...libraryEdges!.map(Math.abs));
      const edgeNames = listEdges(model).map((e) => e.name);
      for (const title of drawn) {
        const [name, value] = title.split(": ") as [string, string];
        expect(Math.abs(Number(value) - libraryEdges![edgeNames.indexOf(name)]!), title).toBeLessThanOrEqual(1e-5 * maxEdge);
      }
      await page.locator("#components-section").screenshot({ path: path.join(artifactsDir, "components.png") });
      await page.locator("#attention-section").screenshot({ path: path.join(artifactsDir, "attention.png") });
    });

    it("runs the model's matmuls on gpu.js (WebGL in the worker) and explains as the library does, to float32 rounding", async () => {
      const onCpu = await rowValues("GIM");
      await andWait("renders", () => page.selectOption("#backend-select", "gpu"));
      expect(await page.locator("#backend-info").getAttribute("data-backend")).toMatch(/^gpu\.js-webgl2?: /);
      const { gim: g, plain } = await libraryAttributions("ioi-gpt2", {});
      const close = (actual: number[], expected: number[], what: string) => {
        const scale = Math.max(...expected.map(Math.abs));
        for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `${what}[${i}]`).toBeLessThanOrEqual(1e-3 * scale);
      };
      const onGpu = await rowValues("GIM");
      close(onGpu, g.attributions, "GIM on gpu.js");
      expect(onGpu, "the GPU's float32 sums round differently from the CPU kernel's").not.toEqual(onCpu);
      close(await rowValues("gradient × input"), plain.attributions, "plain on gpu.js");
      await andWait("renders", () => page.selectOption("#backend-select", "cpu"));
      expect(await page.locator("#backend-info").getAttribute("data-backend")).toMatch(/^wasm/);
      expectClose(await rowValues("GIM"), g.attributions, "GIM back on the CPU kernel");
    });

    it("checks the gpu.js WebGL matmul against the CPU kernel", async () => {
      await page.click("#gpu-check");
      await page.waitForFunction(() => document.getElementById("gpu-result")!.dataset.mode, null, { timeout: 60_000 });
      const result = page.locator("#gpu-result");
      expect(await result.getAttribute("data-mode")).toMatch(/^webgl2?$/);
      expect(Number(await result.getAttribute("data-relative-error"))).toBeLessThan(1e-5);
    });

    it("says clearly when dropped files are not a model, and loads a Llama where gate/up scaling moves the numbers", async () => {
      await page.setInputFiles("#file-input", [{ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") }]);
      await page.waitForFunction(() => document.body.dataset.error, null, { timeout: 30_000 });
      expect(await page.locator("#error").innerText()).toBe("chosen files has no config.json: it is not a Hugging Face model folder");
      await page.setInputFiles("#file-input", [{ name: "config.json", mimeType: "application/json", buffer: Buffer.from("{ not json") }]);
      await page.waitForFunction(() => document.body.dataset.error && document.body.dataset.error.includes("config.json"), null, { timeout: 30_000 });
      expect(await page.locator("#error").innerText()).toMatch(/config\.json/);
      expect(await page.locator("#error").innerText()).not.toMatch(/\n/);

      // A drop of the shipped GPT-2's files (as loose files) loads them.
      await andWait("renders", () =>
        page.evaluate(async (files) => {
          const transfer = new DataTransfer();
          for (const f of files) transfer.items.add(new File([await (await fetch(`models/ioi-gpt2/${f}`)).arrayBuffer()], f));
          document.getElementById("drop-zone")!.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }, ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]),
      );
      expect(await page.evaluate(() => document.body.dataset.model)).toBe("dropped files");
      expectClose(await rowValues("GIM"), (await libraryAttributions("ioi-gpt2", {})).gim.attributions, "GIM of the dropped folder");

      // A URL that holds no model folder, then the Llama by its folder's URL (files found by probing).
      await page.fill("#model-url", "models/no-such-model/");
      await page.click("#load-url");
      await page.waitForFunction(() => document.body.dataset.error, null, { timeout: 30_000 });
      expect(await page.locator("#error").innerText()).toMatch(/^\S+\/models\/no-such-model\/config\.json is not there \(HTTP 404\): \S+ is not a model folder$/);
      await page.fill("#model-url", "models/ioi-llama/");
      await andWait("renders", () => page.click("#load-url"));
      expect(await page.evaluate(() => document.body.dataset.model)).toMatch(/\/models\/ioi-llama\/$/);
      const allOn = await rowValues("GIM");
      expectClose(allOn, (await libraryAttributions("ioi-llama", {})).gim.attributions, "Llama GIM");
      await andWait("renders", () => page.click("#switch-gateUp"));
      const off = await rowValues("GIM");
      expectClose(off, (await libraryAttributions("ioi-llama", { ...gimDefaults, gateScale: gimOff.gateScale, upScale: gimOff.upScale })).gim.attributions, "Llama GIM without gate/up");
      expect(differs(off, allOn)).toBe(true);
      expect(await page.getAttribute('.trace-box[data-place="model.layers.0.mlp"]', "data-rules")).toBe("");
      await andWait("renders", () => page.click("#switch-gateUp"));
      expect(await page.getAttribute('.trace-box[data-place="model.layers.0.mlp"]', "data-rules")).toContain("gim.gateScale");
      expect(pageErrors).toEqual([]);
    });

    it("loads the induction model with a prompt of its own task, and explains it as the library does", async () => {
      await page.selectOption("#model-select", "induction-gpt2");
      await andWait("renders", () => page.click("#load-model"));
      const prompt = await page.locator("#prompt").inputValue();
      expect(prompt).toBe(" q w e r t y u i o p w e r");
      const { gim: g } = await libraryAttributions("induction-gpt2", {}, undefined, prompt);
      expect(await page.locator("#target-select").inputValue()).toBe(String(g.target));
      expect(await page.$eval("#target-select", (s) => (s as HTMLSelectElement).selectedOptions[0]!.text)).toMatch(/^" t"/);
      expectClose(await rowValues("GIM"), g.attributions, "induction GIM");
    });

    it("works offline once loaded: with the network gone, a reload still loads the model and explains", async () => {
      await page.waitForFunction(() => document.body.dataset.offline, null, { timeout: 30_000 });
      expect(await page.evaluate(() => document.body.dataset.offline)).toBe("ready");
      await context.setOffline(true);
      await server.close(); // the server is gone too, not only the network
      try {
        await page.reload();
        await page.waitForFunction(() => Number(document.body.dataset.renders ?? "0") >= 1 && document.body.dataset.busy === "0", null, { timeout: 60_000 });
        expectClose(await rowValues("GIM"), (await libraryAttributions("ioi-gpt2", {})).gim.attributions, "GIM offline");
      } finally {
        await context.setOffline(false);
      }
    });
  });

  describe("the web explorable when the matmul's Web Workers cannot start", () => {
    it("says why it runs on one thread, stops starting them, and gives the same numbers", async () => {
      // Isolated, but the pool's worker script is missing (404): each start fails; after 3 the pool works alone.
      const server = await serveStatic(await theSite(), isolationHeaders, /\/pool-worker[^/]*\.js$/);
      const browser = await launchChromium({ serviceWorkers: "block" });
      try {
        const page = await browser.context.newPage();
        await page.goto(server.url);
        await page.waitForFunction(() => Number(document.body.dataset.renders ?? "0") >= 1 && document.body.dataset.busy === "0", null, { timeout: 90_000 });
        expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
        const info = page.locator("#backend-info");
        expect(await info.getAttribute("data-threads")).toBe("1");
        expect(await info.getAttribute("data-why")).toMatch(/^the matmul Web Workers failed to start \(.+\)$/);
        const all = await timeOnPage(page, "all");
        expect(all).toMatchObject({ threads: 1, workerTasks: 0 });
        if (pooled) expect(all.gim).toEqual(pooled.gim);
        expectNear(all.gim, (await timingAttributions(PROMPT)).gim, "GIM of the timing model with no Web Workers");
      } finally {
        await browser.close();
        await server.close();
      }
    });
  });

  describe("the web explorable on a host that sends no isolation headers", () => {
    let server: Awaited<ReturnType<typeof serveStatic>>;

    beforeAll(async () => {
      server = await serveStatic(await theSite()); // no headers, as GitHub Pages
    });

    afterAll(async () => {
      await server?.close().catch(() => {});
      if (built) fs.rmSync(await built, { recursive: true, force: true });
    });

    async function open(serviceWorkers: "allow" | "block") {
      const browser = await launchChromium({ serviceWorkers });
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(server.url);
      return { browser, page, errors };
    }

    it("without the service worker: not isolated, says so, runs the matmul on one thread, and gives the same numbers", async () => {
      const { browser, page, errors } = await open("block");
      try {
        await page.waitForFunction(() => Number(document.body.dataset.renders ?? "0") >= 1 && document.body.dataset.busy === "0", null, { timeout: 60_000 });
        expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
        const info = page.locator("#backend-info");
        expect(await info.getAttribute("data-threads")).toBe("1");
        expect(await info.getAttribute("data-why")).toMatch(/^SharedArrayBuffer is unavailable: the page is not cross-origin isolated/);
        expect(await info.innerText()).toMatch(/on 1 thread \(the page's worker\): SharedArrayBuffer is unavailable/);
        const { gim: g, plain } = await (async () => {
          const { model, tokenizer } = { model: loadModel(modelDir("ioi-gpt2")), tokenizer: await loadTokenizer(modelDir("ioi-gpt2")) };
          const ids = tokenizer.encode(PROMPT, { addSpecialTokens: true });
          return { gim: explain(model, ids, { tokenizer, method: "gim", gim: {} }), plain: explain(model, ids, { tokenizer, method: "gradient" }) };
        })();
        const row = (label: string) => page.$$eval(`#heatmap .gim-heatmap-row[data-label="${label}"] .gim-token`, (spans) => spans.map((s) => Number((s as HTMLElement).dataset.value)));
        expectNear(await row("GIM"), g.attributions, "GIM without isolation");
        expectNear(await row("gradient × input"), plain.attributions, "gradient × input without isolation");
        const all = await timeOnPage(page, "all");
        expect(all).toMatchObject({ threads: 1, workerTasks: 0 });
        if (pooled) {
          expect(all.gim).toEqual(pooled.gim); // the one thread here gives the pool's numbers bit for bit
          expect(all.plain).toEqual(pooled.plain);
        }
        expectNear(all.gim, (await timingAttributions(PROMPT)).gim, "GIM of the timing model without isolation");
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    });

    it("with the service worker: it adds the headers, the page reloads itself once and runs the matmul on Web Workers", async () => {
      const { browser, page, errors } = await open("allow");
      try {
        await page.waitForFunction(() => crossOriginIsolated && Number(document.body.dataset.renders ?? "0") >= 1 && document.body.dataset.busy === "0", null, { timeout: 90_000 });
        expect(await page.evaluate(() => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).type)).toBe("reload");
        const threads = Math.min(8, await page.evaluate(() => navigator.hardwareConcurrency));
        expect(Number(await page.locator("#backend-info").getAttribute("data-threads"))).toBe(threads);
        const all = threads > 1 ? await timeUntilWorkersHelp(page) : await timeOnPage(page, "all");
        expect(all.threads).toBe(threads);
        if (threads > 1) expect(all.workerTasks).toBeGreaterThan(0);
        if (pooled) expect(all.gim).toEqual(pooled.gim);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  });
}
