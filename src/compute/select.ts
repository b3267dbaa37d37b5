import { cpus } from 'node:os';
import type { BackendName, ConcreteBackendName } from '../util/backend-names.js';
import { BACKEND_NAMES } from '../util/backend-names.js';
import { InputError } from '../util/errors.js';
import type { BackendLoad, ComputeBackend } from './backend.js';
import { openNativeBackend } from './native.js';
import { ReferenceBackend } from './reference.js';
import { openWasmBackend } from './wasm-node.js';
import { openWebGpuBackend } from './webgpu.js';

export type { BackendName, ConcreteBackendName } from '../util/backend-names.js';

export interface OpenOptions {
  /** Refuse a software GPU adapter (lavapipe): what 'auto' and the benchmark ask for; the CPU backends ignore it. */
  hardwareOnly?: boolean;
}

interface BackendEntry {
  /** The backend on `threads` threads (at least 1), or why it is not available here. */
  open(threads: number, options: OpenOptions): BackendLoad<ComputeBackend>;
  /** Whether 'auto' may pick it (in the order of BACKEND_NAMES). */
  auto: boolean;
}

/** The registry: one line per backend of util/backend-names.ts. */
const BACKENDS: Record<ConcreteBackendName, BackendEntry> = {
  webgpu: { open: (_threads, options) => openWebGpuBackend({ hardwareOnly: options.hardwareOnly }), auto: true },
  native: { open: (threads) => openNativeBackend({ threads }), auto: true },
  wasm: { open: (threads) => openWasmBackend({ threads }), auto: true },
  reference: { open: () => ({ backend: new ReferenceBackend('float32') }), auto: true },
  'reference-f64': { open: () => ({ backend: new ReferenceBackend('float64') }), auto: false },
};

/** A named backend on `threads` threads (0: all cores), or why it is not available here. */
export function openBackend(name: ConcreteBackendName, threads = 0, options: OpenOptions = {}): BackendLoad<ComputeBackend> {
  return BACKENDS[name].open(threads > 0 ? threads : cpus().length, options);
}

export interface ResolvedBackend {
  backend: ComputeBackend;
  /** The backends 'auto' tried before the one it took, each with why it did not load. */
  skipped: { name: ConcreteBackendName; reason: string }[];
}

/**
 * The backend for a name. 'auto' takes the first of webgpu (on a hardware GPU adapter only), native (OpenBLAS
 * addon), wasm (SIMD kernels) and reference (plain TypeScript float32) that loads, and says why it skipped the others; a named backend that does not load
 * is an InputError saying why.
 */
export function resolveBackend(name: BackendName, threads = 0): ResolvedBackend {
  if (name !== 'auto') {
    const loaded = openBackend(name, threads);
    if (!loaded.backend) throw new InputError(`backend '${name}' is not available: ${loaded.reason}`);
    return { backend: loaded.backend, skipped: [] };
  }
  const skipped: ResolvedBackend['skipped'] = [];
  for (const candidate of BACKEND_NAMES) {
    if (!BACKENDS[candidate].auto) continue;
    const loaded = openBackend(candidate, threads, { hardwareOnly: true });
    if (loaded.backend) return { backend: loaded.backend, skipped };
    skipped.push({ name: candidate, reason: loaded.reason });
  }
  throw new Error(`no compute backend loads here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** resolveBackend's backend. */
export function createBackend(name: BackendName, threads = 0): ComputeBackend {
  return resolveBackend(name, threads).backend;
}
