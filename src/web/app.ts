/**
 * The browser page (web/index.html; scripts/build-web.mjs bundles this file into dist/web/app.js): a person drops a
 * model bundle and a basin's time-series CSV (and, for a model with static attributes, an attributes CSV), or loads
 * the bundled example; the model runs here with the WASM kernels and the page shows the hydrograph, NSE and KGE,
 * and offers qsim as the CSV `ealstm predict` writes. Nothing is sent anywhere: the files are read in the page.
 */
import type { ComputeBackend } from '../compute/backend.js';
import type { RecurrentModel } from '../models/model.js';
import { ReferenceBackend } from '../compute/reference.js';
import { allocationBytes, WasmBackend } from '../compute/wasm.js';
import { splitCsvLine } from '../util/csv.js';
import { isoDate } from '../util/dates.js';
import { InputError } from '../util/errors.js';
import { escapeHtml } from '../util/html.js';
import { renderHydrograph } from './hydrograph.js';
import { BUNDLE_FILES, fileText, type PageBundle, type PageSimulation, pageAllocations, pageModel, readPageBundle, simulatePage } from './page-model.js';

/** What scripts/build-web.mjs puts into dist/web/assets.js. */
interface PageAssets {
  /** build/wasm/kernels-simd-local.wasm, base64. */
  kernels: string;
  example: { bundle: string; files: Record<string, string>; series: { name: string; text: string }; attributes: { name: string; text: string } };
}

interface DroppedFile {
  /** The path inside what was dropped (folder/file), for messages. */
  path: string;
  bytes: Uint8Array;
}

const assets = (globalThis as unknown as { EALSTM_PAGE_ASSETS?: PageAssets }).EALSTM_PAGE_ASSETS;
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const base64Bytes = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

let kernels: WebAssembly.Module | undefined;

const state: {
  bundle: PageBundle | null;
  attributes: { name: string; text: string } | null;
  series: { name: string; text: string }[];
  results: PageSimulation[];
  /** The bundle's model, built once per bundle (its memory is sized for it), with the backend it runs on. */
  runner: { bundle: PageBundle; model: RecurrentModel; backend: ComputeBackend } | null;
} = { bundle: null, attributes: null, series: [], results: [], runner: null };

/**
 * The WASM kernels on an unshared memory (a page opened as a file has no shared memory) sized for the bundle's model,
 * else plain JavaScript.
 */
function startBackend(bundle: PageBundle): ComputeBackend {
  try {
    if (!assets) throw new Error('assets.js did not load');
    kernels ??= new WebAssembly.Module(base64Bytes(assets.kernels));
    return new WasmBackend('wasm-simd', kernels, { threads: 1, sharedMemory: false, fixedBytes: allocationBytes(pageAllocations(bundle.info)) });
  } catch (e) {
    console.warn('WASM kernels unavailable, using the JavaScript reference backend:', e);
    return new ReferenceBackend('float32');
  }
}

function showError(message: string | null): void {
  const box = byId('error');
  box.textContent = message ?? '';
  box.hidden = message === null;
}

function showStatus(message: string): void {
  byId('status').textContent = message;
}

/** Sorts what was given into the bundle's files, time-series CSVs (a 'date' column) and an attributes CSV. */
function takeFiles(files: DroppedFile[]): void {
  const bundleFiles = new Map<string, Uint8Array>();
  let bundleName = '';
  for (const f of files) {
    const base = f.path.replace(/^.*\//, '');
    if ((BUNDLE_FILES as readonly string[]).includes(base)) {
      bundleFiles.set(base, f.bytes);
      bundleName = f.path.includes('/') ? f.path.replace(/\/[^/]*$/, '') : 'the dropped bundle';
    } else if (/\.csv$/i.test(base)) {
      const text = fileText(f.bytes, f.path);
      const header = splitCsvLine(text.split('\n', 1)[0]).map((c) => c.trim());
      if (header.includes('date')) state.series = [...state.series.filter((s) => s.name !== base), { name: base, text }];
      else state.attributes = { name: base, text };
    } else if (!/\.(yml|yaml|md)$/i.test(base)) {
      throw new InputError(`${f.path}: not a file this page reads (a model bundle's files, a time-series CSV or an attributes CSV)`);
    }
  }
  if (bundleFiles.size > 0) state.bundle = readPageBundle(bundleFiles, bundleName);
}

function run(): void {
  const { bundle } = state;
  if (!bundle) {
    showStatus('Drop a model bundle (a *.ealstm folder) and a basin time-series CSV, or load the example.');
    return;
  }
  const model = bundle.info;
  byId('model').textContent =
    `${bundle.name}: ${model.model === 'ealstm' ? 'EA-LSTM' : 'LSTM'}, hidden ${model.hidden_size}, ${model.num_layers} layer(s), ` +
    `seq_length ${model.seq_length}; inputs ${model.dynamic_inputs.map((i) => i.name).join(', ')}` +
    (model.static_attributes.length ? `; ${model.static_attributes.length} static attributes` : '');
  if (state.series.length === 0) {
    showStatus(`Model loaded. Now drop a time-series CSV (columns date, ${model.dynamic_inputs.map((i) => i.name).join(', ')}[, ${model.target_variable.name}]).`);
    return;
  }
  const started = performance.now();
  if (state.runner?.bundle !== bundle) {
    const backend = startBackend(bundle);
    state.runner = { bundle, backend, model: pageModel(bundle, backend) };
  }
  const { model: recurrent, backend } = state.runner;
  state.results = state.series.map((s) => simulatePage(bundle, recurrent, s, state.attributes));
  showStatus(`Simulated ${state.results.length} basin(s) in ${((performance.now() - started) / 1000).toFixed(2)} s on ${backend.name}.`);
  showResults();
}

function showResults(): void {
  const rows = state.results.map((r) => {
    const c = r.counts;
    const score = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');
    return `<tr><td>${escapeHtml(r.basin)}</td><td>${isoDate(r.dates[0])} to ${isoDate(r.dates[r.dates.length - 1])}</td><td>${c.predicted}</td><td>${c.warmUp}</td><td>${c.missingForcing}</td><td>${c.observed}</td><td class="nse">${score(c.nse)}</td><td class="kge">${score(c.kge)}</td></tr>`;
  });
  byId('summary').innerHTML = rows.join('');
  const select = byId<HTMLSelectElement>('basin');
  select.innerHTML = state.results.map((r, i) => `<option value="${i}">${escapeHtml(r.basin)}</option>`).join('');
  byId('results').hidden = state.results.length === 0;
  showBasin(0);
}

function showBasin(index: number): void {
  const result = state.results[index];
  if (!result) return;
  byId('chart').replaceChildren(renderHydrograph(result));
  const link = byId<HTMLAnchorElement>('download');
  if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([result.csv], { type: 'text/csv' }));
  link.download = `${result.basin}.csv`;
  link.textContent = `Download qsim of ${result.basin} (CSV)`;
}

/**
 * Runs a step of the page (taking files), then the simulation; a user's mistake is shown as a message and anything
 * else as a bug, and the files the step took are dropped again, so the page keeps what worked before.
 */
function guarded(step: () => void): void {
  const before = { bundle: state.bundle, attributes: state.attributes, series: state.series };
  try {
    showError(null);
    step();
    run();
  } catch (e) {
    Object.assign(state, before);
    const message = e instanceof InputError ? e.message : `unexpected error (please report it): ${e instanceof Error ? e.message : String(e)}`;
    showError(message);
    showStatus('');
  }
}

async function readEntry(entry: FileSystemEntry, prefix: string, out: DroppedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: `${prefix}${entry.name}`, bytes: new Uint8Array(await file.arrayBuffer()) });
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const child of batch) await readEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

async function fromFileList(list: FileList): Promise<DroppedFile[]> {
  return Promise.all(
    Array.from(list, async (f) => ({ path: f.webkitRelativePath || f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
}

function loadExample(): void {
  if (!assets) throw new InputError('the example is missing: dist/web/assets.js did not load (rebuild with npm run build)');
  const { example } = assets;
  const files = new Map(Object.entries(example.files).map(([name, b64]) => [name, base64Bytes(b64)]));
  state.bundle = readPageBundle(files, example.bundle);
  state.series = [example.series];
  state.attributes = example.attributes;
}

function wire(): void {
  const drop = byId('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const entries = Array.from(e.dataTransfer?.items ?? [], (item) => item.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
    void (async () => {
      const files: DroppedFile[] = [];
      for (const entry of entries) await readEntry(entry, '', files);
      guarded(() => takeFiles(files));
    })();
  });
  for (const id of ['pick-files', 'pick-folder']) {
    const input = byId<HTMLInputElement>(id);
    input.addEventListener('change', () => {
      if (!input.files) return;
      void fromFileList(input.files).then((files) => guarded(() => takeFiles(files)));
      input.value = '';
    });
  }
  byId('example').addEventListener('click', () => guarded(loadExample));
  byId('basin').addEventListener('change', (e) => showBasin(Number((e.target as HTMLSelectElement).value)));
  run();
}

wire();
