import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { BackendLoad, ComputeBackend, FloatArray } from './backend.js';
import { HostMemoryBackend } from './host-ops.js';

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

const ADDON_FUNCTIONS = ['gemm', 'cellForward', 'cellBackward', 'setThreads', 'getThreads'] as const;

/** Loads an addon file: the addon, or why it cannot be used (never throws). */
export function loadAddonFrom(file: string): { addon: NativeAddon; reason?: undefined } | { addon: null; reason: string } {
  if (!existsSync(file)) {
    return { addon: null, reason: `the OpenBLAS addon is not built (${file} is missing; \`node scripts/build-native.mjs\` builds it with a C compiler and libopenblas-dev, EALSTM_NATIVE_VERBOSE=1 shows why it fails)` };
  }
  let mod: Partial<Record<string, unknown>>;
  // The cell kernels' OpenMP threads alternate with OpenBLAS's every time step: spinning while idle (libgomp's default)
  // would take the cores OpenBLAS needs, so they sleep instead. libgomp reads this when the addon loads it.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    mod = createRequire(import.meta.url)(file) as Partial<Record<string, unknown>>;
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return { addon: null, reason: `the OpenBLAS addon ${file} failed to load: ${message} (rebuild it with \`node scripts/build-native.mjs\`)` };
  }
  const missing = ADDON_FUNCTIONS.filter((name) => typeof mod[name] !== 'function');
  if (missing.length > 0) {
    return { addon: null, reason: `the OpenBLAS addon ${file} does not export ${missing.join(', ')} (an old build? rebuild it with \`node scripts/build-native.mjs\`)` };
  }
  return { addon: mod as unknown as NativeAddon };
}

let cached: ReturnType<typeof loadAddonFrom> | undefined;

/** The package's addon (loaded once). */
function loadAddon(): ReturnType<typeof loadAddonFrom> {
  cached ??= loadAddonFrom(join(packageRoot(), NATIVE_ADDON_PATH));
  return cached;
}

export class NativeBackend extends HostMemoryBackend implements ComputeBackend {
  readonly name = 'native-openblas';
  readonly precision = 'float32' as const;
  // The kernels are the addon's functions themselves: no wrapper allocation or argument shuffling per call.
  readonly gemm: ComputeBackend['gemm'];
  readonly cellForward: ComputeBackend['cellForward'];
  readonly cellBackward: ComputeBackend['cellBackward'];

  constructor(private readonly addon: NativeAddon) {
    super();
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
 * The native OpenBLAS backend, or why not: the addon isn't built, fails to load, or EALSTM_NO_NATIVE is set.
 * Never throws, except for an invalid `threads` option (not a positive integer).
 */
export function openNativeBackend(options: NativeBackendOptions = {}): BackendLoad<NativeBackend> {
  if (process.env.EALSTM_NO_NATIVE) return { backend: null, reason: 'disabled by the EALSTM_NO_NATIVE environment variable' };
  const loaded = loadAddon();
  if (!loaded.addon) return { backend: null, reason: loaded.reason };
  const backend = new NativeBackend(loaded.addon);
  if (options.threads !== undefined) backend.setThreads(options.threads);
  return { backend };
}

/** openNativeBackend's backend, or null (the reason is dropped). */
export function loadNativeBackend(options: NativeBackendOptions = {}): NativeBackend | null {
  return openNativeBackend(options).backend;
}
