/**
 * The page: controls, and the views of what the worker computes. All heavy work (loading,
 * the forward pass, every backward pass, patching) runs in the worker; the page only renders.
 */
import { formatNumber, heatmapCss } from "@gim/report";
import shipped from "virtual:shipped-models";
import { WorkerClient } from "./client.js";
import type { MatmulStatus } from "./protocol.js";
import { defaultSettings, type AttentionView, type Attributions, type ComponentResult, type ModelInfo, type Recorded, type Settings } from "./explorer.js";
import { checkGpuMatmul } from "./gpuCheck.js";
import { attentionHtml, attributionsHtml, attributionTableHtml, componentGraphSvg, componentTableHtml, escapeHtml, jacobianHtml, traceDiagramHtml } from "./views.js";
import "./style.css";

document.head.insertAdjacentHTML("beforeend", `<style>${heatmapCss}</style>`);

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const client = new WorkerClient(new Worker(new URL("./worker.ts", import.meta.url), { type: "module" }));
client.onBusy = (pending) => {
  document.body.dataset.busy = pending > 0 ? "1" : "0";
  document.body.classList.toggle("busy", pending > 0);
};
document.body.dataset.busy = "0";

// Counters the browser tests wait on: each completed render of a view bumps its counter.
function bump(name: string): void {
  document.body.dataset[name] = String(Number(document.body.dataset[name] ?? "0") + 1);
}

const state: {
  info?: ModelInfo;
  recorded?: Recorded;
  attributions?: Attributions;
  settings: Settings;
  target?: number;
  layer: number;
  head: number;
  row?: number;
  components?: ComponentResult;
} = { settings: { ...defaultSettings }, layer: 0, head: 0 };

function showError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  $("error").textContent = message;
  document.body.dataset.error = message;
}

function clearError(): void {
  $("error").textContent = "";
  delete document.body.dataset.error;
}

// ---- 1. model ------------------------------------------------------------------------------

const modelSelect = $<HTMLSelectElement>("model-select");
for (const f of shipped) modelSelect.add(new Option(`${f.name} (${(f.bytes / 1024).toFixed(0)} KiB)`, f.name));

/** Says which matmul backend ran and on how many threads (and why one, if so). */
function showMatmul(m: MatmulStatus): void {
  const info = $("backend-info");
  info.textContent = `Matmul backend that ran: ${m.backend}.`;
  info.dataset.backend = m.backend;
  Object.assign(info.dataset, { threads: String(m.threads), workerTasks: String(m.workerTasks), callerTasks: String(m.callerTasks) });
  if (m.why) info.dataset.why = m.why;
  else delete info.dataset.why;
}

async function afterLoad(p: Promise<{ info: ModelInfo; matmul: MatmulStatus; milliseconds: number }>, what: string): Promise<void> {
  clearError();
  $("model-status").textContent = `loading ${what}…`;
  try {
    const loaded = await p;
    state.info = loaded.info;
    state.recorded = undefined;
    state.components = undefined;
    const i = loaded.info;
    $("model-status").textContent = `loaded ${what} in ${loaded.milliseconds.toFixed(0)} ms`;
    $("model-info").innerHTML = `<b>${escapeHtml(i.name)}</b>: ${escapeHtml(i.modelType)}, ${i.layers} layers, ${i.heads} heads, width ${i.hidden}, vocabulary ${i.vocab}, ${i.parameters.toLocaleString("en")} parameters.`;
    showMatmul(loaded.matmul);
    document.body.dataset.model = i.name;
    fillLayerSelects(i);
    renderSwitches();
    bump("loads");
    await explain();
  } catch (e) {
    $("model-status").textContent = `could not load ${what}`;
    showError(e);
  }
}

const ioiExample = { prompt: "When Mary and John went to the store, John gave a drink to", corrupted: "When Mary and John went to the store, Paul gave a drink to" };
// Induction: the tail " w e r" repeats positions 2-4, so the next token copies " t" from after them.
const inductionExample = { prompt: " q w e r t y u i o p w e r", corrupted: " q w e r A y u i o p w e r" };
/** A prompt each shipped model was trained for, and a clean/corrupted pair that changes its answer. */
const examples: Record<string, { prompt: string; corrupted: string }> = {
  "ioi-gpt2": ioiExample,
  "ioi-llama": ioiExample,
  "induction-gpt2": inductionExample,
  "ioi-gpt2-d128l4": ioiExample,
  "ioi-llama-d128l4": ioiExample,
  "induction-gpt2-d128l4": inductionExample,
};

function loadShipped(name: string): Promise<void> {
  const folder = shipped.find((f) => f.name === name)!;
  const example = examples[name];
  if (example) {
    $<HTMLInputElement>("prompt").value = example.prompt;
    $<HTMLInputElement>("clean").value = example.prompt;
    $<HTMLInputElement>("corrupted").value = example.corrupted;
  }
  const base = new URL(`models/${name}/`, document.baseURI).href;
  return afterLoad(client.ask({ kind: "loadUrl", name, base, files: folder.files }), name);
}

/** Reads dropped or chosen files (a folder's files keep their paths; the folder's own name is dropped). */
async function loadFiles(files: File[], name: string): Promise<void> {
  if (files.length === 0) return;
  const byName: Record<string, ArrayBuffer> = {};
  for (const f of files) {
    const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    const inFolder = path.includes("/") ? path.slice(path.indexOf("/") + 1) : path;
    byName[inFolder] = await f.arrayBuffer();
  }
  await afterLoad(client.ask({ kind: "loadFiles", name, files: byName }, Object.values(byName)), name);
}

$("load-model").addEventListener("click", () => void loadShipped(modelSelect.value));
$("load-url").addEventListener("click", () => {
  const text = $<HTMLInputElement>("model-url").value.trim();
  if (text === "") return showError("give the URL of a model folder (the folder holding config.json)");
  let url: string;
  try {
    url = new URL(text, document.baseURI).href;
  } catch {
    return showError(`not a URL: ${text}`);
  }
  void afterLoad(client.ask({ kind: "loadFolderUrl", url }), url);
});
$<HTMLInputElement>("file-input").addEventListener("change", (e) => {
  const files = [...((e.target as HTMLInputElement).files ?? [])];
  void loadFiles(files, "chosen files");
});
$<HTMLInputElement>("folder-input").addEventListener("change", (e) => {
  const files = [...((e.target as HTMLInputElement).files ?? [])];
  const folder = (files[0] as (File & { webkitRelativePath?: string }) | undefined)?.webkitRelativePath?.split("/")[0] ?? "folder";
  void loadFiles(files, folder);
});

/** Every file under a dropped entry (folders are walked), with its path below the dropped folder. */
async function entryFiles(entry: FileSystemEntry, prefix = ""): Promise<{ path: string; file: File }[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    return [{ path: prefix + entry.name, file }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: { path: string; file: File }[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) out.push(...(await entryFiles(child, `${prefix}${entry.name}/`)));
  }
  return out;
}

const dropZone = $("drop-zone");
// From the keyboard, the drop zone opens the file chooser.
dropZone.addEventListener("keydown", (e) => {
  if (e.target === dropZone && (e.key === "Enter" || e.key === " ")) {
    e.preventDefault();
    $("file-input").click();
  }
});
dropZone.addEventListener("dragover", (e) => {
  e.preventDefault();
  dropZone.classList.add("over");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (e) => {
  e.preventDefault();
  dropZone.classList.remove("over");
  const items = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
  // Without file-system entries (some browsers, synthetic drops) the dropped files are loose files.
  const loose = items.length === 0 ? [...(e.dataTransfer?.files ?? [])].map((file) => ({ path: file.name, file })) : [];
  void (async () => {
    const found = [...loose, ...(await Promise.all(items.map((i) => entryFiles(i)))).flat()];
    // One dropped folder: its files by their path inside it; loose files: by name.
    const single = items.length === 1 && items[0]!.isDirectory ? items[0]!.name : undefined;
    const byName: Record<string, ArrayBuffer> = {};
    for (const { path, file } of found) byName[single ? path.slice(single.length + 1) : path] = await file.arrayBuffer();
    if (Object.keys(byName).length === 0) return showError("nothing to load: drop a model folder or its files");
    await afterLoad(client.ask({ kind: "loadFiles", name: single ?? "dropped files", files: byName }, Object.values(byName)), single ?? "dropped files");
  })();
});

// ---- 2. explain ----------------------------------------------------------------------------

async function explain(): Promise<void> {
  if (!state.info) return;
  clearError();
  try {
    state.recorded = await client.ask({ kind: "record", text: $<HTMLInputElement>("prompt").value });
    state.target = undefined;
    state.row = undefined;
    const select = $<HTMLSelectElement>("target-select");
    select.replaceChildren(...state.recorded.predictions.map((p) => new Option(`${JSON.stringify(p.token)}  p = ${formatNumber(p.probability)}  logit ${formatNumber(p.logit)}`, String(p.id))));
    await recompute();
  } catch (e) {
    showError(e);
  }
}

$("explain").addEventListener("click", () => void explain());
$("prompt").addEventListener("keydown", (e) => {
  if ((e as KeyboardEvent).key === "Enter") void explain();
});
$("target-select").addEventListener("change", () => {
  state.target = Number($<HTMLSelectElement>("target-select").value);
  void recompute();
});

// Backward passes only; a change that comes while one runs is applied once it is done.
let running = false;
let dirty = false;
async function recompute(): Promise<void> {
  if (!state.recorded) return;
  if (running) {
    dirty = true;
    return;
  }
  running = true;
  try {
    do {
      dirty = false;
      const settings = state.settings;
      const a = await client.ask({ kind: "attribute", settings, ...(state.target !== undefined ? { target: state.target } : {}) });
      renderAttributions(a);
      await renderAttention(); // dL/dp, and so the cancellation, depend on the rules and the target
    } while (dirty);
  } catch (e) {
    showError(e);
  } finally {
    running = false;
  }
}

function renderAttributions(a: Attributions & { matmul: MatmulStatus }): void {
  state.attributions = a;
  showMatmul(a.matmul);
  // The timing of this explain: the recorded forward, and the two backward passes just run.
  const timing = $("timing");
  const [plainMs, gimMs] = a.backwardMs;
  const fwd = state.recorded!.forwardMs;
  timing.textContent = `Timing: forward ${fwd.toFixed(1)} ms (run once per prompt), backward ${plainMs.toFixed(1)} ms plain + ${gimMs.toFixed(1)} ms GIM, CPU matmul on ${a.matmul.threads} thread${a.matmul.threads > 1 ? "s" : ""}.`;
  Object.assign(timing.dataset, { forwardMs: String(fwd), backwardMs: String(plainMs + gimMs), threads: String(a.matmul.threads) });
  const r = state.recorded!;
  const open = document.querySelector<HTMLDetailsElement>(".attribution-table")?.open ?? false;
  $("heatmap").innerHTML = attributionsHtml(r.tokens, r.ids, a) + attributionTableHtml(r.tokens, a);
  document.querySelector<HTMLDetailsElement>(".attribution-table")!.open = open;
  $("passes").textContent = `target ${JSON.stringify(a.targetToken)} (logit ${formatNumber(a.logit)}); forward passes so far: ${a.forwardPasses}, backward passes: ${a.backwardPasses}.`;
  $("trace").innerHTML = state.info ? traceDiagramHtml(state.info, a.trace) : "";
  $("skipped").textContent = a.skipped.length ? `Not applied: ${a.skipped.map((s) => `${s.rule} (${s.reason})`).join("; ")}.` : "";
  bump("renders");
}

$("heatmap").addEventListener("mouseover", (e) => {
  const span = (e.target as HTMLElement).closest<HTMLElement>(".gim-token");
  if (!span || !state.attributions || !state.recorded) return;
  const t = Number(span.dataset.index);
  const a = state.attributions;
  $("hover-value").textContent = `#${t} ${JSON.stringify(state.recorded.tokens[t])}: gradient × input ${a.plain[t]}, GIM ${a.gim[t]}`;
});

// ---- 3. switches and sliders ---------------------------------------------------------------

type Part = "freezeNorm" | "tsg" | "qkv" | "gateUp";
const parts: { part: Part; label: string; note: string; sliders: { key: keyof Settings; label: string; min: number; max: number; step: number }[] }[] = [
  { part: "freezeNorm", label: "Norm freeze", note: "each norm's std / rms is a constant in backward", sliders: [] },
  { part: "tsg", label: "TSG", note: "attention softmax backward at softmax(s / T)", sliders: [{ key: "temperature", label: "T", min: 0.5, max: 8, step: 0.25 }] },
  {
    part: "qkv", label: "q/k/v scale", note: "gradients of q, k, v scaled (products of 2 and 3 factors)",
    sliders: [{ key: "qScale", label: "q", min: 0, max: 1, step: 0.05 }, { key: "kScale", label: "k", min: 0, max: 1, step: 0.05 }, { key: "vScale", label: "v", min: 0, max: 1, step: 0.05 }],
  },
  {
    part: "gateUp", label: "gate/up scale", note: "gradients of the gated MLP's two branches scaled",
    sliders: [{ key: "gateScale", label: "gate", min: 0, max: 1, step: 0.05 }, { key: "upScale", label: "up", min: 0, max: 1, step: 0.05 }],
  },
];

function renderSwitches(): void {
  const gated = state.info?.blocks.some((b) => b.gated) ?? true;
  $("switches").innerHTML = parts
    .map(({ part, label, note, sliders }) => {
      const none = part === "gateUp" && !gated ? " (this model has no gated MLP: nothing to scale)" : "";
      const s = sliders
        .map((sl) => `<label class="slider">${sl.label} <input type="range" id="slider-${sl.key}" min="${sl.min}" max="${sl.max}" step="${sl.step}" value="${state.settings[sl.key]}" /><output id="value-${sl.key}">${state.settings[sl.key]}</output></label>`)
        .join("");
      return `<div class="switch"><label><input type="checkbox" id="switch-${part}" ${state.settings[part] ? "checked" : ""}/> <b>${label}</b></label> <span class="info">${note}${none}</span> ${s}</div>`;
    })
    .join("");
  for (const { part, sliders } of parts) {
    $<HTMLInputElement>(`switch-${part}`).addEventListener("change", (e) => {
      state.settings = { ...state.settings, [part]: (e.target as HTMLInputElement).checked };
      void recompute();
    });
    for (const sl of sliders) {
      $<HTMLInputElement>(`slider-${sl.key}`).addEventListener("input", (e) => {
        const v = Number((e.target as HTMLInputElement).value);
        $(`value-${sl.key}`).textContent = String(v);
        state.settings = { ...state.settings, [sl.key]: v };
        void recompute();
      });
    }
  }
}

// ---- 4. attention --------------------------------------------------------------------------

function fillLayerSelects(info: ModelInfo): void {
  state.layer = 0;
  state.head = 0;
  $<HTMLSelectElement>("layer-select").replaceChildren(...info.blocks.map((b, i) => new Option(`${i} (${b.attn})`, String(i))));
  $<HTMLSelectElement>("head-select").replaceChildren(...Array.from({ length: info.heads }, (_, h) => new Option(String(h), String(h))));
}

let attention: AttentionView | undefined;
async function renderAttention(): Promise<void> {
  if (!state.recorded) return;
  attention = await client.ask({ kind: "attention", settings: state.settings, layer: state.layer, ...(state.target !== undefined ? { target: state.target } : {}) });
  drawAttention();
  if (state.row !== undefined) await renderJacobian();
}

function drawAttention(): void {
  if (!attention || !state.recorded) return;
  const h = state.head;
  $("attention").innerHTML = attentionHtml(state.recorded.tokens, attention.patterns[h]!, state.row, attention.cancelled[h]!, attention.cancelledT[h]!, attention.temperature);
  bump("attentions");
}

async function renderJacobian(): Promise<void> {
  if (state.row === undefined || !state.recorded) return;
  const j = await client.ask({ kind: "jacobian", settings: state.settings, layer: state.layer, head: state.head, row: state.row, ...(state.target !== undefined ? { target: state.target } : {}) });
  $("jacobian").innerHTML = jacobianHtml(state.recorded.tokens, j);
  bump("jacobians");
}

$("layer-select").addEventListener("change", () => {
  state.layer = Number($<HTMLSelectElement>("layer-select").value);
  void renderAttention().catch(showError);
});
$("head-select").addEventListener("change", () => {
  state.head = Number($<HTMLSelectElement>("head-select").value);
  drawAttention();
  if (state.row !== undefined) void renderJacobian().catch(showError);
});
$("attention").addEventListener("click", (e) => {
  const tr = (e.target as HTMLElement).closest<HTMLElement>("tr.query");
  if (!tr) return;
  state.row = Number(tr.dataset.row);
  drawAttention();
  void renderJacobian().catch(showError);
});

// ---- 5. components -------------------------------------------------------------------------

function drawComponents(): void {
  if (!state.components) return;
  const source = $<HTMLSelectElement>("score-source").value as "gim" | "gradient" | "exact";
  $("components").innerHTML = componentGraphSvg(state.components, source) + componentTableHtml(state.components);
}

$("score-components").addEventListener("click", () => {
  clearError();
  $("components-status").textContent = "scoring (exact patching runs one forward per component and per edge)…";
  const start = performance.now();
  client
    .ask({ kind: "components", settings: state.settings, clean: $<HTMLInputElement>("clean").value, corrupted: $<HTMLInputElement>("corrupted").value })
    .then((r) => {
      state.components = r;
      $("components-status").textContent = `done in ${((performance.now() - start) / 1000).toFixed(1)} s (GIM with the switches above).`;
      drawComponents();
      bump("componentRenders");
    })
    .catch((e) => {
      $("components-status").textContent = "";
      showError(e);
    });
});
$("score-source").addEventListener("change", drawComponents);

// ---- 6. gpu.js -----------------------------------------------------------------------------

$("backend-select").addEventListener("change", () => {
  const use = $<HTMLSelectElement>("backend-select").value as "cpu" | "gpu";
  clearError();
  $("backend-status").textContent = "switching…";
  client
    .ask({ kind: "backend", use })
    .then(async (m) => {
      showMatmul(m);
      $("backend-status").textContent = "the prompt is run again on it";
      await explain();
    })
    .catch((e) => {
      $<HTMLSelectElement>("backend-select").value = "cpu";
      $("backend-status").textContent = "";
      showError(e);
    });
});

$("gpu-check").addEventListener("click", () => {
  const out = $("gpu-result");
  out.textContent = "running…";
  checkGpuMatmul()
    .then((c) => {
      out.dataset.mode = c.mode ?? "none";
      out.dataset.relativeError = String(c.relativeError);
      if (!c.mode) {
        out.textContent = "This browser offers no WebGL: gpu.js cannot run on a GPU here, and the model runs on the CPU kernel.";
        return;
      }
      const lines = c.products.map((p) => `${p.shape}: max |gpu − cpu| ${formatNumber(p.maxDiff)} (max |cpu| ${formatNumber(p.maxAbs)}), gpu.js ${p.gpuMs.toFixed(1)} ms, CPU ${p.cpuMs.toFixed(1)} ms`);
      const verdict = c.relativeError < 1e-5 ? "agree to float32 rounding" : "DISAGREE";
      out.innerHTML = `gpu.js on <b>${c.mode}</b> vs the CPU kernel (${escapeHtml(c.cpu)}): ${verdict} (largest relative error ${formatNumber(c.relativeError)}).<br>${lines.map(escapeHtml).join("<br>")}`;
    })
    .catch((e) => {
      out.dataset.mode = "error";
      out.textContent = `gpu.js could not run: ${e instanceof Error ? e.message : String(e)}`;
    });
});

$("speed-run").addEventListener("click", () => {
  const out = $("speed-result");
  const shape = $<HTMLSelectElement>("speed-shape").value as "gpt2-small" | "gpt2-wide";
  const threads = $<HTMLSelectElement>("speed-threads").value === "1" ? 1 : "all";
  clearError();
  out.textContent = "building the model and timing (GPT-2 small's shape takes a few seconds to build)…";
  delete out.dataset.forwardMs;
  client
    .ask({ kind: "speed", shape, threads, text: $<HTMLInputElement>("prompt").value })
    .then((r) => {
      const [plainMs, gimMs] = r.backwardMs;
      out.textContent = `${r.shape} (random weights, ${r.parameters.toLocaleString("en")} parameters), ${r.tokens} tokens, CPU matmul on ${r.threads} thread${r.threads > 1 ? "s" : ""}: forward ${r.forwardMs.toFixed(0)} ms, backward ${plainMs.toFixed(0)} ms plain + ${gimMs.toFixed(0)} ms GIM (${r.workerTasks} matmul tasks ran on the Web Workers${r.rescuedJobs ? `; ${r.rescuedJobs} jobs waited 1 s for a Web Worker and were finished by the page's worker` : ""}).`;
      Object.assign(out.dataset, {
        shape: r.shape, threads: String(r.threads), tokens: String(r.tokens), parameters: String(r.parameters), forwardMs: String(r.forwardMs),
        backwardMs: String(plainMs + gimMs), workerTasks: String(r.workerTasks), rescuedJobs: String(r.rescuedJobs), gim: JSON.stringify(r.gim), plain: JSON.stringify(r.plain),
      });
      bump("speeds");
    })
    .catch((e) => {
      out.textContent = "";
      showError(e);
    });
});

// ---- offline -------------------------------------------------------------------------------

// A build registers its service worker, which caches the site and the shipped models (sw.js)
// and adds the cross-origin isolation headers to what it serves. On a host that sends no such
// headers, the page is not isolated until the service worker controls it: then it reloads once
// (once per tab session, so a browser that ignores the headers is not reloaded in a loop).
const RELOADED = "gim-explorable-isolation-reload";
if (__SERVICE_WORKER__ && "serviceWorker" in navigator) {
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (crossOriginIsolated || sessionStorage.getItem(RELOADED)) return;
    sessionStorage.setItem(RELOADED, "1");
    location.reload();
  });
  navigator.serviceWorker.register("./sw.js").then(
    () => navigator.serviceWorker.ready.then(() => (document.body.dataset.offline = "ready")),
    (e: unknown) => (document.body.dataset.offline = `unavailable: ${e instanceof Error ? e.message : String(e)}`),
  );
}

// ---- start ---------------------------------------------------------------------------------

const wanted = new URLSearchParams(location.search).get("model");
void loadShipped(wanted && shipped.some((f) => f.name === wanted) ? wanted : shipped[0]!.name);
