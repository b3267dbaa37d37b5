import type { ComputeBackend, FloatArray } from './backend.js';

/**
 * The data-movement ops and no-op coherence points of backends whose buffers are host memory (reference, native,
 * wasm): one implementation shared by them.
 */
export const hostOps: Pick<ComputeBackend, 'toHost' | 'hostWrote' | 'fill' | 'copy' | 'axpy'> = {
  toHost(): void {},
  hostWrote(): void {},
  fill(x: FloatArray, off: number, n: number, value: number): void {
    x.fill(value, off, off + n);
  },
  copy(n: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    y.set(x.subarray(xOff, xOff + n), yOff);
  },
  axpy(n: number, alpha: number, x: FloatArray, xOff: number, y: FloatArray, yOff: number): void {
    for (let i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
  },
};
