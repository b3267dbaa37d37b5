import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReferenceBackend } from '../src/compute/reference.js';
import { rng } from './helpers/random.js';

function randArray(n: number, rand: () => number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** C = alpha op(A) op(B) + beta C by definition, beta = 0 meaning "C is not read". */
function naiveGemm(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float64Array,
  aOff: number,
  lda: number,
  b: Float64Array,
  bOff: number,
  ldb: number,
  beta: number,
  c: Float64Array,
  cOff: number,
  ldc: number,
): void {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = tA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        const bv = tB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        s += av * bv;
      }
      const idx = cOff + i * ldc + j;
      c[idx] = alpha * s + (beta === 0 ? 0 : beta * c[idx]);
    }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e))))
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}

describe('ReferenceBackend.gemm', () => {
  const ref = new ReferenceBackend('float64');
  const rand = rng(1234);
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 7, 3],
    [7, 1, 5],
    [3, 5, 1],
    [7, 33, 13],
    [33, 7, 17],
    [5, 9, 0],
  ];
  const coeffs: Array<[number, number]> = [
    [1, 0],
    [1, 1],
    [-0.75, 0.5],
    [2, -1.5],
  ];
  for (const tA of [false, true])
    for (const tB of [false, true])
      it(`matches a naive triple loop (transA=${tA}, transB=${tB})`, () => {
        for (const [m, n, k] of shapes)
          for (const [alpha, beta] of coeffs) {
            // Stored shapes with leading dimensions wider than the rows, and leading offsets.
            const aRows = tA ? k : m;
            const aCols = tA ? m : k;
            const bRows = tB ? n : k;
            const bCols = tB ? k : n;
            const lda = aCols + 3;
            const ldb = bCols + 2;
            const ldc = n + 4;
            const aOff = 5;
            const bOff = 2;
            const cOff = 7;
            const a = randArray(aOff + aRows * lda + 3, rand);
            const b = randArray(bOff + bRows * ldb + 3, rand);
            const c0 = randArray(cOff + m * ldc + 3, rand);
            if (beta === 0) for (let i = 0; i < m; i++) c0[cOff + i * ldc] = Number.NaN; // beta 0 must not read C
            const got = c0.slice();
            const want = c0.slice();
            ref.gemm(tA, tB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, got, cOff, ldc);
            naiveGemm(tA, tB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, want, cOff, ldc);
            assertClose(got, want, 1e-12, `gemm ${m}x${n}x${k} alpha=${alpha} beta=${beta}`);
          }
      });
});

/**
 * Finite-difference checks of the cell kernels in float64 on the scalar loss L = sum(wh * h) + sum(wc * c) of one
 * step; its backward inputs are dh = wh and dc = wc, and it must give dL/d(gate pre-activations) in dGates,
 * dL/dcPrev in dc and (EA-LSTM) dL/d(input gate) added into dInputGate.
 */
describe('ReferenceBackend cell kernels', () => {
  const ref = new ReferenceBackend('float64');
  const batch = 2;
  const hidden = 3;
  const gatesOff = 4;
  const cPrevOff = 1;
  const cOff = 2;
  const hOff = 3;
  const dGatesOff = 5;
  const eps = 1e-6;

  for (const withInputGate of [true, false])
    it(`forward matches the definition and backward matches finite differences (${withInputGate ? 'EA-LSTM input gate' : 'LSTM'})`, () => {
      const rand = rng(withInputGate ? 7 : 8);
      const width = (withInputGate ? 3 : 4) * hidden;
      const z = randArray(gatesOff + batch * width, rand, -2, 2);
      const cPrev = randArray(cPrevOff + batch * hidden, rand, -1.5, 1.5);
      const ig = withInputGate ? randArray(batch * hidden, rand, 0.05, 0.95) : null;
      const wh = randArray(batch * hidden, rand);
      const wc = randArray(batch * hidden, rand);

      const loss = (zz: Float64Array, cp: Float64Array, igg: Float64Array | null): number => {
        const g = zz.slice();
        const c = new Float64Array(cOff + batch * hidden);
        const h = new Float64Array(hOff + batch * hidden);
        ref.cellForward(batch, hidden, g, gatesOff, igg, cp, cPrevOff, c, cOff, h, hOff);
        let l = 0;
        for (let s = 0; s < batch * hidden; s++) l += wh[s] * h[hOff + s] + wc[s] * c[cOff + s];
        return l;
      };

      // Forward against the formulas.
      const gates = z.slice();
      const c = new Float64Array(cOff + batch * hidden);
      const h = new Float64Array(hOff + batch * hidden);
      ref.cellForward(batch, hidden, gates, gatesOff, ig, cPrev, cPrevOff, c, cOff, h, hOff);
      const sig = (x: number) => 1 / (1 + Math.exp(-x));
      for (let b = 0; b < batch; b++)
        for (let j = 0; j < hidden; j++) {
          const g0 = gatesOff + b * width;
          const s = b * hidden + j;
          const f = sig(z[g0 + j]);
          const o = sig(z[g0 + hidden + j]);
          const g = Math.tanh(z[g0 + 2 * hidden + j]);
          const i = ig ? ig[s] : sig(z[g0 + 3 * hidden + j]);
          assert.ok(Math.abs(gates[g0 + j] - f) < 1e-15);
          assert.ok(Math.abs(gates[g0 + hidden + j] - o) < 1e-15);
          assert.ok(Math.abs(gates[g0 + 2 * hidden + j] - g) < 1e-15);
          if (!ig) assert.ok(Math.abs(gates[g0 + 3 * hidden + j] - i) < 1e-15);
          const cell = f * cPrev[cPrevOff + s] + i * g;
          assert.ok(Math.abs(c[cOff + s] - cell) < 1e-15);
          assert.ok(Math.abs(h[hOff + s] - Math.tanh(cell) * o) < 1e-15);
        }
      // Padding before the offsets is untouched.
      for (let p = 0; p < gatesOff; p++) assert.equal(gates[p], z[p]);
      for (let p = 0; p < cOff; p++) assert.equal(c[p], 0);
      for (let p = 0; p < hOff; p++) assert.equal(h[p], 0);

      // Backward.
      const dh = wh.slice();
      const dc = wc.slice();
      const dGates = new Float64Array(dGatesOff + batch * width);
      const dIg0 = ig ? randArray(batch * hidden, rand) : null; // accumulated into, not overwritten
      const dIg = dIg0 ? dIg0.slice() : null;
      ref.cellBackward(batch, hidden, gates, gatesOff, ig, cPrev, cPrevOff, c, cOff, dh, dc, dGates, dGatesOff, dIg);

      const tol = 1e-7;
      for (let q = 0; q < batch * width; q++) {
        const zp = z.slice();
        const zm = z.slice();
        zp[gatesOff + q] += eps;
        zm[gatesOff + q] -= eps;
        const fd = (loss(zp, cPrev, ig) - loss(zm, cPrev, ig)) / (2 * eps);
        assert.ok(Math.abs(dGates[dGatesOff + q] - fd) < tol, `dGates[${q}]: ${dGates[dGatesOff + q]} vs ${fd}`);
      }
      for (let s = 0; s < batch * hidden; s++) {
        const cp = cPrev.slice();
        const cm = cPrev.slice();
        cp[cPrevOff + s] += eps;
        cm[cPrevOff + s] -= eps;
        const fd = (loss(z, cp, ig) - loss(z, cm, ig)) / (2 * eps);
        assert.ok(Math.abs(dc[s] - fd) < tol, `dc[${s}]: ${dc[s]} vs ${fd}`);
      }
      if (ig && dIg && dIg0)
        for (let s = 0; s < batch * hidden; s++) {
          const ip = ig.slice();
          const im = ig.slice();
          ip[s] += eps;
          im[s] -= eps;
          const fd = (loss(z, cPrev, ip) - loss(z, cPrev, im)) / (2 * eps);
          assert.ok(Math.abs(dIg[s] - dIg0[s] - fd) < tol, `dInputGate[${s}]: ${dIg[s] - dIg0[s]} vs ${fd}`);
        }
      for (let p = 0; p < dGatesOff; p++) assert.equal(dGates[p], 0);
    });
});
