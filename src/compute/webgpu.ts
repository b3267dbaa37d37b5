import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AdamState, BackendLoad, ComputeBackend, FloatArray, LossKind, NormClip } from './backend.js';
import { hostOps } from './host-ops.js';
import {
  CELL_WORKGROUP,
  GEMM_TILE,
  MAX_GROUPS_PER_DIM,
  PARAM_WORDS,
  REDUCE_GROUPS,
  REDUCE_WORKGROUP,
  VECTOR_AXPY,
  VECTOR_COPY,
  VECTOR_FILL,
  VECTOR_MULTIPLY,
  VECTOR_SIGMOID,
  VECTOR_SIGMOID_BACKWARD,
} from './webgpu/kernels.js';
import {
  type AdapterReport,
  CONTROL_SLOTS,
  type DeviceMessage,
  DONE,
  FAILED,
  type InitData,
  type KernelName,
  PENDING,
  STATUS,
  SUBMITS,
  TEXT_BYTES,
  TEXT_LENGTH,
} from './webgpu/protocol.js';

/**
 * The webgpu backend: the ComputeBackend kernels in WGSL, run through Dawn (the optional `webgpu` npm package) on
 * whatever adapter it finds: Vulkan, Metal or D3D12 GPUs, or Mesa's software Vulkan (lavapipe) on CPU-only machines,
 * where it serves the tests. The GPU device lives on a device thread (./webgpu/device-worker.ts) because WebGPU
 * answers asynchronously while this interface is synchronous.
 *
 * Residency: every buffer alloc() returns has a device copy in one device arena, and the kernels work there, queued
 * without waiting; the host copy is brought up to date only at the interface's coherence points (toHost, hostWrote),
 * which the model calls where the host reads or writes. So the activations of a whole sequence stay on the GPU and a
 * forward or backward pass costs a few round trips, not one per kernel. Arrays that alloc() did not make are copied
 * into a scratch area per call (and their outputs read back at once), which keeps the plain ComputeBackend contract
 * for them.
 *
 * Training: the loss, the squared gradient norm and Adam run here too (LOSS/REDUCE/ADAM_WGSL), the clipping factor
 * computed on the device from the norm there; Adam's moments live on the device (float32) from the first adamStep,
 * and the scalars of allocScalars() (float64 on the host, float32 on the device) are read only when asked. With the
 * model ops (dropout multiply, input-gate sigmoid, the head) and gatherWindows on the device too, a training step
 * reads nothing back: its uploads (a batch's row numbers, the dropout mask) are recorded into the command buffer of
 * its kernels by the device thread, so a step is one command buffer and only the trainer's loss reads wait.
 */

/** How long one read may wait for the device thread (lavapipe runs large queues slowly). */
const REQUEST_TIMEOUT_MS = 600_000;
/** How long opening the adapter and device may take. */
const OPEN_TIMEOUT_MS = 60_000;
/** Alignment of buffers in the arena, in elements (256 bytes). */
const ALIGN = 64;

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

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** A buffer alloc() made: its place in the arena, and whether the device holds results the host has not seen. */
interface Resident {
  base: number;
  length: number;
  deviceNewer: boolean;
}

/** Host arrays of one call, staged in the scratch area above the residents; outputs are read back after the call. */
class Scratch {
  readonly outputs: { x: FloatArray; off: number; length: number; at: number }[] = [];
  constructor(public top: number) {}
}

export class WebGpuBackend implements ComputeBackend {
  readonly name: string;
  readonly precision = 'float32' as const;
  private data: Float32Array;
  private dataChanged = true;
  private readonly resident = new WeakMap<FloatArray, Resident>();
  /** Arena elements handed out by alloc(). */
  private top = 0;
  /** Arena elements the device thread was asked to hold. */
  private capacity = 0;
  private readonly maxElements: number;
  private closed = false;
  /** Round trips to the device thread so far (each read waits for all work posted before it). */
  reads = 0;
  /** The first pass of squaredNorm's partial sums (allocated on first use). */
  private partials: Float32Array | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    private readonly text: Uint8Array,
    /** The adapter the device thread opened. */
    readonly adapter: AdapterReport,
  ) {
    this.name = adapter.software ? 'webgpu-software' : 'webgpu';
    this.data = new Float32Array(new SharedArrayBuffer(1 << 16));
    this.maxElements = Math.floor(adapter.maxBindingBytes / 4);
  }

  /** A zero-filled host array with its zero-filled device copy. */
  alloc(n: number): Float32Array {
    const x = new Float32Array(n);
    this.place(x, false);
    return x;
  }

  /** Float64 host scalars with a float32 device copy (zero-filled). */
  allocScalars(n: number): Float64Array {
    const x = new Float64Array(n);
    this.place(x, false);
    return x;
  }

  /** Command buffers of kernels submitted so far (current after a read, e.g. a toHost that copied). */
  get commandBuffers(): number {
    return Atomics.load(this.control, SUBMITS);
  }

  /** Gives x a device copy in the arena: zero-filled, or (upload) a copy of its host contents. */
  private place(x: FloatArray, upload: boolean): number {
    const n = x.length;
    const base = this.top;
    this.top = alignUp(base + n);
    this.reserve(this.top);
    if (n > 0) {
      if (upload) this.post({ type: 'write', at: base, data: Float32Array.from(x) });
      else this.vector(VECTOR_FILL, n, 0, 0, base);
    }
    this.resident.set(x, { base, length: n, deviceNewer: false });
    return base;
  }

  /** Stops the device thread. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
  }

  toHost(x: FloatArray, off = 0, n = x.length - off): void {
    const r = this.resident.get(x);
    if (!r || !r.deviceNewer || n <= 0) return;
    x.set(this.read(r.base + off, n), off);
    if (off === 0 && n === r.length) r.deviceNewer = false;
  }

  hostWrote(x: FloatArray, off = 0, n = x.length - off): void {
    const r = this.resident.get(x);
    if (!r || n <= 0) return;
    this.post({ type: 'write', at: r.base + off, data: Float32Array.from(x.subarray(off, off + n)) });
    if (off === 0 && n === r.length) r.deviceNewer = false;
  }

  fill(x: FloatArray, off: number, n: number, value: number): void {
    const r = this.resident.get(x);
    if (!r) return hostOps.fill(x, off, n, value);
    if (n <= 0) return;
    // The host copy is filled too where it is current, so it stays current; filling the whole array makes it so.
    if (!r.deviceNewer) x.fill(value, off, off + n);
    else if (off === 0 && n === r.length) {
      x.fill(value);
      r.deviceNewer = false;
    }
    this.vector(VECTOR_FILL, n, value, 0, r.base + off);
  }

  copy(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    if (!this.resident.has(x) && !this.resident.has(y)) return hostOps.copy(n, x, xOff, y, yOff);
    this.vectorOp(VECTOR_COPY, n, 0, x, xOff, y, yOff);
  }

  axpy(n: number, alpha: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    if (!this.resident.has(x) && !this.resident.has(y)) return hostOps.axpy(n, alpha, x, xOff, y, yOff);
    this.vectorOp(VECTOR_AXPY, n, alpha, x, xOff, y, yOff);
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
    const columnGroups = Math.ceil(n / GEMM_TILE);
    if (columnGroups > MAX_GROUPS_PER_DIM) throw new RangeError(`webgpu gemm: n = ${n} columns exceed the grid limit`);
    const scratch = new Scratch(this.top);
    const aAt = this.operand(scratch, a, aOff, extent(transA ? k : m, transA ? m : k, lda), false);
    const bAt = this.operand(scratch, b, bOff, extent(transB ? n : k, transB ? k : n, ldb), false);
    const cAt = this.operand(scratch, c, cOff, extent(m, n, ldc), true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([m, n, k, transA ? 1 : 0, transB ? 1 : 0, lda, ldb, ldc, aAt, bAt, cAt]);
    const bits = new Float32Array(params.buffer);
    bits[11] = alpha;
    bits[12] = beta;
    const rowGroups = Math.ceil(m / GEMM_TILE);
    const y = Math.min(rowGroups, MAX_GROUPS_PER_DIM);
    this.kernel('gemm', params, [columnGroups, y, Math.ceil(rowGroups / y)], scratch);
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
    const scratch = new Scratch(this.top);
    const gatesAt = this.operand(scratch, gates, gatesOff, batch * (inputGate ? 3 : 4) * hidden, true);
    const igAt = inputGate ? this.operand(scratch, inputGate, 0, state, false) : 0;
    const cPrevAt = this.operand(scratch, cPrev, cPrevOff, state, false);
    const cAt = this.operand(scratch, c, cOff, state, true);
    const hAt = this.operand(scratch, h, hOff, state, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([batch, hidden, inputGate ? 1 : 0, gatesAt, igAt, cPrevAt, cAt, hAt]);
    this.kernel('cellForward', params, flatGrid(state, CELL_WORKGROUP), scratch);
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
    const scratch = new Scratch(this.top);
    const gatesAt = this.operand(scratch, gates, gatesOff, gateLen, false);
    const igAt = inputGate ? this.operand(scratch, inputGate, 0, state, false) : 0;
    const cPrevAt = this.operand(scratch, cPrev, cPrevOff, state, false);
    const cAt = this.operand(scratch, c, cOff, state, false);
    const dhAt = this.operand(scratch, dh, 0, state, false);
    const dcAt = this.operand(scratch, dc, 0, state, true);
    const dGatesAt = this.operand(scratch, dGates, dGatesOff, gateLen, true);
    // Without a dInputGate target the EA-LSTM's input-gate gradient goes to a zeroed scratch slot.
    const digAt = !inputGate ? 0 : dInputGate ? this.operand(scratch, dInputGate, 0, state, true) : this.operand(scratch, new Float32Array(state), 0, state, false);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([batch, hidden, inputGate ? 1 : 0, gatesAt, igAt, cPrevAt, cAt, dhAt, dcAt, dGatesAt, digAt]);
    this.kernel('cellBackward', params, flatGrid(state, CELL_WORKGROUP), scratch);
  }

  /** One kernel per step (webgpu/kernels.ts STEP_FORWARD_WGSL): one workgroup per batch row. */
  stepForward(
    recurrent: boolean,
    batch: number,
    hidden: number,
    w: FloatArray,
    wOff: number,
    hPrev: FloatArray,
    hPrevOff: number,
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
    if (batch > MAX_GROUPS_PER_DIM) throw new RangeError(`webgpu: batch ${batch} exceeds the grid limit`);
    const width = (inputGate ? 3 : 4) * hidden;
    const scratch = new Scratch(this.top);
    const wAt = recurrent ? this.operand(scratch, w, wOff, hidden * width, false) : 0;
    const hPrevAt = recurrent ? this.operand(scratch, hPrev, hPrevOff, state, false) : 0;
    const gatesAt = this.operand(scratch, gates, gatesOff, batch * width, true);
    const igAt = inputGate ? this.operand(scratch, inputGate, 0, state, false) : 0;
    const cPrevAt = this.operand(scratch, cPrev, cPrevOff, state, false);
    const cAt = this.operand(scratch, c, cOff, state, true);
    const hAt = this.operand(scratch, h, hOff, state, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([batch, hidden, inputGate ? 1 : 0, gatesAt, igAt, cPrevAt, cAt, hAt, recurrent ? 1 : 0, wAt, hPrevAt]);
    this.kernel('stepForward', params, [batch, 1, 1], scratch);
  }

  /** One kernel per step (webgpu/kernels.ts STEP_BACKWARD_WGSL): one workgroup per batch row. */
  stepBackward(
    propagate: boolean,
    batch: number,
    hidden: number,
    w: FloatArray,
    wOff: number,
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
    if (batch > MAX_GROUPS_PER_DIM) throw new RangeError(`webgpu: batch ${batch} exceeds the grid limit`);
    const width = (inputGate ? 3 : 4) * hidden;
    const scratch = new Scratch(this.top);
    const wAt = propagate ? this.operand(scratch, w, wOff, hidden * width, false) : 0;
    const gatesAt = this.operand(scratch, gates, gatesOff, batch * width, false);
    const igAt = inputGate ? this.operand(scratch, inputGate, 0, state, false) : 0;
    const cPrevAt = this.operand(scratch, cPrev, cPrevOff, state, false);
    const cAt = this.operand(scratch, c, cOff, state, false);
    const dhAt = this.operand(scratch, dh, 0, state, propagate);
    const dcAt = this.operand(scratch, dc, 0, state, true);
    const dGatesAt = this.operand(scratch, dGates, dGatesOff, batch * width, true);
    const digAt = !inputGate ? 0 : dInputGate ? this.operand(scratch, dInputGate, 0, state, true) : this.operand(scratch, new Float32Array(state), 0, state, false);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([batch, hidden, inputGate ? 1 : 0, gatesAt, igAt, cPrevAt, cAt, dhAt, dcAt, dGatesAt, digAt, propagate ? 1 : 0, wAt]);
    this.kernel('stepBackward', params, [batch, 1, 1], scratch);
  }

  lossAndGradient(
    loss: LossKind,
    n: number,
    prediction: FloatArray,
    target: FloatArray,
    basinStd: FloatArray,
    grad: FloatArray,
    sums: Float64Array,
    at: number,
  ): void {
    const scratch = new Scratch(this.top);
    const predictionAt = this.operand(scratch, prediction, 0, n, false);
    const targetAt = this.operand(scratch, target, 0, n, false);
    const stdAt = loss === 'NSE' ? this.operand(scratch, basinStd, 0, n, false) : 0;
    const gradAt = this.operand(scratch, grad, 0, n, true);
    const sumAt = this.operand(scratch, sums, at, 1, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([n, loss === 'NSE' ? 1 : 0, predictionAt, targetAt, stdAt, gradAt, sumAt]);
    this.kernel('loss', params, [1, 1, 1], scratch);
  }

  /** Two passes: up to REDUCE_GROUPS partial sums of squares, then their sum (a fixed order: deterministic). */
  squaredNorm(n: number, x: FloatArray, xOff: number, out: Float64Array, at: number): void {
    if (n <= 0) return this.fill(out, at, 1, 0);
    this.partials ??= this.alloc(REDUCE_GROUPS);
    const partialsAt = this.resident.get(this.partials)!.base;
    const groups = Math.min(REDUCE_GROUPS, Math.ceil(n / REDUCE_WORKGROUP));
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, xOff, n, false);
    const outAt = this.operand(scratch, out, at, 1, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([1, n, xAt, partialsAt]);
    this.kernel('reduce', params, [groups, 1, 1]);
    const combine = new Uint32Array(PARAM_WORDS);
    combine.set([0, groups, partialsAt, outAt]);
    this.kernel('reduce', combine, [1, 1, 1], scratch);
  }

  adamStep(state: AdamState, params: FloatArray, grads: FloatArray, learningRate: number, clip: NormClip | null): void {
    state.step++;
    const n = state.m.length;
    if (n === 0) return;
    const { beta1, beta2, eps } = state;
    // The bias corrections depend on the step count only: computed here in float64, as the host backends do.
    const stepSize = learningRate / (1 - beta1 ** state.step);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** state.step);
    const mAt = this.moments(state.m);
    const vAt = this.moments(state.v);
    const scratch = new Scratch(this.top);
    const paramsAt = this.operand(scratch, params, 0, n, true);
    const gradsAt = this.operand(scratch, grads, 0, n, clip !== null);
    const normAt = clip ? this.operand(scratch, clip.norms, clip.at, 1, false) : 0;
    const words = new Uint32Array(PARAM_WORDS);
    words.set([n, paramsAt, gradsAt, mAt, vAt, clip ? 1 : 0, normAt]);
    new Float32Array(words.buffer).set([clip ? clip.maxNorm : 0, beta1, 1 - beta1, beta2, 1 - beta2, eps, stepSize, sqrtBc2], 7);
    this.kernel('adam', words, flatGrid(n, CELL_WORKGROUP), scratch);
  }

  multiply(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number, z: FloatArray, zOff: number): void {
    if (n <= 0) return;
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, xOff, n, false);
    const yAt = this.operand(scratch, y, yOff, n, false);
    const zAt = this.operand(scratch, z, zOff, n, true);
    this.vector(VECTOR_MULTIPLY, n, 0, xAt, yAt, scratch, zAt);
  }

  sigmoid(n: number, x: FloatArray, xOff: number): void {
    if (n <= 0) return;
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, xOff, n, true);
    this.vector(VECTOR_SIGMOID, n, 0, 0, xAt, scratch);
  }

  sigmoidBackward(n: number, y: FloatArray, yOff: number, dy: FloatArray, dyOff: number): void {
    if (n <= 0) return;
    const scratch = new Scratch(this.top);
    const yAt = this.operand(scratch, y, yOff, n, false);
    const dyAt = this.operand(scratch, dy, dyOff, n, true);
    this.vector(VECTOR_SIGMOID_BACKWARD, n, 0, yAt, dyAt, scratch);
  }

  linearForward(n: number, k: number, x: FloatArray, xOff: number, w: FloatArray, wOff: number, bias: FloatArray, biasOff: number, y: FloatArray): void {
    if (n <= 0) return;
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, xOff, n * k, false);
    const wAt = this.operand(scratch, w, wOff, k, false);
    const biasAt = this.operand(scratch, bias, biasOff, 1, false);
    const yAt = this.operand(scratch, y, 0, n, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([n, k, xAt, wAt, biasAt, yAt]);
    this.kernel('linearForward', params, flatGrid(n, CELL_WORKGROUP), scratch);
  }

  linearBackward(
    n: number,
    k: number,
    x: FloatArray,
    xOff: number,
    w: FloatArray,
    wOff: number,
    dy: FloatArray,
    wGrad: FloatArray,
    wGradOff: number,
    biasGrad: FloatArray,
    biasGradOff: number,
    dx: FloatArray,
    dxOff: number,
    mask: FloatArray | null,
  ): void {
    if (n <= 0) return;
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, xOff, n * k, false);
    const wAt = this.operand(scratch, w, wOff, k, false);
    const dyAt = this.operand(scratch, dy, 0, n, false);
    const maskAt = mask ? this.operand(scratch, mask, 0, n * k, false) : 0;
    const wGradAt = this.operand(scratch, wGrad, wGradOff, k, true);
    const biasGradAt = this.operand(scratch, biasGrad, biasGradOff, 1, true);
    const dxAt = this.operand(scratch, dx, dxOff, n * k, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([n, k, xAt, wAt, dyAt, wGradAt, biasGradAt, dxAt, mask ? 1 : 0, maskAt]);
    this.kernel('linearBackward', params, flatGrid(Math.max(n * k, k + 1), CELL_WORKGROUP), scratch);
  }

  gatherWindows(n: number, seqLength: number, width: number, x: FloatArray, start: FloatArray, startOff: number, y: FloatArray, yOff: number): void {
    const total = n * seqLength * width;
    if (total <= 0) return;
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, 0, x.length, false);
    const startAt = this.operand(scratch, start, startOff, n, false);
    const yAt = this.operand(scratch, y, yOff, total, true);
    const params = new Uint32Array(PARAM_WORDS);
    params.set([n, seqLength, width, xAt, startAt, yAt]);
    this.kernel('gather', params, flatGrid(total, CELL_WORKGROUP), scratch);
  }

  /** The arena offset of Adam moments, placing them (with their host values) on first use; marks them device-newer. */
  private moments(x: Float64Array): number {
    const base = this.resident.get(x)?.base ?? this.place(x, true);
    this.resident.get(x)!.deviceNewer = true;
    return base;
  }

  /** copy / axpy with x or y (or both) resident. */
  private vectorOp(mode: number, n: number, alpha: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    if (n <= 0) return;
    const scratch = new Scratch(this.top);
    const xAt = this.operand(scratch, x, xOff, n, false);
    const yAt = this.operand(scratch, y, yOff, n, true);
    this.vector(mode, n, alpha, xAt, yAt, scratch);
  }

  private vector(mode: number, n: number, alpha: number, xAt: number, yAt: number, scratch?: Scratch, zAt = 0): void {
    const params = new Uint32Array(PARAM_WORDS);
    params.set([mode, n, xAt, yAt, 0, zAt]);
    new Float32Array(params.buffer)[4] = alpha;
    this.kernel('vector', params, flatGrid(n, CELL_WORKGROUP), scratch);
  }

  /**
   * The arena offset of an operand. A resident array is used in place (an output then marks its device copy the
   * newer); a host array is staged in the scratch area, and read back after the call when it is an output.
   */
  private operand(scratch: Scratch, x: FloatArray, off: number, length: number, output: boolean): number {
    const r = this.resident.get(x);
    if (r) {
      if (output) r.deviceNewer = true;
      return r.base + off;
    }
    const at = scratch.top;
    scratch.top = alignUp(at + length);
    this.reserve(scratch.top);
    if (length > 0) this.post({ type: 'write', at, data: Float32Array.from(x.subarray(off, off + length)) });
    if (output) scratch.outputs.push({ x, off, length, at });
    return at;
  }

  private kernel(kernel: KernelName, params: Uint32Array, grid: [number, number, number], scratch?: Scratch): void {
    this.post({ type: 'kernel', kernel, params, grid });
    for (const out of scratch?.outputs ?? []) out.x.set(this.read(out.at, out.length), out.off);
  }

  /** Asks the device thread to hold `elements` arena elements (it grows by doubling). */
  private reserve(elements: number): void {
    if (elements <= this.capacity) return;
    if (elements > this.maxElements) {
      throw new Error(`webgpu: ${((elements * 4) / 2 ** 20).toFixed(0)} MiB of GPU buffers needed, more than this adapter binds at once (${(this.adapter.maxBindingBytes / 2 ** 20).toFixed(0)} MiB)`);
    }
    this.capacity = Math.min(this.maxElements, Math.max(elements, this.capacity * 2));
    this.post({ type: 'reserve', elements: this.capacity });
  }

  private post(message: DeviceMessage): void {
    if (this.closed) throw new Error('the webgpu backend is closed');
    this.worker.postMessage(message);
  }

  /** arena[from, from + n) as a view of the shared data buffer (valid until the next read), after all work posted. */
  private read(from: number, n: number): Float32Array {
    if (this.data.length < n) {
      let size = this.data.length * 2;
      while (size < n) size *= 2;
      this.data = new Float32Array(new SharedArrayBuffer(size * 4));
      this.dataChanged = true;
    }
    const message: DeviceMessage = { type: 'read', from, length: n };
    if (this.dataChanged) message.data = this.data.buffer as SharedArrayBuffer;
    this.dataChanged = false;
    Atomics.store(this.control, STATUS, PENDING);
    this.reads++;
    this.post(message);
    if (Atomics.wait(this.control, STATUS, PENDING, REQUEST_TIMEOUT_MS) === 'timed-out') {
      this.close();
      throw new Error(`webgpu: the device thread did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
    }
    if (Atomics.load(this.control, STATUS) === FAILED) throw new Error(`webgpu: ${readText(this.control, this.text)}`);
    return this.data.subarray(0, n);
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
