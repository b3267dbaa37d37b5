import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { writeFileAtomic } from '../util/files.js';
import { renderSvgAsync, svgToPng } from './render-core.js';

export { renderSvgAsync, svgToPixels, svgToPng, toVegaSpec } from './render-core.js';

/** How long a synchronous render may take before it is given up (ms). */
const RENDER_TIMEOUT_MS = 120_000;

interface Renderer {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
  next: number;
}

let renderer: Renderer | undefined;

/**
 * The worker is started from a small CommonJS stub that imports the worker module and, if that fails, answers
 * with the error (a blocked caller could not see the worker's 'error' event). Under tsx (sources are .ts) the
 * module is loaded with tsx's tsImport, since tsx does not register itself in worker threads.
 */
const WORKER_STUB = `
const { workerData } = require('node:worker_threads');
const load = workerData.tsx
  ? import(workerData.tsx).then((api) => api.tsImport(workerData.file, workerData.file))
  : import(workerData.file);
load.catch((err) => {
  workerData.port.postMessage({ id: 0, error: String((err && err.stack) || err) });
  Atomics.store(workerData.flag, 0, 1);
  Atomics.notify(workerData.flag, 0);
});
`;

function startRenderer(): Renderer {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const file = pathToFileURL(path.join(path.dirname(here), `render-worker${ext}`)).href;
  let tsx: string | undefined;
  if (ext === '.ts') {
    try {
      tsx = import.meta.resolve('tsx/esm/api');
    } catch {
      tsx = undefined; // a runtime that runs .ts itself
    }
  }
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_STUB, { eval: true, workerData: { port: port2, flag, file, tsx }, transferList: [port2] });
  worker.unref();
  port1.unref();
  worker.on('error', () => {
    // reported to the caller through the port (see WORKER_STUB) or by the timeout
  });
  worker.on('exit', () => {
    if (renderer?.worker === worker) renderer = undefined;
  });
  return { worker, port: port1, flag, next: 1 };
}

function renderSync(spec: object, png: boolean): { svg: string; png?: Uint8Array } {
  renderer ??= startRenderer();
  const r = renderer;
  const id = r.next++;
  Atomics.store(r.flag, 0, 0);
  r.port.postMessage({ id, spec, png });
  const deadline = Date.now() + RENDER_TIMEOUT_MS;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      void r.worker.terminate();
      renderer = undefined;
      throw new Error(`rendering a figure took longer than ${RENDER_TIMEOUT_MS / 1000} s`);
    }
    Atomics.wait(r.flag, 0, 0, Math.min(left, 1000));
    const msg = receiveMessageOnPort(r.port);
    if (!msg) continue;
    const answer = msg.message as { id: number; svg?: string; png?: Uint8Array; error?: string };
    if (answer.id === 0) {
      void r.worker.terminate();
      renderer = undefined;
      throw new Error(`the figure renderer did not start: ${answer.error}`);
    }
    if (answer.id !== id) continue;
    if (answer.error) throw new Error(`rendering a figure failed: ${answer.error}`);
    return { svg: answer.svg ?? '', png: answer.png };
  }
}

/** vega-lite spec -> SVG markup, synchronously (rendered in a worker thread). */
export function renderSvg(spec: object): string {
  return renderSync(spec, false).svg;
}

/** vega-lite spec -> SVG markup and PNG bytes (2x), synchronously. */
export function renderFigure(spec: object): { svg: string; png: Uint8Array } {
  const out = renderSync(spec, true);
  return { svg: out.svg, png: out.png ?? new Uint8Array() };
}

/** Asynchronous variant of renderFigure, in this thread. */
export async function renderFigureAsync(spec: object): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderSvgAsync(spec);
  return { svg, png: svgToPng(svg) };
}

/**
 * Renders a vega-lite spec and writes `<basePath>.svg` and `<basePath>.png` (each atomically; the folder is
 * created). Synchronous. Returns the written paths.
 */
export function writeFigure(spec: object, basePath: string): { svg: string; png: string } {
  const { svg, png } = renderFigure(spec);
  const files = { svg: `${basePath}.svg`, png: `${basePath}.png` };
  mkdirSync(path.dirname(files.svg), { recursive: true });
  writeFileAtomic(files.svg, svg);
  writeFileAtomic(files.png, png);
  return files;
}

/** Stops the render worker (it is unref'd, so this is only needed to free it early). */
export async function closeRenderer(): Promise<void> {
  const r = renderer;
  renderer = undefined;
  if (r) await r.worker.terminate();
}
