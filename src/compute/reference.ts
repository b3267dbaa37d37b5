import type { ComputeBackend, FloatArray } from './backend.js';
import { HostMemoryBackend } from './host-ops.js';

/**
 * Plain TypeScript kernels: the oracle every fast backend is tested against. With precision 'float64' it is
 * the float64 reference path; with 'float32' it is a portable float32 backend that needs nothing but Node.
 */
export class ReferenceBackend extends HostMemoryBackend implements ComputeBackend {
  readonly name: string;
  constructor(readonly precision: 'float32' | 'float64' = 'float64') {
    super();
    this.name = `reference-${precision === 'float64' ? 'f64' : 'f32'}`;
  }

  alloc(n: number): FloatArray {
    return this.precision === 'float64' ? new Float64Array(n) : new Float32Array(n);
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
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * ldc;
      if (beta === 0) c.fill(0, ci, ci + n);
      else if (beta !== 1) for (let j = 0; j < n; j++) c[ci + j] *= beta;
    }
    if (!transB) {
      // i-p-j order keeps the inner loop contiguous over rows of B and C.
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * ldc;
        for (let p = 0; p < k; p++) {
          const av = alpha * (transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p]);
          if (av === 0) continue;
          const bp = bOff + p * ldb;
          for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
        }
      }
    } else {
      // B^T: rows of B are columns of op(B), so a dot product per output keeps both reads contiguous.
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * ldc;
        for (let j = 0; j < n; j++) {
          const bj = bOff + j * ldb;
          let sum = 0;
          if (transA) for (let p = 0; p < k; p++) sum += a[aOff + p * lda + i] * b[bj + p];
          else {
            const ai = aOff + i * lda;
            for (let p = 0; p < k; p++) sum += a[ai + p] * b[bj + p];
          }
          c[ci + j] += alpha * sum;
        }
      }
    }
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
    const width = (inputGate ? 3 : 4) * hidden;
    for (let b = 0; b < batch; b++) {
      const g0 = gatesOff + b * width;
      for (let j = 0; j < hidden; j++) {
        const f = sigmoid(gates[g0 + j]);
        const o = sigmoid(gates[g0 + hidden + j]);
        const g = Math.tanh(gates[g0 + 2 * hidden + j]);
        let i: number;
        if (inputGate) i = inputGate[b * hidden + j];
        else {
          i = sigmoid(gates[g0 + 3 * hidden + j]);
          gates[g0 + 3 * hidden + j] = i;
        }
        gates[g0 + j] = f;
        gates[g0 + hidden + j] = o;
        gates[g0 + 2 * hidden + j] = g;
        const cell = f * cPrev[cPrevOff + b * hidden + j] + i * g;
        c[cOff + b * hidden + j] = cell;
        h[hOff + b * hidden + j] = o * Math.tanh(cell);
      }
    }
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
    const width = (inputGate ? 3 : 4) * hidden;
    for (let b = 0; b < batch; b++) {
      const g0 = gatesOff + b * width;
      const d0 = dGatesOff + b * width;
      for (let j = 0; j < hidden; j++) {
        const s = b * hidden + j;
        const f = gates[g0 + j];
        const o = gates[g0 + hidden + j];
        const g = gates[g0 + 2 * hidden + j];
        const i = inputGate ? inputGate[s] : gates[g0 + 3 * hidden + j];
        const tc = Math.tanh(c[cOff + s]);
        const dhs = dh[s];
        const dcTotal = dc[s] + dhs * o * (1 - tc * tc);
        dGates[d0 + j] = dcTotal * cPrev[cPrevOff + s] * f * (1 - f);
        dGates[d0 + hidden + j] = dhs * tc * o * (1 - o);
        dGates[d0 + 2 * hidden + j] = dcTotal * i * (1 - g * g);
        const di = dcTotal * g;
        if (dInputGate) dInputGate[s] += di;
        else dGates[d0 + 3 * hidden + j] = di * i * (1 - i);
        dc[s] = dcTotal * f;
      }
    }
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
