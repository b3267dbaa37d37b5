import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComputeBackend, FloatArray } from './backend.js';

/**
 * The optional native float32 backend: OpenBLAS sgemm plus C cell kernels, in a small N-API addon built from
 * native/ by scripts/build-native.mjs (at `npm install`, or by hand with `node scripts/build-native.mjs`).
 * Every array handed to it must be a Float32Array (alloc() makes them); others throw a TypeError.
 */

/** The addon's exports (native/ealstm_native.c). */
interface NativeAddon {
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
  ): void;
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
  ): void;
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
  ): void;
  /** openblas_set_num_threads (process-wide). */
  setThreads(n: number): void;
  /** openblas_get_num_threads. */
  getThreads(): number;
}

export interface NativeBackendOptions {
  /** OpenBLAS thread count (process-wide); left as OpenBLAS chose (OPENBLAS_NUM_THREADS or all cores) when unset. */
  threads?: number;
}

/** Relative to the package root. */
export const NATIVE_ADDON_PATH = join('native', 'build', 'Release', 'ealstm_native.node');

/** The package root: the first folder above this file that holds a package.json (works from src/ and dist/src/). */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

let cached: NativeAddon | null | undefined;

/** The loaded addon, or null when it isn't built or can't load (cached; never throws). */
function loadAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const root = packageRoot();
    if (!root) return null;
    const file = join(root, NATIVE_ADDON_PATH);
    if (!existsSync(file)) return null;
    const mod = createRequire(import.meta.url)(file) as Partial<NativeAddon>;
    if (
      typeof mod.gemm === 'function' &&
      typeof mod.cellForward === 'function' &&
      typeof mod.cellBackward === 'function' &&
      typeof mod.setThreads === 'function' &&
      typeof mod.getThreads === 'function'
    )
      cached = mod as NativeAddon;
  } catch {
    cached = null;
  }
  return cached;
}

export class NativeBackend implements ComputeBackend {
  readonly name = 'native-openblas';
  readonly precision = 'float32' as const;
  // The kernels are the addon's functions themselves: no wrapper allocation or argument shuffling per call.
  readonly gemm: ComputeBackend['gemm'];
  readonly cellForward: ComputeBackend['cellForward'];
  readonly cellBackward: ComputeBackend['cellBackward'];

  constructor(private readonly addon: NativeAddon) {
    this.gemm = addon.gemm;
    this.cellForward = addon.cellForward;
    this.cellBackward = addon.cellBackward;
  }

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  /** Sets OpenBLAS's thread count (process-wide: it affects every NativeBackend). */
  setThreads(n: number): void {
    this.addon.setThreads(n);
  }

  get threads(): number {
    return this.addon.getThreads();
  }
}

/**
 * The native OpenBLAS backend, or null when the addon isn't built (or fails to load, or EALSTM_NO_NATIVE is set).
 * Never throws, except for an invalid `threads` option (not a positive integer).
 */
export function loadNativeBackend(options: NativeBackendOptions = {}): NativeBackend | null {
  if (process.env.EALSTM_NO_NATIVE) return null;
  const addon = loadAddon();
  if (!addon) return null;
  const backend = new NativeBackend(addon);
  if (options.threads !== undefined) backend.setThreads(options.threads);
  return backend;
}
