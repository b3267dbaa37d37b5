import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ReferenceBackend } from '../src/compute/reference.js';
import { createBackend } from '../src/compute/select.js';
import { ARGUMENT_SLOTS, CELL, GEMM, JOB, OPS, abiHash, assemblyScriptConstants } from '../src/compute/wasm/abi.js';
import { WasmBackend } from '../src/compute/wasm.js';
import { loadWasmBackend, openWasmBackend } from '../src/compute/wasm-node.js';
import { RecurrentModel } from '../src/models/model.js';
import { Random } from '../src/util/random.js';
import { goldenSuite } from './helpers/golden-suite.js';
import { abs64, assertClose, f64 } from './helpers/close.js';
import { rand32, rng } from './helpers/random.js';

/** Bitwise equality (NaN payloads included) of two float32 arrays. */
function assertBitwise(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < w.length; i++) {
    if (g[i] !== w[i]) assert.fail(`${what}: element ${i} differs: ${got[i]} vs ${want[i]}`);
  }
}

/**
 * Reusable buffers in one backend's memory (its allocator never frees): `view(i, values)` copies `values` into
 * arena i and returns a subarray of exactly that length.
 */
class Arenas {
  private readonly arenas: Float32Array[] = [];
  constructor(private readonly backend: WasmBackend) {}
  view(i: number, values: ArrayLike<number>): Float32Array {
    let a = this.arenas[i];
    if (!a || a.length < values.length) {
      a = this.backend.alloc(Math.max(values.length, 1 << 16));
      this.arenas[i] = a;
    }
    const v = a.subarray(0, values.length);
    v.set(values);
    return v;
  }
}

const VARIANTS = ['wasm-simd', 'wasm-relaxed-simd'] as const;

// Both builds run every test against the reference: plain SIMD (the same bits on every machine) and relaxed SIMD
// (what 'auto' takes: fused multiply-add where the CPU has it; enabled at load time on Node 20).
for (const variant of VARIANTS) {
const one = loadWasmBackend({ threads: 1, variant });
const two = loadWasmBackend({ threads: 2, variant });
const three = loadWasmBackend({ threads: 3, variant });
const skip = one && two && three ? false : `${variant} kernels unavailable: ${openWasmBackend({ threads: 1, variant }).reason}`;
if (skip) console.log(`# skipping the ${variant} backend tests: ${skip}`);
after(() => {
  one?.close();
  two?.close();
  three?.close();
});

describe(`wasm backend (${variant})`, { skip }, () => {
  const w1 = one!;
  const w2 = two!;
  const w3 = three!;
  const ref = new ReferenceBackend('float64');

  it('identifies itself, allocates zero-filled aligned float32 views of its memory', () => {
    assert.equal(w1.name, variant);
    assert.equal(w1.precision, 'float32');
    assert.equal(w1.threads, 1);
    assert.equal(w2.threads, 2);
    const views: Float32Array[] = [];
    for (const n of [0, 1, 5, 17, 1000]) {
      const a = w1.alloc(n);
      assert.ok(a instanceof Float32Array);
      assert.equal(a.length, n);
      assert.equal(a.byteOffset % 16, 0);
      assert.ok(a.every((v) => v === 0));
      views.push(a);
    }
    views[4].fill(7);
    assert.ok(views[3].every((v) => v === 0), 'allocations do not overlap');
    assert.throws(() => w1.alloc(-1), RangeError);
    assert.throws(() => w1.alloc(1.5), RangeError);
  });

  it('keeps earlier views valid when the memory grows', () => {
    const early = w1.alloc(8);
    early.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const before = w1.memory.buffer.byteLength;
    const big = w1.alloc(16 * 1024 * 1024); // 64 MiB: the memory has to grow
    assert.ok(w1.memory.buffer.byteLength > before);
    assert.equal(early.length, 8, 'not detached');
    assert.deepEqual([...early], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(big[big.length - 1], 0);
    // Both generations of views still work as kernel arguments.
    const c = w1.alloc(4);
    big[0] = 1;
    big[1] = 2;
    w1.gemm(false, false, 2, 2, 2, 1, early, 0, 2, big, 0, 2, 0, c, 0, 2); // [1 2; 3 4] x [1 2; 0 0]
    assert.deepEqual([...c], [1, 2, 3, 6]);
  });

  describe('gemm against the float64 reference, 1 thread and 2 threads (bitwise equal to each other)', () => {
    const dims = [1, 7, 33, 257];
    const coeffs: Array<[number, number]> = [
      [1, 0],
      [1, 1],
      [-0.5, 0.75],
    ];
    for (const tA of [false, true])
      for (const tB of [false, true])
        it(`transA=${tA} transB=${tB}: odd shapes, offsets, lda > width, alpha/beta, beta 0 over NaN`, () => {
          const rand = rng(100 + (tA ? 2 : 0) + (tB ? 1 : 0));
          const ar1 = new Arenas(w1);
          const ar2 = new Arenas(w2);
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
                  // BLAS convention: beta 0 means C is not read, so NaN garbage there must not leak through.
                  if (beta === 0) for (let i = 0; i < m; i++) c.fill(Number.NaN, cOff + i * ldc, cOff + i * ldc + n);
                  const want = f64(c);
                  ref.gemm(tA, tB, m, n, k, alpha, f64(a), aOff, lda, f64(b), bOff, ldb, beta, want, cOff, ldc);
                  // Error scale: |alpha| |op(A)| |op(B)| + |beta| |C|, the usual gemm error bound.
                  const scale = beta === 0 ? new Float64Array(c.length) : abs64(c);
                  ref.gemm(tA, tB, m, n, k, Math.abs(alpha), abs64(a), aOff, lda, abs64(b), bOff, ldb, Math.abs(beta), scale, cOff, ldc);
                  const tag = `gemm m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta}`;
                  const c1 = ar1.view(2, c);
                  w1.gemm(tA, tB, m, n, k, alpha, ar1.view(0, a), aOff, lda, ar1.view(1, b), bOff, ldb, beta, c1, cOff, ldc);
                  assertClose(c1, want, `${tag} (1 thread)`, scale);
                  const c2 = ar2.view(2, c);
                  w2.gemm(tA, tB, m, n, k, alpha, ar2.view(0, a), aOff, lda, ar2.view(1, b), bOff, ldb, beta, c2, cOff, ldc);
                  assertClose(c2, want, `${tag} (2 threads)`, scale);
                  assertBitwise(c2, c1, `${tag}: 2 threads vs 1`);
                }
              }
          assert.ok(cases >= 64);
        });

    it('k = 0 and alpha = 0 scale C by beta; m or n = 0 is a no-op', () => {
      const a = w1.alloc(4);
      const b = w1.alloc(4);
      const c = w1.alloc(4);
      c.set([1, 2, 3, Number.NaN]);
      w1.gemm(false, false, 2, 2, 0, 1, a, 0, 0, b, 0, 0, 2, c, 0, 2);
      assert.deepEqual([...c.subarray(0, 3)], [2, 4, 6]);
      b[0] = Number.NaN;
      w1.gemm(false, false, 2, 2, 2, 0, a, 0, 2, b, 0, 2, 0, c, 0, 2);
      assert.deepEqual([...c], [0, 0, 0, 0]);
      const d = w1.alloc(1);
      d[0] = 5;
      w1.gemm(false, false, 0, 1, 1, 1, a, 0, 1, b, 0, 1, 0, d, 0, 1);
      w1.gemm(false, false, 1, 0, 1, 1, a, 0, 1, b, 0, 1, 0, d, 0, 1);
      assert.equal(d[0], 5);
    });

    it('rejects arrays that are not views of its memory, and out-of-range spans, without touching memory', () => {
      const a = w1.alloc(6);
      const c = w1.alloc(4);
      const foreign = w2.alloc(6);
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, new Float32Array(6), 0, 3, a, 0, 2, 0, c, 0, 2), /alloc\(\)/);
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, new Float64Array(6), 0, 3, a, 0, 2, 0, c, 0, 2), TypeError);
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, foreign, 0, 3, a, 0, 2, 0, c, 0, 2), TypeError);
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, a, 0, 3, a, 0, 2, 0, new Float32Array(4), 0, 2), TypeError);
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, a, 1, 3, a, 0, 2, 0, c, 0, 2), RangeError); // A overruns
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, a, 0, 3, a, 0, 2, 0, c, 1, 2), RangeError); // C overruns
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, a, 0, 2, a, 0, 2, 0, c, 0, 2), RangeError); // lda < k
      assert.throws(() => w1.gemm(false, false, 2, 2, 3, 1, a, -1, 3, a, 0, 2, 0, c, 0, 2), RangeError);
      assert.throws(() => w1.gemm(false, false, 2.5, 2, 3, 1, a, 0, 3, a, 0, 2, 0, c, 0, 2), RangeError);
      assert.deepEqual([...c], [0, 0, 0, 0]);
    });

    it('is bitwise reproducible on the training shapes for 1, 2 and 3 threads and across repeats', () => {
      const rand = rng(7);
      // [transA, transB, m, n, k]: forward step, backward dh, weight gradient (k = T x batch, shortened),
      // input projection (tall, k = D), the ones-vector sum over time (m = 1), and a ragged one.
      const shapes: Array<[boolean, boolean, number, number, number]> = [
        [false, false, 256, 768, 256],
        [false, true, 256, 256, 768],
        [true, false, 256, 768, 2560],
        [false, false, 4099, 768, 5],
        [false, false, 1, 256 * 768, 30],
        [true, true, 131, 517, 263],
      ];
      for (const [tA, tB, m, n, k] of shapes) {
        const a = rand32(m * k, rand);
        const b = rand32(k * n, rand);
        const c = rand32(m * n, rand);
        const lda = tA ? m : k;
        const ldb = tB ? k : n;
        const results = [w1, w2, w3].map((w) => {
          const A = w.alloc(a.length);
          A.set(a);
          const B = w.alloc(b.length);
          B.set(b);
          const C = w.alloc(c.length);
          const runs: Float32Array[] = [];
          for (let r = 0; r < 2; r++) {
            C.set(c);
            w.gemm(tA, tB, m, n, k, 0.75, A, 0, lda, B, 0, ldb, 0.5, C, 0, n);
            runs.push(C.slice());
          }
          assertBitwise(runs[1], runs[0], `${m}x${n}x${k} repeated on ${w.threads} threads`);
          return runs[0];
        });
        assertBitwise(results[1], results[0], `${m}x${n}x${k}: 2 threads vs 1`);
        assertBitwise(results[2], results[0], `${m}x${n}x${k}: 3 threads vs 1`);
        // And right: spot-check a few elements against a float64 dot product.
        for (const [i, j] of [
          [0, 0],
          [m - 1, n - 1],
          [m >> 1, n >> 2],
        ]) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[tA ? p * lda + i : i * lda + p] * b[tB ? j * ldb + p : p * ldb + j];
          const want = 0.75 * s + 0.5 * c[i * n + j];
          assert.ok(Math.abs(results[0][i * n + j] - want) < 1e-4 * (1 + Math.sqrt(k)), `${m}x${n}x${k} [${i},${j}]`);
        }
      }
    });
  });

  describe('cell kernels against the float64 reference, 1 thread and 2 threads', () => {
    // The last two shapes are big enough (batch x hidden >= 8192) to be split across threads.
    const shapes: Array<[number, number]> = [
      [1, 1],
      [3, 7],
      [5, 33],
      [4, 257],
      [33, 257],
      [256, 66],
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
          if (batch * width > 4) {
            z[gOff + 1] = 1e-4;
            z[gOff + 2] = -0.3;
            z[gOff + 3] = 95; // beyond the exp clamp
            z[gOff + 4] = -95;
          }
          const cPrev = rand32(cpOff + bh + 1, rand, -3, 3);
          const ig = withInputGate ? rand32(bh, rand, 0, 1) : null;
          const cInit = rand32(cOff + bh + 2, rand); // garbage, overwritten
          const hInit = rand32(hOff + bh + 2, rand);
          const gR = f64(z);
          const cR = f64(cInit);
          const hR = f64(hInit);
          ref.cellForward(batch, hidden, gR, gOff, ig ? f64(ig) : null, f64(cPrev), cpOff, cR, cOff, hR, hOff);
          const dh = rand32(bh, rand);
          const dcInit = rand32(bh + 3, rand);
          const dgInit = rand32(dgOff + batch * width + 2, rand); // garbage, overwritten inside the span
          const digInit = withInputGate ? rand32(bh + 1, rand) : null; // accumulated into
          const tag = `batch=${batch} hidden=${hidden}`;

          const outputs = [w1, w2].map((w) => {
            const put = (x: ArrayLike<number>) => {
              const v = w.alloc(x.length);
              v.set(x);
              return v;
            };
            const g = put(z);
            const c = put(cInit);
            const h = put(hInit);
            const igW = ig ? put(ig) : null;
            const cp = put(cPrev);
            w.cellForward(batch, hidden, g, gOff, igW, cp, cpOff, c, cOff, h, hOff);
            const wt = `${tag} (${w.threads} thread${w.threads > 1 ? 's' : ''})`;
            assertClose(g, gR, `forward gates ${wt}`);
            assertClose(c, cR, `forward c ${wt}`);
            assertClose(h, hR, `forward h ${wt}`);

            // Backward from the same (float32) activations.
            const dcR = f64(dcInit);
            const dgR = f64(dgInit);
            const digR = digInit ? f64(digInit) : null;
            ref.cellBackward(batch, hidden, f64(g), gOff, ig ? f64(ig) : null, f64(cp), cpOff, f64(c), cOff, f64(dh), dcR, dgR, dgOff, digR);
            const dc = put(dcInit);
            const dg = put(dgInit);
            const dig = digInit ? put(digInit) : null;
            w.cellBackward(batch, hidden, g, gOff, igW, cp, cpOff, c, cOff, put(dh), dc, dg, dgOff, dig);
            assertClose(dg, dgR, `backward dGates ${wt}`);
            assertClose(dc, dcR, `backward dc ${wt}`);
            if (dig && digR) assertClose(dig, digR, `backward dInputGate ${wt}`);

            if (withInputGate) {
              // A null dInputGate is allowed: that gradient is dropped, nothing outside the 3 gate blocks is written.
              const dcA = put(new Float32Array(bh));
              const dgA = put(new Float32Array(dgOff + batch * width + 2).fill(Number.NaN));
              w.cellBackward(batch, hidden, g, gOff, igW, cp, cpOff, c, cOff, put(dh), dcA, dgA, dgOff, null);
              const dc2 = new Float64Array(bh);
              ref.cellBackward(batch, hidden, f64(g), gOff, ig ? f64(ig) : null, f64(cp), cpOff, f64(c), cOff, f64(dh), dc2,
                new Float64Array(dgA.length), dgOff, null);
              assertClose(dcA, dc2, `backward dc without dInputGate ${wt}`);
              assert.ok(Number.isNaN(dgA[dgOff + batch * width]) && Number.isNaN(dgA[dgOff - 1]), 'no write outside dGates span');
            }
            return [g, c, h, dg, dc, ...(dig ? [dig] : [])];
          });
          outputs[1].forEach((x, i) => assertBitwise(x, outputs[0][i], `${tag} output ${i}: 2 threads vs 1`));
        }
      });

    it('gives the reference result when c aliases cPrev (in-place cell state)', () => {
      const rand = rng(5);
      const batch = 3;
      const hidden = 17;
      const bh = batch * hidden;
      const ig = w1.alloc(bh);
      ig.set(rand32(bh, rand, 0, 1));
      const z = w1.alloc(3 * bh);
      z.set(rand32(3 * bh, rand, -4, 4));
      const state = w1.alloc(bh);
      state.set(rand32(bh, rand, -2, 2));
      const h = w1.alloc(bh);
      const gR = f64(z);
      const stateR = f64(state);
      const hR = new Float64Array(bh);
      w1.cellForward(batch, hidden, z, 0, ig, state, 0, state, 0, h, 0);
      ref.cellForward(batch, hidden, gR, 0, f64(ig), stateR, 0, stateR, 0, hR, 0);
      assertClose(state, stateR, 'aliased c');
      assertClose(h, hR, 'aliased h');
    });

    it('rejects foreign arrays and short arrays', () => {
      const g = w1.alloc(12);
      const s = w1.alloc(4);
      assert.throws(() => w1.cellForward(2, 2, new Float32Array(12), 0, null, s, 0, s, 0, s, 0), TypeError);
      assert.throws(() => w1.cellForward(2, 2, g, 0, null, s, 0, w1.alloc(4), 0, w1.alloc(3), 0), RangeError);
      assert.throws(() => w1.cellForward(2, 2, g, 1, null, s, 0, w1.alloc(4), 0, w1.alloc(4), 0), RangeError);
      assert.throws(() => w1.cellBackward(2, 2, g, 0, null, s, 0, s, 0, s, w1.alloc(3), w1.alloc(16), 0, null), RangeError);
      assert.throws(() => w1.cellBackward(2, 2, g, 0, s, s, 0, s, 0, s, s, w1.alloc(12), 0, w1.alloc(2)), RangeError);
    });
  });

  it('an EA-LSTM forward + backward is bitwise identical on 1, 2 and 3 threads', () => {
    const spec = { kind: 'ealstm' as const, dynamicInputs: 5, staticInputs: 27, hidden: 64 };
    const [batch, seq] = [128, 12];
    const rand = rng(3);
    const xd = rand32(seq * batch * spec.dynamicInputs, rand);
    const xs = rand32(batch * spec.staticInputs, rand);
    const dy = rand32(batch, rand);
    const runs = [w1, w2, w3].map((w) => {
      const model = new RecurrentModel(w, spec, 0);
      model.initialize(new Random(11), 3);
      model.ensureCapacity(batch, seq);
      model.dynamicInput.set(xd);
      model.staticInput.set(xs);
      const out = Float32Array.from(model.forward(batch));
      const dOut = w.alloc(batch);
      dOut.set(dy);
      model.grads.fill(0);
      model.backward(dOut, { inputGradients: true });
      return { out, grads: Float32Array.from(model.grads), dx: Float32Array.from(model.dynamicInputGrad) };
    });
    for (const r of runs.slice(1)) {
      assertBitwise(r.out, runs[0].out, 'predictions');
      assertBitwise(r.grads, runs[0].grads, 'parameter gradients');
      assertBitwise(r.dx, runs[0].dx, 'input gradients');
    }
  });

  it("is what createBackend('wasm') gives, and what 'auto' gives without the native addon", () => {
    const w = createBackend('wasm', 1);
    assert.match(w.name, /^wasm-/);
    (w as WasmBackend).close();
    const saved = process.env.EALSTM_NO_NATIVE;
    process.env.EALSTM_NO_NATIVE = '1';
    try {
      const auto = createBackend('auto', 1);
      assert.match(auto.name, /^wasm-/);
      (auto as WasmBackend).close();
    } finally {
      if (saved === undefined) delete process.env.EALSTM_NO_NATIVE;
      else process.env.EALSTM_NO_NATIVE = saved;
    }
  });

  it('still works (on the calling thread) after close()', () => {
    const w = loadWasmBackend({ threads: 2 })!;
    const a = w.alloc(512 * 512);
    a.fill(1);
    const c = w.alloc(512 * 512);
    w.gemm(false, false, 512, 512, 512, 1, a, 0, 512, a, 0, 512, 0, c, 0, 512);
    w.close();
    w.close();
    w.gemm(false, false, 512, 512, 512, 1, a, 0, 512, a, 0, 512, 1, c, 0, 512);
    assert.equal(c[0], 1024);
    assert.equal(c[512 * 512 - 1], 1024);
  });

  it('gives the same bits for the same call however often it runs (V8 tiering up does not change a result)', () => {
    const [m, n, k] = [37, 259, 130];
    const a = w2.alloc(m * k);
    const b = w2.alloc(k * n);
    const c = w2.alloc(m * n);
    const rand = rng(17);
    a.set(rand32(m * k, rand));
    b.set(rand32(k * n, rand));
    const [batch, hidden] = [64, 130];
    const gates = w2.alloc(batch * 3 * hidden);
    const ig = w2.alloc(batch * hidden);
    const cPrev = w2.alloc(batch * hidden);
    const cell = w2.alloc(batch * hidden);
    const h = w2.alloc(batch * hidden);
    const g0 = rand32(gates.length, rand);
    ig.set(rand32(ig.length, rand).map((v) => 0.5 + 0.5 * Math.tanh(v)));
    cPrev.set(rand32(cPrev.length, rand));
    const once = () => {
      c.fill(0.5);
      w2.gemm(false, false, m, n, k, 0.5, a, 0, k, b, 0, n, 0.25, c, 0, n);
      gates.set(g0);
      w2.cellForward(batch, hidden, gates, 0, ig, cPrev, 0, cell, 0, h, 0);
      return [Float32Array.from(c), Float32Array.from(h)];
    };
    const [c0, h0] = once();
    for (let r = 0; r < 300; r++) {
      const [cr, hr] = once();
      assertBitwise(cr, c0, `gemm, call ${r + 2}`);
      assertBitwise(hr, h0, `cell, call ${r + 2}`);
    }
  });
});
}

describe('wasm variant choice', () => {
  it("'auto' takes relaxed SIMD without any node flag (Node 20: enabled at load time), plain SIMD with EALSTM_NO_RELAXED_SIMD=1", () => {
    const auto = openWasmBackend({ threads: 1 });
    if (!auto.backend) return; // kernels not built: the suites above say so
    auto.backend.close();
    assert.ok(!process.execArgv.some((a) => a.includes('relaxed')), 'the test runs without --experimental-wasm-relaxed-simd');
    assert.equal(auto.backend.name, 'wasm-relaxed-simd');
    const saved = process.env.EALSTM_NO_RELAXED_SIMD;
    process.env.EALSTM_NO_RELAXED_SIMD = '1';
    try {
      const plain = loadWasmBackend({ threads: 1 })!;
      plain.close();
      assert.equal(plain.name, 'wasm-simd');
    } finally {
      if (saved === undefined) delete process.env.EALSTM_NO_RELAXED_SIMD;
      else process.env.EALSTM_NO_RELAXED_SIMD = saved;
    }
  });

  it('a fresh node process (no flags, as the CLI runs) loads the relaxed-SIMD build', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const script = `
      import { openWasmBackend } from './src/compute/wasm-node.js';
      const r = openWasmBackend({ threads: 1 });
      r.backend?.close();
      console.log(JSON.stringify({ name: r.backend?.name ?? null, reason: r.reason ?? null }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { name: string | null; reason: string | null };
    if (result.name === null) return; // kernels not built
    assert.equal(result.name, 'wasm-relaxed-simd');
  });
});

describe('wasm argument block (src/compute/wasm/abi.ts, the one table wasm.ts and kernels.as share)', () => {
  it('gives every argument of a job its own slot inside the block', () => {
    const slots = (table: Record<string, number>, except: string[] = []) =>
      Object.entries(table).filter(([k]) => !except.includes(k)).map(([, v]) => v);
    for (const [what, table, except] of [['gemm', GEMM, []], ['cell', CELL, ['DH']], ['cell backward', CELL, ['H']]] as const) {
      const all = [...slots(JOB), ...slots(table, [...except])];
      assert.equal(new Set(all).size, all.length, `${what}: two arguments share a slot`);
      assert.ok(all.every((v) => Number.isInteger(v) && v >= 0 && v < ARGUMENT_SLOTS), `${what}: slot outside the block`);
    }
    assert.equal(CELL.H, CELL.DH); // the one deliberate union: forward's output h, backward's input dh
    assert.equal(new Set(Object.values(OPS)).size, Object.keys(OPS).length);
  });

  it('generates the kernels constants as byte offsets and stamps them with the table hash', () => {
    const text = assemblyScriptConstants();
    assert.match(text, new RegExp(`export const A_CHUNK: usize = ${4 * JOB.CHUNK};`));
    assert.match(text, new RegExp(`export const G_LDC: usize = ${4 * GEMM.LDC};`));
    assert.match(text, new RegExp(`export const L_DINPUT_GATE: usize = ${4 * CELL.DINPUT_GATE};`));
    assert.match(text, new RegExp(`export const OP_CELL_BACKWARD: i32 = ${OPS.CELL_BACKWARD};`));
    assert.match(text, new RegExp(`export const ABI_HASH: i32 = ${abiHash()};`));
  });

  it('the compiled kernels carry the current table hash, and a module with another one is refused', async () => {
    for (const variant of VARIANTS) {
      const loaded = openWasmBackend({ threads: 1, variant });
      loaded.backend?.close();
      assert.doesNotMatch(loaded.reason ?? '', /argument layout/, `${variant}: stale build (run npm run build:wasm)`);
    }
    let binaryen: typeof import('binaryen').default;
    try {
      binaryen = (await import('binaryen')).default;
    } catch {
      return; // binaryen comes with the assemblyscript dev dependency, which built the kernels: not reached in practice
    }
    const stale = binaryen.parseText(`(module
      (import "env" "memory" (memory 1 65536 shared))
      (global (export "ABI_HASH") i32 (i32.const ${(abiHash() + 1) | 0}))
      (func (export "run") (param i32 i32 i32)))`);
    stale.setFeatures(binaryen.Features.All);
    const module = new WebAssembly.Module(stale.emitBinary());
    assert.throws(() => new WasmBackend('wasm-simd', module, { threads: 1, sharedMemory: true }), /another argument layout.*npm run build:wasm/);
  });
});

// The golden fixtures (PyTorch forward, gradients, Adam steps) on each build's default (all-cores) backend.
for (const variant of VARIANTS) {
  const wasmDefault = loadWasmBackend({ variant });
  if (wasmDefault) {
    after(() => wasmDefault.close());
    goldenSuite(wasmDefault, { forward: 1e-4, grad: 1e-4, adam: 1e-5 });
  }
}
