import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ReferenceBackend } from '../src/compute/reference.js';
import { openBackend, resolveBackend } from '../src/compute/select.js';
import { openWebGpuBackend } from '../src/compute/webgpu.js';
import { loadConfig } from '../src/config/load.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { RecurrentModel } from '../src/models/model.js';
import { train } from '../src/training/trainer.js';
import { Random } from '../src/util/random.js';
import { abs64, assertClose, f64 } from './helpers/close.js';
import { goldenSuite } from './helpers/golden-suite.js';
import { rand32, rng } from './helpers/random.js';
import { tinyConfig } from './helpers/tiny-config.js';

// On CPU-only machines these run on Mesa's software Vulkan (lavapipe, see .ci/run): correctness only, never speed.
const opened = openWebGpuBackend();
const gpu = opened.backend;
const skip = gpu ? false : `no WebGPU adapter: ${opened.reason}`;
if (skip) console.log(`# skipping the webgpu backend tests: ${skip}`);
else console.log(`# webgpu adapter: ${gpu!.adapter.description || gpu!.adapter.device} (${gpu!.adapter.software ? 'software' : 'hardware'})`);
after(() => gpu?.close());

const ref = new ReferenceBackend('float64');

describe('webgpu backend: opening', () => {
  it('EALSTM_NO_WEBGPU switches it off, and says so', () => {
    process.env.EALSTM_NO_WEBGPU = '1';
    try {
      assert.deepEqual(openWebGpuBackend(), { backend: null, reason: 'disabled by the EALSTM_NO_WEBGPU environment variable' });
    } finally {
      delete process.env.EALSTM_NO_WEBGPU;
    }
  });

  it("'auto' never takes a software adapter (lavapipe): the hardware-only open refuses it with the adapter's name", () => {
    const hardware = openBackend('webgpu', 1, { hardwareOnly: true });
    if (hardware.backend) {
      (hardware.backend as { close?: () => void }).close?.();
      assert.equal(hardware.backend.name, 'webgpu');
      return;
    }
    assert.match(hardware.reason, /^(no GPU here|only a software GPU adapter here|the optional package 'webgpu')/);
    const { backend, skipped } = resolveBackend('auto', 1);
    (backend as { close?: () => void }).close?.();
    assert.doesNotMatch(backend.name, /^webgpu/);
    assert.deepEqual(skipped[0], { name: 'webgpu', reason: hardware.reason });
  });
});

describe('webgpu backend', { skip }, () => {
  const g = gpu!;

  it('identifies its adapter and allocates float32', () => {
    assert.equal(g.name, g.adapter.software ? 'webgpu-software' : 'webgpu');
    // Mesa's CPU adapter must count as software, or 'auto' would take it on a machine with a /dev/dri node.
    if (/llvmpipe|lavapipe/i.test(`${g.adapter.device} ${g.adapter.description}`)) assert.equal(g.adapter.software, true);
    assert.equal(g.precision, 'float32');
    const a = g.alloc(5);
    assert.ok(a instanceof Float32Array && a.length === 5 && a.every((v) => v === 0));
  });

  describe('gemm against the float64 reference: odd shapes, offsets, ld > width, alpha/beta, beta 0 over NaN', () => {
    const dims = [1, 7, 17, 33];
    const coeffs: Array<[number, number]> = [
      [1, 0],
      [1, 1],
      [-0.5, 0.75],
    ];
    for (const tA of [false, true])
      for (const tB of [false, true])
        it(`transA=${tA} transB=${tB}`, () => {
          const rand = rng(300 + (tA ? 2 : 0) + (tB ? 1 : 0));
          let cases = 0;
          for (const m of dims)
            for (const n of dims)
              for (const k of dims) {
                const [alpha, beta] = coeffs[cases % 3];
                cases++;
                const aRows = tA ? k : m;
                const aCols = tA ? m : k;
                const bRows = tB ? n : k;
                const bCols = tB ? k : n;
                const lda = aCols + (cases % 4);
                const ldb = bCols + 3;
                const ldc = n + (cases % 2) * 5;
                const aOff = 3;
                const bOff = 11;
                const cOff = 6;
                const a = rand32(aOff + (aRows - 1) * lda + aCols, rand);
                const b = rand32(bOff + (bRows - 1) * ldb + bCols + 2, rand);
                const c = rand32(cOff + m * ldc + 1, rand);
                if (beta === 0) c[cOff] = Number.NaN;
                const want = f64(c);
                ref.gemm(tA, tB, m, n, k, alpha, f64(a), aOff, lda, f64(b), bOff, ldb, beta, want, cOff, ldc);
                const scale = f64(c).map(Math.abs);
                if (beta === 0) scale[cOff] = 0;
                ref.gemm(tA, tB, m, n, k, Math.abs(alpha), abs64(a), aOff, lda, abs64(b), bOff, ldb, Math.abs(beta), scale, cOff, ldc);
                g.gemm(tA, tB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                assertClose(c, want, `gemm m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta}`, scale);
              }
          assert.equal(cases, 64);
        });

    it('a long product (k = 1000) and a wide one (n = 70000 columns, one row: the sum over time of the layers)', () => {
      const rand = rng(7);
      const a = rand32(3 * 1000, rand);
      const b = rand32(1000 * 5, rand);
      const c = new Float32Array(15);
      const want = new Float64Array(15);
      ref.gemm(false, false, 3, 5, 1000, 1, f64(a), 0, 1000, f64(b), 0, 5, 0, want, 0, 5);
      const scale = new Float64Array(15);
      ref.gemm(false, false, 3, 5, 1000, 1, abs64(a), 0, 1000, abs64(b), 0, 5, 0, scale, 0, 5);
      g.gemm(false, false, 3, 5, 1000, 1, a, 0, 1000, b, 0, 5, 0, c, 0, 5);
      assertClose(c, want, 'k = 1000', scale);
      const ones = new Float32Array(3).fill(1);
      const wide = rand32(3 * 70000, rand);
      const sum = new Float32Array(70000);
      g.gemm(false, false, 1, 70000, 3, 1, ones, 0, 3, wide, 0, 70000, 0, sum, 0, 70000);
      const wantSum = new Float64Array(70000);
      ref.gemm(false, false, 1, 70000, 3, 1, f64(ones), 0, 3, f64(wide), 0, 70000, 0, wantSum, 0, 70000);
      assertClose(sum, wantSum, 'n = 70000', abs64(wantSum).map((v) => v + 3));
    });

    it('k = 0 and alpha = 0 scale C by beta; m or n = 0 is a no-op', () => {
      const a = new Float32Array(4);
      const b = new Float32Array(4);
      const c = Float32Array.from([1, 2, 3, Number.NaN]);
      g.gemm(false, false, 1, 3, 0, 1, a, 0, 0, b, 0, 0, 2, c, 0, 3);
      assert.deepEqual([...c.subarray(0, 3)], [2, 4, 6]);
      g.gemm(false, false, 2, 2, 2, 0, a, 0, 2, b, 0, 2, 0, c, 0, 2);
      assert.deepEqual([...c], [0, 0, 0, 0]);
      const d = Float32Array.from([5]);
      g.gemm(false, false, 0, 1, 1, 1, a, 0, 1, b, 0, 1, 0, d, 0, 1);
      g.gemm(false, false, 1, 0, 1, 1, a, 0, 1, b, 0, 1, 0, d, 0, 1);
      assert.equal(d[0], 5);
    });
  });

  for (const withInputGate of [true, false])
    it(`cellForward and cellBackward against the float64 reference (${withInputGate ? 'EA-LSTM input gate' : 'LSTM, 4 gate blocks'}), saturated gates included`, () => {
      const rand = rng(withInputGate ? 41 : 42);
      for (const [batch, hidden] of [
        [1, 1],
        [3, 7],
        [5, 33],
        [13, 65],
      ] as const) {
        const width = (withInputGate ? 3 : 4) * hidden;
        const bh = batch * hidden;
        const [gOff, cpOff, cOff, hOff, dgOff] = [5, 3, 7, 2, 9];
        const z = rand32(gOff + batch * width + 4, rand, -12, 12);
        z[gOff] = 0;
        if (batch * width > 4) {
          z[gOff + 3] = 95;
          z[gOff + 4] = -95;
        }
        const cPrev = rand32(cpOff + bh + 1, rand, -3, 3);
        const ig = withInputGate ? rand32(bh, rand, 0, 1) : null;
        const cInit = rand32(cOff + bh + 2, rand);
        const hInit = rand32(hOff + bh + 2, rand);
        const gR = f64(z);
        const cR = f64(cInit);
        const hR = f64(hInit);
        ref.cellForward(batch, hidden, gR, gOff, ig ? f64(ig) : null, f64(cPrev), cpOff, cR, cOff, hR, hOff);
        const gates = Float32Array.from(z);
        const c = Float32Array.from(cInit);
        const h = Float32Array.from(hInit);
        g.cellForward(batch, hidden, gates, gOff, ig, cPrev, cpOff, c, cOff, h, hOff);
        const tag = `batch=${batch} hidden=${hidden}`;
        assertClose(gates, gR, `forward gates ${tag}`);
        assertClose(c, cR, `forward c ${tag}`);
        assertClose(h, hR, `forward h ${tag}`);

        const dh = rand32(bh, rand);
        const dcInit = rand32(bh + 3, rand);
        const dgInit = rand32(dgOff + batch * width + 2, rand);
        const digInit = withInputGate ? rand32(bh + 1, rand) : null;
        const dcR = f64(dcInit);
        const dgR = f64(dgInit);
        const digR = digInit ? f64(digInit) : null;
        ref.cellBackward(batch, hidden, f64(gates), gOff, ig ? f64(ig) : null, f64(cPrev), cpOff, f64(c), cOff, f64(dh), dcR, dgR, dgOff, digR);
        const dc = Float32Array.from(dcInit);
        const dg = Float32Array.from(dgInit);
        const dig = digInit ? Float32Array.from(digInit) : null;
        g.cellBackward(batch, hidden, gates, gOff, ig, cPrev, cpOff, c, cOff, dh, dc, dg, dgOff, dig);
        assertClose(dg, dgR, `backward dGates ${tag}`);
        assertClose(dc, dcR, `backward dc ${tag}`);
        if (dig && digR) assertClose(dig, digR, `backward dInputGate ${tag}`);
        if (withInputGate) {
          // Without a dInputGate target that gradient is dropped and nothing outside dGates' 3 blocks is written.
          const dgA = new Float32Array(dgOff + batch * width + 2).fill(Number.NaN);
          g.cellBackward(batch, hidden, gates, gOff, ig, cPrev, cpOff, c, cOff, dh, new Float32Array(bh), dgA, dgOff, null);
          assert.ok(Number.isNaN(dgA[dgOff + batch * width]) && Number.isNaN(dgA[dgOff - 1]), 'no write outside the dGates span');
        }
      }
    });

  for (const withInputGate of [true, false])
    it(`fused steps (recurrent product + cell, cell + dL/dh_{t-1}) against the float64 reference in parts (${withInputGate ? 'EA-LSTM' : 'LSTM'}), hidden beyond one workgroup`, () => {
      const rand = rng(withInputGate ? 51 : 52);
      for (const [batch, hidden] of [
        [1, 1],
        [3, 7],
        [2, 300],
      ] as const)
        for (const flag of [true, false]) {
          const width = (withInputGate ? 3 : 4) * hidden;
          const bh = batch * hidden;
          const wOff = 4;
          const w = rand32(wOff + hidden * width, rand, -0.2, 0.2);
          const hPrev = rand32(bh + 2, rand);
          const gates = rand32(3 + batch * width, rand, -3, 3);
          const ig = withInputGate ? rand32(bh, rand, 0, 1) : null;
          const cPrev = rand32(bh, rand, -2, 2);
          const tag = `batch=${batch} hidden=${hidden} ${flag}`;
          const gR = f64(gates);
          const cR = new Float64Array(bh + 1);
          const hR = new Float64Array(bh + 1);
          ref.stepForward(flag, batch, hidden, f64(w), wOff, f64(hPrev), 2, gR, 3, ig ? f64(ig) : null, f64(cPrev), 0, cR, 1, hR, 1);
          const gG = Float32Array.from(gates);
          const cG = new Float32Array(bh + 1);
          const hG = new Float32Array(bh + 1);
          g.stepForward(flag, batch, hidden, w, wOff, hPrev, 2, gG, 3, ig, cPrev, 0, cG, 1, hG, 1);
          // Scale: the recurrent sum's magnitude bound for the pre-activations, 1 for the bounded activations.
          const ones = new Float64Array(gR.length).fill(hidden * 0.2);
          assertClose(gG, gR, `stepForward gates ${tag}`, ones);
          assertClose(cG, cR, `stepForward c ${tag}`, new Float64Array(cR.length).fill(hidden * 0.2));
          assertClose(hG, hR, `stepForward h ${tag}`, new Float64Array(hR.length).fill(hidden * 0.2));

          const dh = rand32(bh, rand);
          const dc = rand32(bh, rand);
          const dGates = new Float32Array(2 + batch * width);
          const dig = withInputGate ? rand32(bh, rand) : null;
          const dhR = f64(dh);
          const dcR = f64(dc);
          const dGR = f64(dGates);
          const digR = dig ? f64(dig) : null;
          ref.stepBackward(flag, batch, hidden, f64(w), wOff, f64(gG), 3, ig ? f64(ig) : null, f64(cPrev), 0, f64(cG), 1, dhR, dcR, dGR, 2, digR);
          g.stepBackward(flag, batch, hidden, w, wOff, gG, 3, ig, cPrev, 0, cG, 1, dh, dc, dGates, 2, dig);
          const scale = new Float64Array(bh).fill(width * 0.2 * 4);
          assertClose(dh, dhR, `stepBackward dh ${tag}`, scale);
          assertClose(dc, dcR, `stepBackward dc ${tag}`, scale);
          assertClose(dGates, dGR, `stepBackward dGates ${tag}`, new Float64Array(dGR.length).fill(4));
          if (dig && digR) assertClose(dig, digR, `stepBackward dInputGate ${tag}`, scale);
        }
    });

  it('buffers it allocated stay on the device: kernel results reach the host at toHost, host writes the device at hostWrote', () => {
    const x = g.alloc(6);
    const y = g.alloc(6);
    assert.deepEqual([...x], [0, 0, 0, 0, 0, 0]);
    x.set([1, 2, 3, 4, 5, 6]);
    g.hostWrote(x);
    g.axpy(6, 2, x, 0, y, 0);
    assert.deepEqual([...y], [0, 0, 0, 0, 0, 0], 'not yet on the host');
    g.toHost(y, 2, 2);
    assert.deepEqual([...y], [0, 0, 6, 8, 0, 0], 'a range');
    g.toHost(y);
    assert.deepEqual([...y], [2, 4, 6, 8, 10, 12]);
    g.fill(y, 1, 2, -1);
    g.copy(3, y, 0, x, 3);
    g.toHost(x);
    assert.deepEqual([...x], [1, 2, 3, 2, -1, -1]);
    assert.deepEqual([...y], [2, -1, -1, 8, 10, 12], 'fill keeps a current host copy current');
    // Host arrays (not from alloc) mixed with resident ones: results land in the host array at once.
    const host = new Float32Array(3);
    g.copy(3, x, 1, host, 0);
    assert.deepEqual([...host], [2, 3, 2]);
  });

  it('a queued forward and a backward read nothing back, however long the sequence (everything stays on the device)', () => {
    const roundTrips = (seq: number) => {
      const model = new RecurrentModel(g, { kind: 'ealstm', dynamicInputs: 3, staticInputs: 2, hidden: 5, layers: 2 }, 0.2);
      model.initialize(new Random(1), 3);
      model.ensureCapacity(4, seq);
      model.dynamicInput.set(rand32(seq * 4 * 3, rng(seq)));
      model.staticInput.set(rand32(4 * 2, rng(seq + 1)));
      model.inputsWritten(4);
      const before = g.reads;
      const out = model.queueForward(4, new Random(2));
      const forwardReads = g.reads - before;
      model.zeroGradients();
      model.backward(out, { inputGradients: true });
      return [forwardReads, g.reads - before - forwardReads];
    };
    assert.deepEqual(roundTrips(3), [0, 0]);
    assert.deepEqual(roundTrips(40), [0, 0]);
  });

  it('the model ops (dropout multiply, sigmoid and its backward, the one-output linear layer) against the float64 reference', () => {
    const rand = rng(77);
    for (const [n, k] of [
      [1, 1],
      [5, 7],
      [33, 65],
      [300, 3],
    ]) {
      const tag = `n=${n} k=${k}`;
      const x = rand32(n * k + 2, rand, -2, 2);
      const w = rand32(k + 3, rand, -1, 1);
      const mask = Float32Array.from(rand32(n * k, rand, 0, 1), (u) => (u < 0.3 ? 0 : 1 / 0.7));
      const dy = rand32(n, rand, -1, 1);
      const grads = rand32(k + 5, rand, -1, 1);
      const on = (be: typeof g | ReferenceBackend, wrap: (a: Float32Array) => Float32Array | Float64Array) => {
        const [xb, wb, mb, dyb, gb] = [x, w, mask, dy, grads].map((a) => {
          const r = be.alloc(a.length);
          r.set(wrap(a));
          be.hostWrote(r);
          return r;
        });
        const prod = be.alloc(n * k);
        be.multiply(n * k, xb, 2, mb, 0, prod, 0);
        const sig = be.alloc(n * k + 2);
        sig.set(wrap(x));
        be.hostWrote(sig);
        be.sigmoid(n * k, sig, 2);
        const dsig = be.alloc(n * k);
        dsig.set(wrap(x).subarray(0, n * k));
        be.hostWrote(dsig);
        be.sigmoidBackward(n * k, sig, 2, dsig, 0);
        const y = be.alloc(n);
        be.linearForward(n, k, prod, 0, wb, 3, wb, 0, y);
        const dx = be.alloc(n * k + 1);
        be.linearBackward(n, k, prod, 0, wb, 3, dyb, gb, 5, gb, 1, dx, 1, mb);
        const dxPlain = be.alloc(n * k);
        be.linearBackward(n, k, xb, 2, wb, 3, dyb, gb, 5, gb, 1, dxPlain, 0, null);
        for (const a of [prod, sig, dsig, y, dx, dxPlain, gb]) be.toHost(a);
        return { prod, sig, dsig, y, dx, dxPlain, gb };
      };
      const want = on(ref, f64);
      const got = on(g, (a) => a);
      for (const key of Object.keys(want) as (keyof typeof want)[]) assertClose(got[key], want[key], `${key} ${tag}`, new Float64Array(want[key].length).fill(n + k));
    }
  });

  it('a hot start (initial state from the last forward) gives what the reference backend gives', () => {
    const run = (backend: typeof g | ReferenceBackend) => {
      const model = new RecurrentModel(backend, { kind: 'lstm', dynamicInputs: 2, staticInputs: 3, hidden: 4, layers: 2 }, 0);
      model.initialize(new Random(3), 3);
      model.ensureCapacity(3, 7);
      model.dynamicInput.set(rand32(7 * 3 * 2, rng(5)));
      model.staticInput.set(rand32(3 * 3, rng(6)));
      model.forward(3);
      const state = model.finalStates();
      model.dynamicInput.set(rand32(7 * 3 * 2, rng(7)));
      return Array.from(model.forward(3, null, state).subarray(0, 3));
    };
    const want = run(new ReferenceBackend('float32'));
    assertClose(run(g), f64(want), 'hot-start predictions');
  });

  it('a short training and evaluation give the reference backend\'s losses and metrics within float32 noise', () => {
    const run = (backend: string) => {
      const { dir, file } = tinyConfig({ epochs: '1', backend, num_workers: '0', hidden_size: '5', seq_length: '12' });
      const runDir = path.join(dir, 'run');
      train(loadConfig(file), { runDir });
      evaluateRun(runDir);
      const losses = readFileSync(path.join(runDir, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);
      const [header, ...rows] = readFileSync(path.join(runDir, 'test', 'metrics.csv'), 'utf8').trim().split('\n');
      const nse = header.split(',').indexOf('NSE');
      return { losses, nse: rows.map((r) => Number(r.split(',')[nse])) };
    };
    const want = run('reference');
    const got = run('webgpu');
    assert.equal(got.losses.length, want.losses.length);
    got.losses.forEach((l, i) => assert.ok(Math.abs(l - want.losses[i]) <= 1e-4 * Math.abs(want.losses[i]), `epoch ${i + 1} loss ${l} vs ${want.losses[i]}`));
    assert.equal(got.nse.length, 3);
    got.nse.forEach((v, i) => assert.ok(Math.abs(v - want.nse[i]) <= 1e-4, `basin ${i} NSE ${v} vs ${want.nse[i]}`));
  });
});

describe('webgpu backend: optimizer checkpoints', { skip }, () => {
  it('a run resumed from its epoch-1 checkpoint ends as the uninterrupted run: weights and Adam moments saved from the device and loaded back', () => {
    const { dir, file } = tinyConfig({ epochs: '2', backend: 'webgpu', num_workers: '0', hidden_size: '5', seq_length: '12' });
    const whole = path.join(dir, 'run');
    train(loadConfig(file), { runDir: whole });
    const resumed = path.join(dir, 'resumed');
    cpSync(whole, resumed, { recursive: true });
    for (const name of ['model_epoch002.safetensors', 'optimizer_state_epoch002.safetensors']) rmSync(path.join(resumed, name));
    train(null, { runDir: resumed, resume: true });
    for (const name of ['model_epoch002.safetensors', 'optimizer_state_epoch002.safetensors']) {
      assert.ok(readFileSync(path.join(resumed, name)).equals(readFileSync(path.join(whole, name))), `${name} differs after the resume`);
    }
    // The moments came from the device: nonzero, and the ones of epoch 1 differ from those of epoch 2.
    const [m1, m2] = [1, 2].map((e) => readFileSync(path.join(whole, `optimizer_state_epoch00${e}.safetensors`)));
    assert.ok(!m1.equals(m2));
  });
});

// PyTorch fixtures (one layer and a 2-layer stack): forward, every gradient, three clipped Adam steps at float32's 1e-4.
if (gpu) goldenSuite(gpu, { forward: 1e-4, grad: 1e-4, adam: 1e-4 });
