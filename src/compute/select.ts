import { cpus } from 'node:os';
import type { ComputeBackend } from './backend.js';
import { loadNativeBackend } from './native.js';
import { ReferenceBackend } from './reference.js';
import { loadWasmBackend } from './wasm.js';

export type BackendName = 'auto' | 'native' | 'wasm' | 'reference' | 'reference-f64';

/**
 * The backend for a run. 'auto' takes the native OpenBLAS one when it was built, else the WASM SIMD one (built by
 * `npm run build:wasm`), else plain TypeScript float32.
 */
export function createBackend(name: BackendName, threads = 0): ComputeBackend {
  const count = threads > 0 ? threads : cpus().length;
  if (name === 'reference') return new ReferenceBackend('float32');
  if (name === 'reference-f64') return new ReferenceBackend('float64');
  if (name === 'auto' || name === 'native') {
    const native = loadNativeBackend({ threads: count });
    if (native) return native;
    if (name === 'native') {
      throw new Error("backend 'native' was asked for but the OpenBLAS addon is not built (needs libopenblas-dev and a C compiler at npm install)");
    }
  }
  const wasm = loadWasmBackend({ threads: count });
  if (wasm) return wasm;
  if (name === 'wasm') {
    throw new Error("backend 'wasm' was asked for but the WASM kernels are not built (run `npm run build:wasm`; needs the assemblyscript dev dependency)");
  }
  return new ReferenceBackend('float32');
}
