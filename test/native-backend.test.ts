import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadAddonFrom, loadNativeBackend, openNativeBackend } from '../src/compute/native.js';
import { ReferenceBackend } from '../src/compute/reference.js';
import { goldenSuite } from './helpers/golden-suite.js';
import { abs64, assertClose, f64 } from './helpers/close.js';
import { rand32, rng } from './helpers/random.js';

const loaded = openNativeBackend();
const native = loaded.backend;
const skip = native ? false : `native backend unavailable: ${loaded.reason}`;
if (!native) console.log(`skipping the native backend tests: ${skip}`);

describe('native addon loading says why it failed', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ealstm-native-'));
  it('a missing addon: not built, with the file and how to build it', () => {
    const r = loadAddonFrom(path.join(dir, 'none.node'));
    assert.equal(r.addon, null);
    assert.match(r.reason!, /not built .*none\.node is missing.*build-native/);
  });
  it("a file that is no loadable library: the loader's message", () => {
    const file = path.join(dir, 'garbage.node');
    writeFileSync(file, 'not an ELF file');
    const r = loadAddonFrom(file);
    assert.equal(r.addon, null);
    assert.match(r.reason!, /garbage\.node failed to load: .*(header|format|short)/i);
  });
  it('a module without the kernels: the missing exports', () => {
    const file = path.join(dir, 'partial.cjs');
    writeFileSync(file, 'exports.gemm = () => {}; exports.setThreads = () => {};');
    const r = loadAddonFrom(file);
    assert.equal(r.addon, null);
    assert.match(r.reason!, /does not export cellForward, cellBackward, getThreads/);
  });
  /** Runs fn with EALSTM_NO_NATIVE set to value (undefined: unset), restoring it after. */
  const withNoNative = (value: string | undefined, fn: () => void) => {
    const saved = process.env.EALSTM_NO_NATIVE;
    if (value === undefined) delete process.env.EALSTM_NO_NATIVE;
    else process.env.EALSTM_NO_NATIVE = value;
    try {
      fn();
    } finally {
      if (saved === undefined) delete process.env.EALSTM_NO_NATIVE;
      else process.env.EALSTM_NO_NATIVE = saved;
    }
  };
  it('EALSTM_NO_NATIVE: disabled, and said so', () => {
    withNoNative('1', () => {
      assert.deepEqual(openNativeBackend(), { backend: null, reason: 'disabled by the EALSTM_NO_NATIVE environment variable' });
    });
  });
  it('without the built addon, openNativeBackend gives the reason (and loadNativeBackend null)', () => {
    withNoNative(undefined, () => {
      const r = openNativeBackend();
      if (r.backend) return; // built here: the suite below tests it
      assert.match(r.reason, /ealstm_native\.node/);
      assert.equal(loadNativeBackend(), null);
    });
  });
  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});

describe('native backend (OpenBLAS addon)', { skip }, () => {
  const nb = native!;
  const ref = new ReferenceBackend('float64');

  it('identifies itself and allocates float32', () => {
    assert.equal(nb.name, 'native-openblas');
    assert.equal(nb.precision, 'float32');
    const a = nb.alloc(5);
    assert.ok(a instanceof Float32Array);
    assert.equal(a.length, 5);
  });

  describe('gemm against the float64 reference', () => {
    const dims = [1, 7, 33, 257];
    const coeffs: Array<[number, number]> = [
      [1, 0],
      [1, 1],
      [-0.5, 0.75],
    ];
    for (const tA of [false, true])
      for (const tB of [false, true])
        it(`transA=${tA} transB=${tB}, odd shapes, offsets, lda > width, alpha/beta`, () => {
          const rand = rng(100 + (tA ? 2 : 0) + (tB ? 1 : 0));
          let cases = 0;
          for (const m of dims)
            for (const n of dims)
              for (const k of dims) {
                // Keep the run short: all shapes with one coefficient pair, a sample with the others.
                const pairs = (m + n + k) % 3 === 0 || m * n * k <= 49 ? coeffs : [coeffs[cases % 3]];
                for (const [alpha, beta] of pairs) {
                  cases++;
                  const aRows = tA ? k : m;
                  const aCols = tA ? m : k;
                  const bRows = tB ? n : k;
                  const bCols = tB ? k : n;
                  const lda = aCols + (cases % 4); // sometimes exactly the width, mostly wider
                  const ldb = bCols + 3;
                  const ldc = n + (cases % 2) * 5;
                  const aOff = 3;
                  const bOff = 11;
                  const cOff = 6;
                  const a = rand32(aOff + (aRows - 1) * lda + aCols, rand);
                  const b = rand32(bOff + (bRows - 1) * ldb + bCols + 2, rand);
                  const c = rand32(cOff + m * ldc + 1, rand);
                  if (beta === 0) c[cOff] = Number.NaN; // BLAS convention: beta 0 means C is not read
                  const want = f64(c);
                  ref.gemm(tA, tB, m, n, k, alpha, f64(a), aOff, lda, f64(b), bOff, ldb, beta, want, cOff, ldc);
                  // Error scale: |alpha| |op(A)| |op(B)| + |beta| |C|, the usual gemm error bound.
                  const scale = f64(c).map(Math.abs);
                  if (beta === 0) scale[cOff] = 0;
                  ref.gemm(tA, tB, m, n, k, Math.abs(alpha), abs64(a), aOff, lda, abs64(b), bOff, ldb, Math.abs(beta), scale, cOff, ldc);
                  nb.gemm(tA, tB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                  assertClose(c, want, `gemm m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta}`, scale);
                }
              }
          assert.ok(cases >= 64);
        });

    it('k = 0 and alpha = 0 scale C by beta; m or n = 0 is a no-op', () => {
      const a = new Float32Array(4);
      const b = new Float32Array(4);
      const c = Float32Array.from([1, 2, 3, Number.NaN]);
      nb.gemm(false, false, 2, 2, 0, 1, a, 0, 0, b, 0, 0, 2, c, 0, 2);
      assert.deepEqual([...c.subarray(0, 3)], [2, 4, 6]);
      nb.gemm(false, false, 2, 2, 2, 0, a, 0, 2, b, 0, 2, 0, c, 0, 2);
      assert.deepEqual([...c], [0, 0, 0, 0]);
      const d = Float32Array.from([5]);
      nb.gemm(false, false, 0, 1, 1, 1, a, 0, 1, b, 0, 1, 0, d, 0, 1);
      nb.gemm(false, false, 1, 0, 1, 1, a, 0, 1, b, 0, 1, 0, d, 0, 1);
      assert.equal(d[0], 5);
    });

    it('works on SharedArrayBuffer-backed arrays', () => {
      const rand = rng(9);
      const a = new Float32Array(new SharedArrayBuffer(4 * 12));
      const b = new Float32Array(new SharedArrayBuffer(4 * 12));
      a.set(rand32(12, rand));
      b.set(rand32(12, rand));
      const c = new Float32Array(new SharedArrayBuffer(4 * 9));
      const want = new Float64Array(9);
      nb.gemm(false, true, 3, 3, 4, 1, a, 0, 4, b, 0, 4, 0, c, 0, 3);
      ref.gemm(false, true, 3, 3, 4, 1, f64(a), 0, 4, f64(b), 0, 4, 0, want, 0, 3);
      assertClose(c, want, 'shared gemm');
    });

    it('rejects wrong array types and out-of-range spans without touching memory', () => {
      const a = new Float32Array(6);
      const c = new Float32Array(4);
      assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, new Float64Array(6), 0, 3, a, 0, 2, 0, c, 0, 2), TypeError);
      assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 1, 3, a, 0, 2, 0, c, 0, 2), RangeError); // A overruns
      assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 0, 3, a, 0, 2, 0, c, 1, 2), RangeError); // C overruns
      assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 0, 2, a, 0, 2, 0, c, 0, 2), RangeError); // lda < k
      assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, -1, 3, a, 0, 2, 0, c, 0, 2), RangeError);
      assert.throws(() => nb.gemm(false, false, 2.5, 2, 3, 1, a, 0, 3, a, 0, 2, 0, c, 0, 2), RangeError);
      assert.deepEqual([...c], [0, 0, 0, 0]);
    });
  });

  describe('cell kernels against the float64 reference', () => {
    const shapes: Array<[number, number]> = [
      [1, 1],
      [3, 7],
      [5, 33],
      [4, 257],
    ];
    for (const withInputGate of [true, false])
      it(`cellForward and cellBackward (${withInputGate ? 'EA-LSTM input gate' : 'LSTM, 4 gate blocks'})`, () => {
        const rand = rng(withInputGate ? 21 : 22);
        for (const [batch, hidden] of shapes) {
          const width = (withInputGate ? 3 : 4) * hidden;
          const bh = batch * hidden;
          const gOff = 5;
          const cpOff = 3;
          const cOff = 7;
          const hOff = 2;
          const dgOff = 9;
          // Pre-activations over a wide range (saturation included) and a few exact values.
          const z = rand32(gOff + batch * width + 4, rand, -12, 12);
          z[gOff] = 0;
          if (batch * width > 2) {
            z[gOff + 1] = 1e-4;
            z[gOff + 2] = -0.3;
          }
          const cPrev = rand32(cpOff + bh + 1, rand, -3, 3);
          const ig = withInputGate ? rand32(bh, rand, 0, 1) : null;

          const gN = z.slice();
          const cN = rand32(cOff + bh + 2, rand); // garbage, overwritten
          const hN = rand32(hOff + bh + 2, rand);
          const gR = f64(z);
          const cR = f64(cN);
          const hR = f64(hN);
          nb.cellForward(batch, hidden, gN, gOff, ig, cPrev, cpOff, cN, cOff, hN, hOff);
          ref.cellForward(batch, hidden, gR, gOff, ig ? f64(ig) : null, f64(cPrev), cpOff, cR, cOff, hR, hOff);
          const tag = `batch=${batch} hidden=${hidden}`;
          assertClose(gN, gR, `forward gates ${tag}`);
          assertClose(cN, cR, `forward c ${tag}`);
          assertClose(hN, hR, `forward h ${tag}`);

          // Backward from the same (float32) activations.
          const gates = gN;
          const dh = rand32(bh, rand);
          const dcN = rand32(bh + 3, rand);
          const dgN = rand32(dgOff + batch * width + 2, rand); // garbage, overwritten inside the span
          const digN = withInputGate ? rand32(bh + 1, rand) : null; // accumulated into
          const dcR = f64(dcN);
          const dgR = f64(dgN);
          const digR = digN ? f64(digN) : null;
          nb.cellBackward(batch, hidden, gates, gOff, ig, cPrev, cpOff, cN, cOff, dh, dcN, dgN, dgOff, digN);
          ref.cellBackward(batch, hidden, f64(gates), gOff, ig ? f64(ig) : null, f64(cPrev), cpOff, f64(cN), cOff,
            f64(dh), dcR, dgR, dgOff, digR);
          assertClose(dgN, dgR, `backward dGates ${tag}`);
          assertClose(dcN, dcR, `backward dc ${tag}`);
          if (digN && digR) assertClose(digN, digR, `backward dInputGate ${tag}`);

          if (withInputGate) {
            // A null dInputGate is allowed: the input gate gradient is then dropped, everything else is the same.
            const dc2 = f64(dcN).map(() => 0);
            const dcA = new Float32Array(dc2.length);
            const dgA = new Float32Array(dgN.length);
            nb.cellBackward(batch, hidden, gates, gOff, ig, cPrev, cpOff, cN, cOff, dh, dcA, dgA, dgOff, null);
            ref.cellBackward(batch, hidden, f64(gates), gOff, ig ? f64(ig) : null, f64(cPrev), cpOff, f64(cN), cOff,
              f64(dh), dc2, f64(dgA), dgOff, null);
            assertClose(dcA, dc2, `backward dc without dInputGate ${tag}`);
          }
        }
      });

    it('gives the reference result when c aliases cPrev (in-place cell state)', () => {
      const rand = rng(5);
      const batch = 3;
      const hidden = 17;
      const bh = batch * hidden;
      const ig = rand32(bh, rand, 0, 1);
      const z = rand32(3 * bh, rand, -4, 4);
      const state = rand32(bh, rand, -2, 2);
      const h = new Float32Array(bh);
      const gR = f64(z);
      const stateR = f64(state);
      const hR = new Float64Array(bh);
      nb.cellForward(batch, hidden, z, 0, ig, state, 0, state, 0, h, 0);
      ref.cellForward(batch, hidden, gR, 0, f64(ig), stateR, 0, stateR, 0, hR, 0);
      assertClose(state, stateR, 'aliased c');
      assertClose(h, hR, 'aliased h');
    });

    it('rejects wrong array types and short arrays', () => {
      const g = new Float32Array(12);
      const s = new Float32Array(4);
      assert.throws(() => nb.cellForward(2, 2, new Float64Array(12), 0, null, s, 0, s, 0, s, 0), TypeError);
      assert.throws(() => nb.cellForward(2, 2, g, 0, null, s, 0, new Float32Array(4), 0, new Float32Array(3), 0), RangeError);
      assert.throws(() => nb.cellForward(2, 2, g, 1, null, s, 0, new Float32Array(4), 0, new Float32Array(4), 0), RangeError);
      assert.throws(() =>
        nb.cellBackward(2, 2, g, 0, null, s, 0, s, 0, s, new Float32Array(3), new Float32Array(16), 0, null), RangeError);
      assert.throws(() =>
        nb.cellBackward(2, 2, g, 0, s, s, 0, s, 0, s, s, new Float32Array(12), 0, new Float32Array(2)), RangeError);
    });
  });

  it('cell kernels split over threads give the same bits as on one thread (rows above the parallel threshold)', () => {
    const before = nb.threads;
    const rand = rng(77);
    for (const [batch, hidden, ea] of [[37, 300, true], [64, 257, false]] as const) {
      const width = (ea ? 3 : 4) * hidden;
      const gates = rand32(batch * width, rand);
      const inputGate = ea ? rand32(batch * hidden, rand) : null;
      const cPrev = rand32(batch * hidden, rand);
      const dh = rand32(batch * hidden, rand);
      const dcIn = rand32(batch * hidden, rand);
      const run = (threads: number) => {
        nb.setThreads(threads);
        const g = Float32Array.from(gates);
        const c = new Float32Array(batch * hidden);
        const h = new Float32Array(batch * hidden);
        nb.cellForward(batch, hidden, g, 0, inputGate, cPrev, 0, c, 0, h, 0);
        const dc = Float32Array.from(dcIn);
        const dGates = new Float32Array(batch * width);
        const dInputGate = ea ? new Float32Array(batch * hidden) : null;
        nb.cellBackward(batch, hidden, g, 0, inputGate, cPrev, 0, c, 0, dh, dc, dGates, 0, dInputGate);
        return [g, c, h, dc, dGates, dInputGate ?? new Float32Array(0)];
      };
      const one = run(1);
      const two = run(2);
      one.forEach((x, i) => assert.deepEqual(new Uint32Array(two[i].buffer), new Uint32Array(x.buffer), `array ${i}, batch ${batch}, hidden ${hidden}`));
    }
    nb.setThreads(before);
  });

  it('sets the OpenBLAS thread count', () => {
    const before = nb.threads;
    assert.ok(before >= 1);
    const one = loadNativeBackend({ threads: 1 });
    assert.ok(one);
    assert.equal(one.threads, 1);
    nb.setThreads(2);
    assert.equal(nb.threads, 2);
    assert.throws(() => nb.setThreads(0), RangeError);
    nb.setThreads(before);
    assert.equal(nb.threads, before);
  });
});

// Training with the native backend reproduces PyTorch's forward, gradients and Adam steps (golden fixtures).
if (native) goldenSuite(native, { forward: 1e-4, grad: 1e-4, adam: 1e-5 });
