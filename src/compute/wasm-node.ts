import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../util/package-root.js';
import type { BackendLoad } from './backend.js';
import { CONTROL, type KernelWorkerData, WASM_KERNEL_DIR, WASM_KERNEL_FILES, WasmBackend, type WasmVariant } from './wasm.js';

/** The wasm backend in Node: the kernels read from the package's build/wasm, worker threads from node:worker_threads. */

export interface WasmBackendOptions {
  /** Threads sharing each kernel call, the calling one included (default: os.cpus().length). */
  threads?: number;
  /**
   * Which build: 'auto' (default) takes relaxed SIMD (fused multiply-add where the CPU has it) when this runtime
   * accepts it, else plain SIMD; EALSTM_NO_RELAXED_SIMD=1 makes 'auto' take plain SIMD, whose results are the same
   * bits on every machine. Naming a variant forces it (unavailable if unusable).
   */
  variant?: 'auto' | WasmVariant;
}

type ModuleLoad = { module: WebAssembly.Module; reason?: undefined } | { module: null; reason: string };
const modules = new Map<WasmVariant, ModuleLoad>();

/** The compiled module of a variant, or why it is unusable here: its file is missing or this runtime rejects it (cached). */
function kernelModule(variant: WasmVariant): ModuleLoad {
  let loaded = modules.get(variant);
  if (!loaded) {
    loaded = compileKernels(variant);
    modules.set(variant, loaded);
  }
  return loaded;
}

/**
 * Node 20's V8 (11.3) has relaxed SIMD behind --experimental-wasm-relaxed-simd, which our npm scripts and users' node
 * command lines do not pass; later V8s ship it. The flag only lets the validator accept the relaxed opcodes, and V8
 * reads it when a module is validated and compiled, so setting it at run time, before compiling, is enough. Returns
 * false where this V8 refuses the flag.
 */
function enableRelaxedSimd(): boolean {
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false;
  }
}

function compileKernels(variant: WasmVariant): ModuleLoad {
  const file = join(packageRoot(), WASM_KERNEL_DIR, WASM_KERNEL_FILES[variant]);
  if (!existsSync(file)) {
    return { module: null, reason: `${file} is missing (\`npm run build:wasm\` builds it; needs the assemblyscript dev dependency)` };
  }
  try {
    const bytes = readFileSync(file);
    if (!WebAssembly.validate(bytes) && !(variant === 'wasm-relaxed-simd' && enableRelaxedSimd() && WebAssembly.validate(bytes))) {
      const feature = variant === 'wasm-simd' ? 'WebAssembly SIMD' : 'WebAssembly relaxed SIMD';
      return { module: null, reason: `this runtime (Node ${process.version}) does not accept ${feature}, which ${file} uses` };
    }
    return { module: new WebAssembly.Module(bytes) };
  } catch (e) {
    return { module: null, reason: `${file} could not be compiled: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * Worker thread body (CommonJS, evaluated): sleep on the generation slot; on a new generation claim chunks of that
 * job until none is left; stop on quit. A kernel that throws sets the error flag and wakes the main thread.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, args, tid, spin } = workerData;
const c = new Int32Array(memory.buffer, ctrl, 4);
let run = null;
try {
  run = new WebAssembly.Instance(module, { env: { memory } }).exports.run;
} catch (e) {
  Atomics.store(c, ${CONTROL.ERROR}, 1);
  Atomics.notify(c, ${CONTROL.DONE});
}
let seen = 0;
while (run !== null) {
  let g;
  for (let s = 0; (g = Atomics.load(c, ${CONTROL.GEN})) === seen; s++) if (s > spin) Atomics.wait(c, ${CONTROL.GEN}, seen);
  seen = g;
  if (Atomics.load(c, ${CONTROL.QUIT}) !== 0) break;
  try {
    run(args, tid, g);
  } catch (e) {
    Atomics.store(c, ${CONTROL.ERROR}, 1);
    Atomics.notify(c, ${CONTROL.DONE});
    break;
  }
}
`;

/** A worker thread running the kernels (unref'd: it never keeps the process alive). */
function startWorker(workerData: KernelWorkerData): Worker {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
  worker.unref();
  return worker;
}

/**
 * The WASM SIMD backend, or why not: the compiled kernels are missing (assemblyscript not installed at build time),
 * stale, or this runtime lacks WebAssembly SIMD / shared memory. Throws only for an invalid `threads` option.
 */
export function openWasmBackend(options: WasmBackendOptions = {}): BackendLoad<WasmBackend> {
  const threads = options.threads ?? Math.max(1, cpus().length);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new RangeError(`wasm backend: threads must be an integer from 1 to 1024, got ${threads}`);
  }
  const wanted = options.variant ?? 'auto';
  const order: WasmVariant[] =
    wanted !== 'auto' ? [wanted] : process.env.EALSTM_NO_RELAXED_SIMD ? ['wasm-simd'] : ['wasm-relaxed-simd', 'wasm-simd'];
  let reason = '';
  for (const variant of order) {
    const loaded = kernelModule(variant);
    if (!loaded.module) {
      reason = loaded.reason;
      continue;
    }
    try {
      return { backend: new WasmBackend(variant, loaded.module, { threads, sharedMemory: true, startWorker }) };
    } catch (e) {
      // e.g. no shared WebAssembly memory here, or a stale build: try the next variant, else give up
      reason = `the ${variant} kernels could not start: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return { backend: null, reason };
}

/** openWasmBackend's backend, or null (the reason is dropped). */
export function loadWasmBackend(options: WasmBackendOptions = {}): WasmBackend | null {
  return openWasmBackend(options).backend;
}
