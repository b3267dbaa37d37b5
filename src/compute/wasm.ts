import type { ComputeBackend, FloatArray } from './backend.js';
import { HostMemoryBackend } from './host-ops.js';
import { ARGUMENT_SLOTS, CELL, GEMM, JOB, OPS, abiHash } from './wasm/abi.js';

/**
 * The WebAssembly SIMD float32 backend: GEMM and the fused LSTM-cell kernels written in AssemblyScript
 * (src/compute/wasm/kernels.as), compiled at build time (scripts/build-wasm.mjs, run by `npm run build:wasm`,
 * `npm run build` and `npm install`'s prepare) into build/wasm/. Needs nothing native; the default backend when
 * the OpenBLAS addon is absent. This module uses no Node API, so the browser page (src/web) runs the same class;
 * Node loads the kernels and starts the worker threads in ./wasm-node.ts.
 *
 * All buffers live in one WebAssembly.Memory, shared where threads share it (growing it never detaches views); alloc() is a bump
 * allocator handing out zero-filled, 64-byte-aligned Float32Array views into it, and the kernels refuse arrays that
 * are not such views. With threads > 1, worker threads (unref'd: they never keep the process alive) instantiate
 * the same module on the same memory. A large enough call is cut into chunks (blocks of C's columns or rows on
 * micro-tile bounds, batch rows for the cells) that the calling thread and the woken workers claim with an atomic
 * compare-and-swap, so a descheduled thread only delays its current chunk; threads sleep and wake with
 * Atomics.wait/notify on a control block in that memory. Every output element is computed by the same sequence of
 * float32 operations whoever claims its chunk and however the call is cut, so results are bitwise identical for
 * any thread count and timing.
 */

export type WasmVariant = 'wasm-simd' | 'wasm-relaxed-simd';

/** Where the compiled kernels live, relative to the package root, and their files (scripts/build-wasm.mjs). */
export const WASM_KERNEL_DIR = 'build/wasm';
export const WASM_KERNEL_FILES: Record<WasmVariant | 'wasm-simd-local', string> = {
  'wasm-simd': 'kernels-simd.wasm',
  'wasm-relaxed-simd': 'kernels-relaxed.wasm',
  /** Plain SIMD on an unshared memory, for one thread where shared memory is unavailable (a page not cross-origin isolated). */
  'wasm-simd-local': 'kernels-simd-local.wasm',
};

/** What a worker thread needs to run the kernels on the backend's memory (see wasm-node.ts). */
export interface KernelWorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: number;
  args: number;
  tid: number;
  spin: number;
}

/** A started worker thread, as far as the backend needs it. */
export interface KernelWorker {
  terminate(): unknown;
}

export interface WasmBackendSetup {
  /** Threads sharing each kernel call, the calling one included; > 1 needs `startWorker` and a shared-memory build. */
  threads: number;
  /** Whether the module imports a shared memory (the threaded builds do; wasm-simd-local does not). */
  sharedMemory: boolean;
  /** Starts worker thread `data.tid` (1 .. threads-1). */
  startWorker?: (data: KernelWorkerData) => KernelWorker;
  /**
   * An unshared memory's size, reserved at the start: it never grows, because growing an unshared memory detaches
   * every view alloc() handed out (a shared one keeps them). Needed without shared memory (see allocationBytes).
   */
  fixedBytes?: number;
}

/** The bytes alloc() takes for buffers of these lengths (each 64-byte aligned), to size a fixed memory. */
export function allocationBytes(lengths: readonly number[]): number {
  return lengths.reduce((sum, n) => sum + alignUp(4 * n, ALIGN), 0);
}

// ---- memory layout (bytes) ---------------------------------------------------------------------------------------
// [0, 256) unused (keeps address 0, the kernels' "no buffer", out of every allocation)
const CTRL = 256; // control block: Int32 slots below, then the 64-bit claim word at CTRL + 16
const ARGS = 512; // argument block read by kernels.as (slots: wasm/abi.ts)
const SCRATCH = 4096; // per-thread packing buffers from here
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit
const ALIGN = 64;

/** Control block Int32 slots (the worker body in wasm-node.ts uses them too). */
export const CONTROL = {
  GEN: 0, // job generation; workers sleep on it
  DONE: 1, // chunks finished in the current job; the main thread sleeps on it
  ERROR: 2, // set by a worker whose kernel call threw
  QUIT: 3, // set by close()
} as const;
const { GEN: C_GEN, DONE: C_DONE, ERROR: C_ERROR, QUIT: C_QUIT } = CONTROL;
const CLAIM_INDEX = 2; // BigInt64 index of the claim word: generation << 32 | chunks << 16 | next chunk

/** Below this many multiply-adds a gemm runs on the calling thread alone (waking workers costs more). */
const PARALLEL_MIN_FMAS = 1 << 20;
/** Below this many cell elements (batch x hidden) a cell kernel runs on the calling thread alone. */
const PARALLEL_MIN_CELLS = 1 << 13;
/** Chunks per thread a parallel job is cut into (some slack so a descheduled thread delays the job less). */
const CHUNKS_PER_THREAD = 4;
/** Atomics.load polls before a thread sleeps in Atomics.wait (keeps back-to-back calls off the futex). */
const SPIN = 20000;

interface KernelExports {
  run(args: number, tid: number, gen: number): void;
  SCRATCH_BYTES: WebAssembly.Global;
  TILE_ROWS: WebAssembly.Global;
  TILE_COLS: WebAssembly.Global;
  VECTOR_CHUNK: WebAssembly.Global;
  ABI_HASH?: WebAssembly.Global;
}

/** Terminates a collected backend's workers (they hold the memory, not the backend). */
const reaper = new FinalizationRegistry<KernelWorker[]>((workers) => {
  for (const w of workers) void w.terminate();
});

export class WasmBackend extends HostMemoryBackend implements ComputeBackend {
  readonly precision = 'float32' as const;
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  private readonly run: (args: number, tid: number, gen: number) => void;
  /** Every buffer object memory.buffer has returned (one per size): views of any of them are ours. */
  private readonly buffers = new Set<ArrayBufferLike>();
  private readonly ctrl: Int32Array;
  private readonly claim: BigInt64Array;
  private readonly argI32: Int32Array;
  private readonly argF32: Float32Array;
  private readonly workers: KernelWorker[] = [];
  private readonly tileRows: number;
  private readonly tileCols: number;
  private readonly vectorChunk: number;
  private byteLength: number;
  private top: number;
  private gen = 0;
  private closed = false;
  private readonly growable: boolean;

  constructor(
    readonly name: WasmVariant,
    module: WebAssembly.Module,
    setup: WasmBackendSetup,
  ) {
    super();
    const threads = setup.threads;
    this.threads = threads;
    if (threads > 1 && !(setup.sharedMemory && setup.startWorker)) throw new Error('wasm backend: threads > 1 need a shared-memory build and worker threads');
    if (!setup.sharedMemory && !setup.fixedBytes) throw new Error('wasm backend: an unshared memory needs its size (fixedBytes)');
    this.growable = setup.sharedMemory;
    // Start with room for the usual scratch size (and the fixed size); ensureBytes below grows to what the module reports.
    const initialPages = Math.ceil((SCRATCH + threads * 2 * 1024 * 1024 + (setup.fixedBytes ?? 0) + PAGE) / PAGE);
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: setup.sharedMemory });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    const exports = instance.exports as unknown as KernelExports;
    if (exports.ABI_HASH?.value !== abiHash()) {
      throw new Error(`the compiled ${name} kernels use another argument layout than src/compute/wasm/abi.ts (stale build: run \`npm run build:wasm\`)`);
    }
    this.run = exports.run;
    this.tileRows = Number(exports.TILE_ROWS.value);
    this.tileCols = Number(exports.TILE_COLS.value);
    this.vectorChunk = Number(exports.VECTOR_CHUNK.value);
    const scratchStride = alignUp(Number(exports.SCRATCH_BYTES.value), 4096);
    this.byteLength = initialPages * PAGE;
    this.top = alignUp(SCRATCH + threads * scratchStride, ALIGN);
    this.ensureBytes(this.top);
    const buffer = this.memory.buffer;
    this.ctrl = new Int32Array(buffer, CTRL, 4);
    this.claim = new BigInt64Array(buffer, CTRL, 3);
    this.argI32 = new Int32Array(buffer, ARGS, ARGUMENT_SLOTS);
    this.argF32 = new Float32Array(buffer, ARGS, ARGUMENT_SLOTS);
    this.argI32[JOB.SCRATCH] = SCRATCH;
    this.argI32[JOB.SCRATCH_STRIDE] = scratchStride;
    this.argI32[JOB.CLAIM] = CTRL + 8 * CLAIM_INDEX;
    this.argI32[JOB.DONE] = CTRL + 4 * C_DONE;

    for (let tid = 1; tid < threads; tid++) {
      this.workers.push((setup.startWorker as NonNullable<WasmBackendSetup['startWorker']>)({ module, memory: this.memory, ctrl: CTRL, args: ARGS, tid, spin: SPIN }));
    }
    if (this.workers.length > 0) reaper.register(this, this.workers, this);
  }

  /** A zero-filled float32 buffer of n elements in the backend's memory (bump-allocated; never freed). */
  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`wasm backend: alloc(${n}) needs a non-negative integer`);
    const ptr = this.top;
    this.ensureBytes(ptr + 4 * n);
    this.top = alignUp(ptr + 4 * n, ALIGN);
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Float32Array(buffer, ptr, n);
  }

  /** Bytes handed out by alloc() so far (the memory only grows). */
  get allocatedBytes(): number {
    return this.top;
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
    if (!(m > 0 && n > 0)) return;
    checkDims(m, n, k, lda, ldb, ldc);
    const args = this.argI32;
    const f = this.argF32;
    const kk = k > 0 ? k : 0;
    args[GEMM.TRANS_A] = transA ? 1 : 0;
    args[GEMM.TRANS_B] = transB ? 1 : 0;
    args[GEMM.M] = m;
    args[GEMM.N] = n;
    args[GEMM.K] = kk;
    f[GEMM.ALPHA] = alpha;
    args[GEMM.A] = kk > 0 ? this.address(a, aOff, transA ? kk : m, transA ? m : kk, lda, 'a') : 0;
    args[GEMM.LDA] = lda;
    args[GEMM.B] = kk > 0 ? this.address(b, bOff, transB ? n : kk, transB ? kk : n, ldb, 'b') : 0;
    args[GEMM.LDB] = ldb;
    f[GEMM.BETA] = beta;
    args[GEMM.C] = this.address(c, cOff, m, n, ldc, 'c');
    args[GEMM.LDC] = ldc;
    args[JOB.OP] = OPS.GEMM;
    // Cut C into column blocks (or row blocks when it is taller than wide) on micro-tile bounds. Each block packs
    // the whole of the other operand's panel again, so blocks stay wide; when that operand is large (the weight
    // gradients' k = T x batch) there are fewer of them.
    const threads = m * n * kk >= PARALLEL_MIN_FMAS ? this.threads : 1;
    const byRows = m > 1 && m > n;
    const extent = byRows ? m : n;
    const unit = m === 1 ? this.vectorChunk : byRows ? this.tileRows : this.tileCols;
    const units = Math.ceil(extent / unit);
    const perThread = (byRows ? n : m) * kk > 1 << 20 ? 2 : CHUNKS_PER_THREAD;
    const minUnits = m === 1 ? 1 : 4;
    const chunk = threads === 1 ? unit * units : unit * Math.max(minUnits, Math.ceil(units / (threads * perThread)));
    args[JOB.SPLIT] = byRows ? 1 : 0;
    args[JOB.CHUNK] = chunk;
    this.dispatch(Math.ceil(extent / chunk), threads > 1);
  }

  /** The argument slots both cell kernels share; returns batch * hidden. */
  private setCellArgs(
    batch: number,
    hidden: number,
    gates: FloatArray,
    gatesOff: number,
    inputGate: FloatArray | null,
    cPrev: FloatArray,
    cPrevOff: number,
    c: FloatArray,
    cOff: number,
  ): number {
    checkCellDims(batch, hidden);
    const width = (inputGate ? 3 : 4) * hidden;
    const rows = batch * hidden;
    const args = this.argI32;
    args[CELL.BATCH] = batch;
    args[CELL.HIDDEN] = hidden;
    args[CELL.GATES] = this.address(gates, gatesOff, 1, batch * width, 0, 'gates');
    args[CELL.INPUT_GATE] = inputGate ? this.address(inputGate, 0, 1, rows, 0, 'inputGate') : 0;
    args[CELL.C_PREV] = this.address(cPrev, cPrevOff, 1, rows, 0, 'cPrev');
    args[CELL.C] = this.address(c, cOff, 1, rows, 0, 'c');
    return rows;
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
    if (!(batch > 0 && hidden > 0)) return;
    const rows = this.setCellArgs(batch, hidden, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff);
    const args = this.argI32;
    args[CELL.H] = this.address(h, hOff, 1, rows, 0, 'h');
    args[JOB.OP] = OPS.CELL_FORWARD;
    this.dispatchRows(batch, rows >= PARALLEL_MIN_CELLS);
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
    if (!(batch > 0 && hidden > 0)) return;
    const rows = this.setCellArgs(batch, hidden, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff);
    const width = (inputGate ? 3 : 4) * hidden;
    const args = this.argI32;
    args[CELL.DH] = this.address(dh, 0, 1, rows, 0, 'dh');
    args[CELL.DC] = this.address(dc, 0, 1, rows, 0, 'dc');
    args[CELL.DGATES] = this.address(dGates, dGatesOff, 1, batch * width, 0, 'dGates');
    // dL/d(input gate) goes to dInputGate for the EA-LSTM (dropped when it is null); the LSTM's is in dGates.
    args[CELL.DINPUT_GATE] = inputGate && dInputGate ? this.address(dInputGate, 0, 1, rows, 0, 'dInputGate') : 0;
    args[JOB.OP] = OPS.CELL_BACKWARD;
    this.dispatchRows(batch, rows >= PARALLEL_MIN_CELLS);
  }

  /** Stops the worker threads (the backend then runs on the calling thread only). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.claim, CLAIM_INDEX, 0n); // no chunk left to claim in any job
    if (this.workers.length === 0) return;
    reaper.unregister(this);
    Atomics.store(this.ctrl, C_QUIT, 1);
    Atomics.add(this.ctrl, C_GEN, 1);
    Atomics.notify(this.ctrl, C_GEN);
    for (const w of this.workers) void w.terminate();
  }

  /** A cell job: batch rows cut into chunks. */
  private dispatchRows(batch: number, parallel: boolean): void {
    const threads = parallel ? this.threads : 1;
    const chunk = threads === 1 ? batch : Math.ceil(batch / (threads * CHUNKS_PER_THREAD));
    this.argI32[JOB.CHUNK] = chunk;
    this.dispatch(Math.ceil(batch / chunk), threads > 1);
  }

  /**
   * Runs the job in the argument block: publishes its chunks under a new generation, wakes the workers when
   * `parallel`, claims chunks on this thread too, then waits until every chunk is finished.
   */
  private dispatch(chunks: number, parallel: boolean): void {
    const ctrl = this.ctrl;
    this.gen = (this.gen + 1) | 0;
    Atomics.store(ctrl, C_DONE, 0);
    // The claim word is stored after the arguments: a worker that sees it sees them.
    Atomics.store(this.claim, CLAIM_INDEX, (BigInt(this.gen >>> 0) << 32n) | BigInt(chunks << 16));
    if (parallel && chunks > 1 && this.workers.length > 0 && !this.closed) {
      Atomics.store(ctrl, C_GEN, this.gen);
      Atomics.notify(ctrl, C_GEN);
    }
    try {
      this.run(ARGS, 0, this.gen);
    } catch (e) {
      // Stop the workers before anyone reuses the buffers they may still be writing.
      this.close();
      throw e;
    }
    for (let s = 0; ; s++) {
      const done = Atomics.load(ctrl, C_DONE);
      if (done === chunks) break;
      if (Atomics.load(ctrl, C_ERROR) !== 0) {
        this.close();
        throw new Error('wasm backend: a worker thread failed; the backend now runs on the calling thread only');
      }
      if (s > SPIN) Atomics.wait(ctrl, C_DONE, done, 50);
    }
  }

  /** The byte address of x[off], after checking that x is one of our views and holds the rows x cols block. */
  private address(x: FloatArray, off: number, rows: number, cols: number, ld: number, what: string): number {
    if (!(x instanceof Float32Array) || !this.buffers.has(x.buffer)) {
      throw new TypeError(
        `wasm backend: '${what}' is not a view of this backend's WebAssembly memory; allocate every buffer with backend.alloc()`,
      );
    }
    if (!Number.isInteger(off) || off < 0) throw new RangeError(`wasm backend: offset of '${what}' must be a non-negative integer, got ${off}`);
    if (rows > 1 && ld < cols) throw new RangeError(`wasm backend: leading dimension of '${what}' (${ld}) is below its row width ${cols}`);
    const extent = off + (rows - 1) * ld + cols;
    if (extent > x.length) {
      throw new RangeError(`wasm backend: '${what}' needs ${extent} elements (offset ${off}, ${rows} x ${cols}, ld ${ld}) but has ${x.length}`);
    }
    return x.byteOffset + 4 * off;
  }

  private ensureBytes(bytes: number): void {
    if (bytes <= this.byteLength) return;
    if (!this.growable) {
      throw new RangeError(`wasm backend: the fixed memory (${this.byteLength} bytes) is full, ${bytes} needed; give a larger fixedBytes`);
    }
    const pages = Math.ceil((bytes - this.byteLength) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      throw new RangeError(`wasm backend: out of memory (asked for ${bytes} bytes; the WebAssembly memory is limited to 4 GiB)`);
    }
    this.byteLength += pages * PAGE;
  }
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

function checkDims(m: number, n: number, k: number, lda: number, ldb: number, ldc: number): void {
  for (const [name, v] of [['m', m], ['n', n], ['k', k], ['lda', lda], ['ldb', ldb], ['ldc', ldc]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`wasm backend: gemm ${name} must be a non-negative integer, got ${v}`);
  }
}

function checkCellDims(batch: number, hidden: number): void {
  if (!Number.isInteger(batch) || !Number.isInteger(hidden)) throw new RangeError(`wasm backend: batch ${batch} and hidden ${hidden} must be integers`);
}
