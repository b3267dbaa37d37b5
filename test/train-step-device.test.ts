import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ComputeBackend, FloatArray, LossKind } from '../src/compute/backend.js';
import { loadNativeBackend } from '../src/compute/native.js';
import { ReferenceBackend } from '../src/compute/reference.js';
import { loadWasmBackend } from '../src/compute/wasm-node.js';
import { openWebGpuBackend, type WebGpuBackend } from '../src/compute/webgpu.js';
import { loadConfig } from '../src/config/load.js';
import { gatherWindows, ResidentBatches } from '../src/data/batches.js';
import { RecurrentModel } from '../src/models/model.js';
import { Adam, clipGradientNorm } from '../src/training/optimizer.js';
import { queueTrainStep } from '../src/training/step.js';
import { DEFAULT_LOG_INTERVAL as LOSS_READ_INTERVAL } from '../src/config/schema.js';
import { type TrainProgress, train } from '../src/training/trainer.js';
import { Random } from '../src/util/random.js';
import { assertClose } from './helpers/close.js';
import type { NormalizedBasin } from '../src/data/types.js';
import { rand32, rng } from './helpers/random.js';
import { tinyConfig } from './helpers/tiny-config.js';

/** Normalised basins of these row counts with random inputs, targets and d dynamic / s static inputs. */
function randomBasins(rowCounts: number[], d: number, s: number, rand: () => number): NormalizedBasin[] {
  return rowCounts.map((rows, i) => ({
    basin: `b${i}`,
    firstDay: 0,
    rows,
    inputs: rand32(rows * d, rand),
    target: rand32(rows, rand),
    statics: rand32(s, rand),
    rawTarget: new Float32Array(rows),
  }));
}

/*
 * The training ops of ComputeBackend (lossAndGradient, squaredNorm, adamStep) on every backend available here,
 * against float64 computations written out below in the order the trainer has always used: the host backends must
 * give exactly those numbers (their float64 sums and moments), the webgpu backend (float32 on the device) the same
 * within float32 rounding.
 */

const opened = openWebGpuBackend();
const gpu = opened.backend;
if (!gpu) console.log(`# skipping the webgpu training-op tests: no WebGPU adapter: ${opened.reason}`);
after(() => gpu?.close());

const backends: ComputeBackend[] = [new ReferenceBackend('float64'), new ReferenceBackend('float32')];
const wasm = loadWasmBackend({ threads: 1 });
if (wasm) backends.push(wasm);
else console.log('# skipping the wasm backend here: its kernels are not built');
const native = loadNativeBackend();
if (native) backends.push(native);
else console.log('# skipping the native backend here: its addon is not built');
if (gpu) backends.push(gpu);

/** A backend buffer holding `values` (written on the host, announced to the backend). */
function upload(be: ComputeBackend, values: ArrayLike<number>): FloatArray {
  const x = be.alloc(values.length);
  x.set(values);
  be.hostWrote(x);
  return x;
}

function read(be: ComputeBackend, x: FloatArray): Float64Array {
  be.toHost(x);
  return Float64Array.from(x);
}

/** Host backends: bit for bit; a device backend: within float32 rounding (close.ts TOL, scaled). */
function assertMatches(be: ComputeBackend, got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  if (be.name.startsWith('webgpu')) assertClose(got, want, `${be.name} ${what}`);
  else assert.deepEqual(Array.from(got), Array.from(want), `${be.name} ${what}`);
}

/** Adam's float64 update as the trainer always did it, on `params` of the backend's precision. */
function referenceAdam(m: Float64Array, v: Float64Array, step: number, params: FloatArray, grads: ArrayLike<number>, lr: number): void {
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const stepSize = lr / (1 - beta1 ** step);
  const sqrtBc2 = Math.sqrt(1 - beta2 ** step);
  for (let i = 0; i < m.length; i++) {
    m[i] = beta1 * m[i] + (1 - beta1) * grads[i];
    v[i] = beta2 * v[i] + (1 - beta2) * grads[i] * grads[i];
    params[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBc2 + eps);
  }
}

for (const be of backends) {
  const precision = (n: number): FloatArray => (be.precision === 'float64' ? new Float64Array(n) : new Float32Array(n));

  describe(`training ops on ${be.name}`, () => {
    it('lossAndGradient: NSE* and MSE over odd batch sizes, the loss accumulated over calls in one scalar', () => {
      for (const n of [1, 7, 63, 257, 1001]) {
        const rand = rng(10 + n);
        const prediction = upload(be, rand32(n, rand, -2, 2));
        const target = upload(be, rand32(n, rand, -2, 2));
        const std = upload(be, rand32(n, rand, 0.05, 3));
        const grad = be.alloc(n);
        const sums = be.allocScalars(3);
        sums[0] = 5;
        be.hostWrote(sums);
        let sum = 5;
        const want = new Float64Array(n);
        for (const loss of ['NSE', 'MSE'] as LossKind[]) {
          be.lossAndGradient(loss, n, prediction, target, std, grad, sums, 1);
          let total = 0;
          for (let b = 0; b < n; b++) {
            const diff = prediction[b] - target[b];
            const weight = loss === 'NSE' ? 1 / ((std[b] + 0.1) * (std[b] + 0.1)) : 1;
            total += weight * diff * diff;
            want[b] = Float32Array.of((2 * weight * diff) / n)[0];
            if (be.precision === 'float64') want[b] = (2 * weight * diff) / n;
          }
          sum = (loss === 'NSE' ? 0 : sum) + total / n;
          assertMatches(be, read(be, grad), want, `${loss} gradient, n = ${n}`);
        }
        be.toHost(sums);
        assert.equal(sums[0], 5, 'the other scalars are untouched');
        assert.equal(sums[2], 0, 'the other scalars are untouched');
        assertMatches(be, [sums[1]], [sum], `NSE* + MSE loss sum, n = ${n}`);
      }
    });

    it('squaredNorm over odd sizes and offsets (one and several partial sums on a device)', () => {
      for (const n of [1, 255, 256, 257, 4099, 70001]) {
        const x = upload(be, rand32(n + 3, rng(n), -1, 1));
        const out = be.allocScalars(2);
        be.squaredNorm(n, x, 3, out, 1);
        let sq = 0;
        for (let i = 0; i < n; i++) sq += x[3 + i] * x[3 + i];
        be.toHost(out);
        assert.equal(out[0], 0);
        assertMatches(be, [out[1]], [sq], `squared norm, n = ${n}`);
      }
      const empty = be.allocScalars(1);
      empty[0] = 7;
      be.hostWrote(empty);
      be.squaredNorm(0, be.alloc(1), 0, empty, 0);
      be.toHost(empty);
      assert.equal(empty[0], 0, 'the squared norm of nothing is 0');
    });

    for (const [what, maxNorm] of [
      ['clipping active', 0.5],
      ['clipping inactive', 1e3],
      ['no clipping', 0],
    ] as const) {
      it(`adamStep, three steps, ${what}; frozen slices keep their parameters and zero moments`, () => {
        const n = 1237;
        const frozen = [
          { offset: 10, size: 37 },
          { offset: 900, size: 101 },
        ];
        const rand = rng(7);
        const start = rand32(n, rand, -1, 1);
        const params = upload(be, start);
        const grads = be.alloc(n);
        const scalars = be.allocScalars(1);
        const adam = new Adam(n);
        const want = precision(n);
        want.set(start);
        const m = new Float64Array(n);
        const v = new Float64Array(n);
        const frozenBefore = frozen.map((p) => Array.from(params.subarray(p.offset, p.offset + p.size)));
        for (let step = 1; step <= 3; step++) {
          const g = rand32(n, rand, -0.1, 0.1);
          grads.set(g);
          be.hostWrote(grads);
          for (const p of frozen) be.fill(grads, p.offset, p.size, 0);
          const reads = gpu?.reads ?? 0;
          if (maxNorm > 0) be.squaredNorm(n, grads, 0, scalars, 0);
          be.adamStep(adam, params, grads, 1e-2, maxNorm > 0 ? { maxNorm, norms: scalars, at: 0 } : null);
          if (be === gpu) assert.equal(gpu.reads, reads, 'no read-back for the norm, the clipping or Adam');
          assert.equal(adam.step, step);

          const g64 = precision(n);
          g64.set(g);
          for (const p of frozen) g64.fill(0, p.offset, p.offset + p.size);
          const norm = maxNorm > 0 ? clipGradientNorm(g64, maxNorm) : Number.NaN;
          referenceAdam(m, v, step, want, g64, 1e-2);
          if (maxNorm === 0.5) assert.ok(norm > 1, `the gradient norm ${norm} is above the clip, so the clip acts`);
          if (maxNorm === 1e3) assert.ok(norm < 10, `the gradient norm ${norm} is below the clip`);
          assertMatches(be, read(be, grads), g64, `gradient after step ${step} (clipped in place when the clip acts)`);
        }
        assertMatches(be, read(be, params), want, 'parameters after three steps');
        be.toHost(adam.m);
        be.toHost(adam.v);
        assertMatches(be, adam.m, m, 'first moments');
        assertMatches(be, adam.v, v, 'second moments');
        frozen.forEach((p, k) => {
          assert.deepEqual(Array.from(params.subarray(p.offset, p.offset + p.size)), frozenBefore[k], 'frozen parameters unchanged');
          assert.ok(adam.m.subarray(p.offset, p.offset + p.size).every((x) => x === 0), 'frozen first moments stay 0');
          assert.ok(adam.v.subarray(p.offset, p.offset + p.size).every((x) => x === 0), 'frozen second moments stay 0');
        });
      });
    }

    it('ResidentBatches: batches gathered on the backend equal the host gathering (gatherWindows and the target/std loop), exactly', () => {
      const [seq, d, s] = [4, 3, 2];
      const rand = rng(21);
      const basins = randomBasins([9, 6, 12], d, s, rand);
      const stds = [0.5, 1.25, 3.1];
      const samples = Int32Array.from([0, 3, 1, 5, 2, 11, 0, 8, 2, 3, 1, 3, 2, 7]);
      const order = Int32Array.from([4, 0, 6, 2, 1, 5, 3]);
      const capacity = 5;
      const data = new ResidentBatches(be, basins, stds, samples, seq, capacity);
      const [xd, xs, target, std] = [be.alloc(seq * capacity * d), be.alloc(capacity * s), be.alloc(capacity), be.alloc(capacity)];
      for (const [from, n] of [
        [0, 5],
        [5, 2],
      ]) {
        data.gather(order, from, n, xd, xs, target, std);
        const want = { xd: precision(seq * n * d), xs: precision(n * s), target: precision(n), std: precision(n) };
        gatherWindows(basins, samples, order, from, n, seq, want.xd, want.xs);
        for (let i = 0; i < n; i++) {
          const k = order[from + i];
          want.target[i] = basins[samples[2 * k]].target[samples[2 * k + 1]];
          want.std[i] = stds[samples[2 * k]];
        }
        for (const x of [xd, xs, target, std]) be.toHost(x);
        assert.deepEqual(Array.from(xd.subarray(0, seq * n * d)), Array.from(want.xd), `dynamic inputs, batch at ${from}`);
        assert.deepEqual(Array.from(xs.subarray(0, n * s)), Array.from(want.xs), `statics, batch at ${from}`);
        assert.deepEqual(Array.from(target.subarray(0, n)), Array.from(want.target), `targets, batch at ${from}`);
        assert.deepEqual(Array.from(std.subarray(0, n)), Array.from(want.std), `stds, batch at ${from}`);
      }
    });

    it('Adam moments round trip through the host (an optimizer checkpoint): a state rebuilt from them continues the same', () => {
      const n = 301;
      const rand = rng(3);
      const params = upload(be, rand32(n, rand));
      const grads = upload(be, rand32(n, rand));
      const adam = new Adam(n);
      be.adamStep(adam, params, grads, 1e-3, null);
      be.adamStep(adam, params, grads, 1e-3, null);
      // What the trainer does around saveOptimizer / loadOptimizer.
      be.toHost(adam.m);
      be.toHost(adam.v);
      const restored = new Adam(n);
      restored.m.set(adam.m);
      restored.v.set(adam.v);
      restored.step = adam.step;
      be.hostWrote(restored.m);
      be.hostWrote(restored.v);
      const twin = upload(be, read(be, params));
      be.adamStep(adam, params, grads, 1e-3, null);
      be.adamStep(restored, twin, grads, 1e-3, null);
      assert.deepEqual(Array.from(read(be, twin)), Array.from(read(be, params)));
    });
  });
}

describe('one training step on the webgpu backend', { skip: gpu ? false : `no WebGPU adapter: ${opened.reason}` }, () => {
  for (const [kind, layers] of [
    ['ealstm', 1],
    ['lstm', 1],
    ['ealstm', 2],
  ] as const) {
    it(`${kind}, ${layers} layer(s): reads nothing back and is one command buffer; the loss it leaves on the device is the reference's`, () => {
      const g = gpu!;
      const [n, seq, d, s] = [5, 9, 3, 4];
      const spec = { kind, dynamicInputs: d, staticInputs: s, hidden: 6, layers };
      const rand = rng(4);
      const basins = randomBasins([30, 25], d, s, rand);
      const samples = Int32Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? (i >> 1) % 2 : seq - 1 + ((i * 7) % 16)));
      const order = Int32Array.from({ length: 15 }, (_, i) => (i * 4) % 15);
      let lastBuffers: Float64Array | null = null;
      // The same three steps (dropout on, clipping on) on the webgpu and the float64 reference backend, as the trainer
      // runs them: the data resident on the backend, each batch gathered there from its row numbers.
      const run = (be: ComputeBackend, count?: (step: number) => void) => {
        const model = new RecurrentModel(be, spec, 0.25);
        model.initialize(new Random(1), 3);
        model.ensureCapacity(n, seq);
        const data = new ResidentBatches(be, basins, [0.7, 1.9], samples, seq, n);
        const buffers = { target: be.alloc(n), basinStd: be.alloc(n), outputGrad: be.alloc(n), scalars: be.allocScalars(2) };
        lastBuffers = buffers.scalars;
        const adam = new Adam(model.params.length);
        const dropout = new Random(2);
        for (let step = 0; step < 3; step++) {
          data.gather(order, step * n, n, model.dynamicInput, model.staticInput, buffers.target, buffers.basinStd);
          queueTrainStep(model, n, buffers, 'NSE', adam, 1e-3, 1, dropout);
          count?.(step);
        }
        be.toHost(buffers.scalars);
        be.toHost(model.params);
        return { loss: buffers.scalars[0], params: Float64Array.from(model.params) };
      };
      const perStep: [number, number][] = [];
      let last = [g.reads, g.commandBuffers];
      const got = run(g, () => {
        // The step's own reads, then one read of the loss here (what the trainer does every 16 batches): it submits
        // what the step recorded and makes the count of command buffers current (the device thread keeps it).
        const reads = g.reads - last[0];
        g.toHost(lastBuffers!);
        perStep.push([reads, g.commandBuffers - last[1]]);
        last = [g.reads, g.commandBuffers];
      });
      console.log(`# one ${kind} (${layers} layer) training step on webgpu: [reads, command buffers] per step: ${JSON.stringify(perStep)}`);
      assert.deepEqual(perStep.map(([reads]) => reads), [0, 0, 0], 'no read-back during a step');
      // The first count also holds the model's setup (zero fills of its buffers) and the first adamStep's upload of
      // Adam's moments, which ends a command buffer; every later step is one.
      assert.deepEqual(perStep.slice(1).map(([, submits]) => submits), [1, 1], 'one command buffer per step (with the uploads before it)');
      const want = run(new ReferenceBackend('float64'));
      assert.ok(Math.abs(got.loss - want.loss) <= 1e-4 * Math.abs(want.loss), `loss sum ${got.loss} vs ${want.loss}`);
      // Adam divides by sqrt(v): float32 noise in small gradients moves a parameter by up to ~lr 1e-5, so 1e-4 here.
      assertClose(got.params, want.params, 'parameters after three steps', new Float64Array(want.params.length).fill(9));
    });
  }
});

describe('the trainer on the webgpu backend', { skip: gpu ? false : `no WebGPU adapter: ${opened.reason}` }, () => {
  /** The read-backs of each batch of a one-epoch webgpu training with these config overrides. */
  const readsPerBatch = (overrides: Record<string, string>): number[] => {
    const { dir, file } = tinyConfig({ epochs: '1', hidden_size: '4', seq_length: '10', backend: 'webgpu', ...overrides });
    let compute: WebGpuBackend | null = null;
    const readsAt: number[] = [];
    train(loadConfig(file), {
      runDir: path.join(dir, 'run'),
      onStart: (info) => {
        compute = info.compute as WebGpuBackend;
        readsAt.push(compute.reads);
      },
      onBatch: () => readsAt.push(compute!.reads),
    });
    return readsAt.slice(1).map((r, i) => r - readsAt[i]);
  };
  it('reads back nothing but the loss during an epoch: one read at the first batch, every LOSS_READ_INTERVAL batches and at the end', () => {
    const perBatch = readsPerBatch({ batch_size: '16' });
    const batches = perBatch.length;
    assert.ok(batches > 3 * LOSS_READ_INTERVAL, `${batches} batches`);
    const want = perBatch.map((_, i) => (i === 0 || (i + 1) % LOSS_READ_INTERVAL === 0 || i + 1 === batches ? 1 : 0));
    assert.deepEqual(perBatch, want, 'reads per batch');
  });
  it('reads the loss after every batch with log_interval: 1', () => {
    const perBatch = readsPerBatch({ batch_size: '64', log_interval: '1' });
    assert.ok(perBatch.length > 2);
    assert.deepEqual(perBatch, perBatch.map(() => 1), 'one read per batch');
  });
});

describe('the trainer reads the loss lazily', () => {
  it(`after the first batch, every ${LOSS_READ_INTERVAL} batches and at the end of the epoch, whose logged loss is the running loss of its last batch`, () => {
    const { dir, file } = tinyConfig({ epochs: '1', batch_size: '16', hidden_size: '4', seq_length: '10' });
    const progress: TrainProgress[] = [];
    train(loadConfig(file), { runDir: path.join(dir, 'run'), onBatch: (p) => progress.push(p) });
    const batches = progress[0].batches;
    assert.ok(batches > 3 * LOSS_READ_INTERVAL, `${batches} batches`);
    const changed = progress.filter((p, i) => i === 0 || p.runningLoss !== progress[i - 1].runningLoss).map((p) => p.batch);
    const reads = progress.map((p) => p.batch).filter((b) => b === 1 || b % LOSS_READ_INTERVAL === 0 || b === batches);
    assert.deepEqual(changed, reads, 'the running loss changes exactly at the reads');
    const [entry] = readFileSync(path.join(dir, 'run', 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(entry.loss, progress[batches - 1].runningLoss);
    assert.ok(Number.isFinite(entry.loss) && entry.loss > 0);
  });
});
