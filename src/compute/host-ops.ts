import type { ComputeBackend, FloatArray } from './backend.js';

type StepForward = Parameters<ComputeBackend['stepForward']>;
type StepBackward = Parameters<ComputeBackend['stepBackward']>;

/** ComputeBackend.stepForward as its two parts: the recurrent product, then the cell. */
export function stepForwardInParts(be: ComputeBackend, ...args: StepForward): void {
  const [recurrent, batch, hidden, w, wOff, hPrev, hPrevOff, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, h, hOff] = args;
  const g = (inputGate ? 3 : 4) * hidden;
  if (recurrent) be.gemm(false, false, batch, g, hidden, 1, hPrev, hPrevOff, hidden, w, wOff, g, 1, gates, gatesOff, g);
  be.cellForward(batch, hidden, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, h, hOff);
}

/** ComputeBackend.stepBackward as its two parts: the cell, then the product with the recurrent weights. */
export function stepBackwardInParts(be: ComputeBackend, ...args: StepBackward): void {
  const [propagate, batch, hidden, w, wOff, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, dh, dc, dGates, dGatesOff, dInputGate] = args;
  const g = (inputGate ? 3 : 4) * hidden;
  be.cellBackward(batch, hidden, gates, gatesOff, inputGate, cPrev, cPrevOff, c, cOff, dh, dc, dGates, dGatesOff, dInputGate);
  if (propagate) be.gemm(false, true, batch, hidden, g, 1, dGates, dGatesOff, g, w, wOff, g, 0, dh, 0, hidden);
}

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
