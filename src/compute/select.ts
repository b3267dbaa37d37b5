import { cpus } from 'node:os';
import type { ComputeBackend } from './backend.js';
import { loadNativeBackend } from './native.js';
import { ReferenceBackend } from './reference.js';

export type BackendName = 'auto' | 'native' | 'reference' | 'reference-f64';

/** The backend for a run: 'auto' takes the native OpenBLAS one when it was built, else plain TypeScript float32. */
export function createBackend(name: BackendName, threads = 0): ComputeBackend {
  const count = threads > 0 ? threads : cpus().length;
  if (name === 'reference') return new ReferenceBackend('float32');
  if (name === 'reference-f64') return new ReferenceBackend('float64');
  const native = loadNativeBackend({ threads: count });
  if (native) return native;
  if (name === 'native') {
    throw new Error("backend 'native' was asked for but the OpenBLAS addon is not built (needs libopenblas-dev and a C compiler at npm install)");
  }
  return new ReferenceBackend('float32');
}
