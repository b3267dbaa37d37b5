import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendLoad, ComputeBackend, FloatArray } from './backend.js';
import { CELL_WORKGROUP, GEMM_TILE, MAX_GROUPS_PER_DIM, PARAM_WORDS } from './webgpu/kernels.js';
import {
  type AdapterReport,
  CONTROL_SLOTS,
  DONE,
  FAILED,
  type InitData,
  type KernelName,
  type KernelRequest,
  PENDING,
  STATUS,
  TEXT_BYTES,
  TEXT_LENGTH,
} from './webgpu/protocol.js';

/**
 * The webgpu backend: the ComputeBackend kernels in WGSL, run through Dawn (the optional `webgpu` npm package) on
 * whatever adapter it finds: Vulkan, Metal or D3D12 GPUs, or Mesa's software Vulkan (lavapipe) on CPU-only machines,
 * where it serves the tests. The GPU device lives on a device thread (./webgpu/device-worker.ts) because WebGPU
 * answers asynchronously while this interface is synchronous.
 *
 * This first version keeps the host-visible Float32Array contract of ComputeBackend: every call uploads its operands
 * into the device's work arena, runs one kernel and reads its outputs back. It is correct everywhere, and slow: the
 * GPU-resident design (weights, activations and data on the device, a training step in one command buffer) needs
 * the interface change described in the issue and is not done.
 */

/** How long one request may take before the device thread is given up (lavapipe runs large kernels slowly). */
const REQUEST_TIMEOUT_MS = 600_000;
/** How long opening the adapter and device may take. */
const OPEN_TIMEOUT_MS = 60_000;

export interface WebGpuBackendOptions {
  /** Refuse software adapters (what 'auto' asks for: a CPU-emulated GPU is never faster than the CPU backends). */
  hardwareOnly?: boolean;
}

/** Elements spanned by a row-major rows x cols block with leading dimension ld (0 when empty). */
function extent(rows: number, cols: number, ld: number): number {
  return rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
}

/** Workgroups for `total` threads in groups of `size`, folded into a second dimension beyond the per-dimension limit. */
function flatGrid(total: number, size: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(total / size));
  const x = Math.min(groups, MAX_GROUPS_PER_DIM);
  return [x, Math.ceil(groups / x), 1];
}

export class WebGpuBackend implements ComputeBackend {
  readonly name: string;
  readonly precision = 'float32' as const;
  private data: Float32Array;
  private dataChanged = true;
  private readonly params = new Uint32Array(PARAM_WORDS);
  private readonly floatBits = new Float32Array(this.params.buffer);
  private closed = false;

  constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    private readonly text: Uint8Array,
    /** The adapter the device thread opened. */
    readonly adapter: AdapterReport,
  ) {
    this.name = adapter.software ? 'webgpu-software' : 'webgpu';
    this.data = new Float32Array(new SharedArrayBuffer(1 << 20));
  }

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  /** Stops the device thread. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
  }

  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: FloatArray,
    aOff: number,
    lda: number,
    b: FloatArray,
    bOff: number,
    ldb: number,
    beta: number,
    c: FloatArray,
    cOff: number,
    ldc: number,
  ): void {
    if (m === 0 || n === 0) return;
    const aLen = extent(transA ? k : m, transA ? m : k, lda);
    const bLen = extent(transB ? n : k, transB ? k : n, ldb);
    const cLen = extent(m, n, ldc);
    const aAt = 0;
    const bAt = aLen;
    const cAt = bAt + bLen;
    const data = this.reserve(cAt + cLen);
    data.set(a.subarray(aOff, aOff + aLen), aAt);
    data.set(b.subarray(bOff, bOff + bLen), bAt);
    if (beta !== 0) data.set(c.subarray(cOff, cOff + cLen), cAt);
    const p = this.params;
    p.fill(0);
    p.set([m, n, k, transA ? 1 : 0, transB ? 1 : 0, lda, ldb, ldc, aAt, bAt, cAt]);
    this.floatBits[11] = alpha;
    this.floatBits[12] = beta;
    const columnGroups = Math.ceil(n / GEMM_TILE);
    if (columnGroups > MAX_GROUPS_PER_DIM) throw new RangeError(`webgpu gemm: n = ${n} columns exceed the grid limit`);
    const rowGroups = Math.ceil(m / GEMM_TILE);
    const y = Math.min(rowGroups, MAX_GROUPS_PER_DIM);
    this.run('gemm', [columnGroups, y, Math.ceil(rowGroups / y)], cAt + cLen, cAt, cLen);
    // Only the n columns of each row are results (the gaps between rows were not uploaded when beta = 0).
    for (let i = 0; i < m; i++) c.set(this.data.subarray(cAt + i * ldc, cAt + i * ldc + n), cOff + i * ldc);
  }

  cellForward(
    batch: number,
    hidden: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
    h: FloatArray,
    hOff: number,
  ): void {
    const state = batch * hidden;
    if (state === 0) return;
    const gateLen = batch * (inputGate ? 3 : 4) * hidden;
    // Inputs first, outputs last, so one contiguous range comes back: [inputGate?, cPrev | gates, c, h].
    const igAt = 0;
    const cPrevAt = inputGate ? state : 0;
    const gatesAt = cPrevAt + state;
    const cAt = gatesAt + gateLen;
    const hAt = cAt + state;
    const data = this.reserve(hAt + state);
    if (inputGate) data.set(inputGate.subarray(0, state), igAt);
    data.set(cPrev.subarray(cPrevOff, cPrevOff + state), cPrevAt);
    data.set(gates.subarray(gatesOff, gatesOff + gateLen), gatesAt);
    const p = this.params;
    p.fill(0);
    p.set([batch, hidden, inputGate ? 1 : 0, gatesAt, igAt, cPrevAt, cAt, hAt]);
    this.run('cellForward', flatGrid(state, CELL_WORKGROUP), hAt + state, gatesAt, hAt + state - gatesAt);
    gates.set(this.data.subarray(gatesAt, gatesAt + gateLen), gatesOff);
    c.set(this.data.subarray(cAt, cAt + state), cOff);
    h.set(this.data.subarray(hAt, hAt + state), hOff);
  }

  cellBackward(
    batch: number,
    hidden: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
    dh: FloatArray,
    dc: FloatArray,
    dGates: FloatArray,
    dGatesOff: number,
    dInputGate: FloatArray | null,
  ): void {
    const state = batch * hidden;
    if (state === 0) return;
    const gateLen = batch * (inputGate ? 3 : 4) * hidden;
    // [gates, inputGate?, cPrev, c, dh | dc, dGates, dInputGate?]: everything from dc on comes back (the EA-LSTM's
    // input-gate gradient goes to a scratch slot when the caller wants none).
    const gatesAt = 0;
    const igAt = gateLen;
    const cPrevAt = igAt + (inputGate ? state : 0);
    const cAt = cPrevAt + state;
    const dhAt = cAt + state;
    const dcAt = dhAt + state;
    const dGatesAt = dcAt + state;
    const digAt = dGatesAt + gateLen;
    const end = digAt + (inputGate ? state : 0);
    const data = this.reserve(end);
    data.set(gates.subarray(gatesOff, gatesOff + gateLen), gatesAt);
    if (inputGate) data.set(inputGate.subarray(0, state), igAt);
    data.set(cPrev.subarray(cPrevOff, cPrevOff + state), cPrevAt);
    data.set(c.subarray(cOff, cOff + state), cAt);
    data.set(dh.subarray(0, state), dhAt);
    data.set(dc.subarray(0, state), dcAt);
    if (inputGate) {
      if (dInputGate) data.set(dInputGate.subarray(0, state), digAt);
      else data.fill(0, digAt, end);
    }
    const p = this.params;
    p.fill(0);
    p.set([batch, hidden, inputGate ? 1 : 0, gatesAt, igAt, cPrevAt, cAt, dhAt, dcAt, dGatesAt, digAt]);
    this.run('cellBackward', flatGrid(state, CELL_WORKGROUP), end, dcAt, end - dcAt);
    dc.set(this.data.subarray(dcAt, dcAt + state));
    dGates.set(this.data.subarray(dGatesAt, dGatesAt + gateLen), dGatesOff);
    if (inputGate && dInputGate) dInputGate.set(this.data.subarray(digAt, digAt + state));
  }

  /** The shared data buffer, grown (by doubling) to hold n elements. */
  private reserve(n: number): Float32Array {
    if (this.data.length < n) {
      let size = this.data.length * 2;
      while (size < n) size *= 2;
      this.data = new Float32Array(new SharedArrayBuffer(size * 4));
      this.dataChanged = true;
    }
    return this.data;
  }

  /** Runs one kernel on the device thread and waits for it (see webgpu/protocol.ts). */
  private run(kernel: KernelName, grid: [number, number, number], upload: number, readFrom: number, readLength: number): void {
    if (this.closed) throw new Error('the webgpu backend is closed');
    const request: KernelRequest = { kernel, params: this.params, grid, upload, readFrom, readLength };
    if (this.dataChanged) request.data = this.data.buffer as SharedArrayBuffer;
    this.dataChanged = false;
    Atomics.store(this.control, STATUS, PENDING);
    this.worker.postMessage(request);
    if (Atomics.wait(this.control, STATUS, PENDING, REQUEST_TIMEOUT_MS) === 'timed-out') {
      this.close();
      throw new Error(`webgpu: the device thread did not finish ${kernel} within ${REQUEST_TIMEOUT_MS / 1000} s`);
    }
    if (Atomics.load(this.control, STATUS) === FAILED) throw new Error(`webgpu: ${readText(this.control, this.text)}`);
  }
}

function readText(control: Int32Array, text: Uint8Array): string {
  return new TextDecoder().decode(text.slice(0, Atomics.load(control, TEXT_LENGTH)));
}

/**
 * Whether this machine shows a GPU to user space. Checked before 'auto' starts Dawn, so that CPU-only machines do
 * not pay for (or see the driver warnings of) a Vulkan probe that can only find a software adapter.
 */
function gpuDeviceNodePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0') || existsSync('/dev/kfd')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** file: URL of the optional `webgpu` package, or why it is not usable. */
function webgpuPackage(): { url: string } | { reason: string } {
  try {
    return { url: pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href };
  } catch {
    return { reason: "the optional package 'webgpu' (Dawn) is not installed (`npm install webgpu@~0.6.2`)" };
  }
}

/**
 * Bootstrap of the device thread (CommonJS, evaluated): from source (run through tsx, whose loader hooks Node 20 does
 * not carry into workers) it registers tsx first; from dist/ it imports the compiled module directly. A failure to
 * load is reported through the status slot like any other.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => {
  const control = new Int32Array(workerData.control);
  const bytes = new TextEncoder().encode('the device thread did not load: ' + (e && e.message ? e.message : String(e)));
  new Uint8Array(workerData.text).set(bytes.subarray(0, ${TEXT_BYTES}));
  Atomics.store(control, ${TEXT_LENGTH}, Math.min(bytes.length, ${TEXT_BYTES}));
  Atomics.store(control, ${STATUS}, ${FAILED});
  Atomics.notify(control, ${STATUS});
});
`;

function startDeviceThread(init: InitData): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./webgpu/device-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  // tsx's ESM API (next to its loader): its register() works in a worker, where the loader itself does not on Node 20.
  const tsx = fromSource ? new URL('./esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx'))).href : null;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...init, entry, tsx } });
}

/**
 * The webgpu backend, or why not: EALSTM_NO_WEBGPU is set, the `webgpu` package is missing, Dawn finds no adapter
 * or device, or (with hardwareOnly) the only adapter is a software one. Never throws.
 */
export function openWebGpuBackend(options: WebGpuBackendOptions = {}): BackendLoad<WebGpuBackend> {
  if (process.env.EALSTM_NO_WEBGPU) return { backend: null, reason: 'disabled by the EALSTM_NO_WEBGPU environment variable' };
  if (options.hardwareOnly && !gpuDeviceNodePresent()) {
    return { backend: null, reason: 'no GPU here (no /dev/nvidia0, /dev/kfd or /dev/dri render node)' };
  }
  const pkg = webgpuPackage();
  if ('reason' in pkg) return { backend: null, reason: pkg.reason };
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  const text = new Uint8Array(new SharedArrayBuffer(TEXT_BYTES));
  const workerData: InitData = { control: control.buffer as SharedArrayBuffer, text: text.buffer as SharedArrayBuffer, webgpuUrl: pkg.url };
  let worker: Worker;
  try {
    worker = startDeviceThread(workerData);
  } catch (e) {
    return { backend: null, reason: `the device thread did not start: ${e instanceof Error ? e.message : String(e)}` };
  }
  worker.unref();
  const waited = Atomics.wait(control, STATUS, PENDING, OPEN_TIMEOUT_MS);
  const status = Atomics.load(control, STATUS);
  if (waited === 'timed-out' || status !== DONE) {
    void worker.terminate();
    const why = status === FAILED ? readText(control, text) : `no answer from the device thread within ${OPEN_TIMEOUT_MS / 1000} s`;
    return { backend: null, reason: why };
  }
  const adapter = JSON.parse(readText(control, text)) as AdapterReport;
  if (options.hardwareOnly && adapter.software) {
    void worker.terminate();
    return { backend: null, reason: `only a software GPU adapter here (${adapter.description || adapter.device}); name backend: webgpu to use it anyway` };
  }
  return { backend: new WebGpuBackend(worker, control, text, adapter) };
}
