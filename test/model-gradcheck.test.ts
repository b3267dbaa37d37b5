import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/compute/reference.js';
import type { ModelSpec } from '../src/models/layout.js';
import { RecurrentModel } from '../src/models/model.js';
import { lossAndGradient } from '../src/training/losses.js';
import { Random } from '../src/util/random.js';

const backend = new ReferenceBackend('float64');

/** Central finite differences of the NSE* loss against the analytic backward pass, on odd shapes. */
function gradCheck(spec: ModelSpec, n: number, seq: number, dropout: number): void {
  const rng = new Random(7);
  const model = new RecurrentModel(backend, spec, dropout);
  model.initialize(rng, 1.5);
  // Perturb all weights so no gate saturates in a way that hides errors (identity blocks, zero biases).
  for (let i = 0; i < model.params.length; i++) model.params[i] += 0.3 * rng.normal();
  model.ensureCapacity(n + 2, seq);
  for (let i = 0; i < seq * n * spec.dynamicInputs; i++) model.dynamicInput[i] = rng.normal();
  for (let i = 0; i < n * spec.staticInputs; i++) model.staticInput[i] = rng.normal();
  const target = Float64Array.from({ length: n }, () => rng.normal());
  const std = Float64Array.from({ length: n }, () => 0.2 + rng.uniform());
  const dOut = new Float64Array(n);

  const lossAt = (): number => {
    const pred = model.forward(n, dropout > 0 ? new Random(99) : null);
    return lossAndGradient('NSE', n, pred, target, std, dOut);
  };
  lossAt();
  model.grads.fill(0);
  model.backward(dOut, { inputGradients: true });
  const analyticParams = Float64Array.from(model.grads);
  const analyticXd = Float64Array.from(model.dynamicInputGrad.subarray(0, seq * n * spec.dynamicInputs));
  const analyticXs = Float64Array.from(model.staticInputGrad.subarray(0, n * spec.staticInputs));

  const check = (buffer: Float64Array | Float32Array, index: number, analytic: number, what: string) => {
    const h = 1e-6;
    const saved = buffer[index];
    buffer[index] = saved + h;
    const up = lossAt();
    buffer[index] = saved - h;
    const down = lossAt();
    buffer[index] = saved;
    const numeric = (up - down) / (2 * h);
    const err = Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic));
    assert.ok(err < 1e-5, `${what}: analytic ${analytic} vs numeric ${numeric}`);
  };
  for (const p of model.layout) {
    for (let i = 0; i < p.size; i += Math.max(1, Math.floor(p.size / 17))) check(model.params, p.offset + i, analyticParams[p.offset + i], `${p.name}[${i}]`);
  }
  for (let i = 0; i < analyticXd.length; i += 3) check(model.dynamicInput, i, analyticXd[i], `x_d[${i}]`);
  for (let i = 0; i < analyticXs.length; i++) check(model.staticInput, i, analyticXs[i], `x_s[${i}]`);
}

test('EA-LSTM gradients match finite differences (odd shapes, dropout on)', () => {
  gradCheck({ kind: 'ealstm', dynamicInputs: 3, staticInputs: 5, hidden: 7 }, 5, 9, 0.4);
});
test('LSTM with statics gradients match finite differences', () => {
  gradCheck({ kind: 'lstm', dynamicInputs: 2, staticInputs: 3, hidden: 5 }, 3, 11, 0.25);
});
test('LSTM without statics gradients match finite differences', () => {
  gradCheck({ kind: 'lstm', dynamicInputs: 1, staticInputs: 0, hidden: 1 }, 1, 7, 0);
});
test('stacked EA-LSTM (3 layers) gradients match finite differences, dropout on', () => {
  gradCheck({ kind: 'ealstm', dynamicInputs: 2, staticInputs: 3, hidden: 4, layers: 3 }, 3, 6, 0.3);
});
test('stacked LSTM (2 layers, statics) gradients match finite differences', () => {
  gradCheck({ kind: 'lstm', dynamicInputs: 3, staticInputs: 2, hidden: 5, layers: 2 }, 2, 7, 0);
});
test('a one-layer model keeps its parameter layout and initial values when layers is given as 1', () => {
  const base: ModelSpec = { kind: 'ealstm', dynamicInputs: 2, staticInputs: 3, hidden: 4 };
  const a = new RecurrentModel(backend, base);
  const b = new RecurrentModel(backend, { ...base, layers: 1 });
  a.initialize(new Random(5), 3);
  b.initialize(new Random(5), 3);
  assert.deepEqual(b.layout, a.layout);
  assert.deepEqual(Array.from(b.params), Array.from(a.params));
});
test('batches smaller than the capacity give the same result as a full batch', () => {
  const spec: ModelSpec = { kind: 'ealstm', dynamicInputs: 2, staticInputs: 3, hidden: 4 };
  const a = new RecurrentModel(backend, spec);
  a.initialize(new Random(1), 2);
  const b = new RecurrentModel(backend, spec);
  b.params.set(a.params);
  a.ensureCapacity(3, 6);
  b.ensureCapacity(8, 6);
  const rng = new Random(3);
  for (let i = 0; i < 6 * 3 * 2; i++) a.dynamicInput[i] = b.dynamicInput[i] = rng.normal();
  for (let i = 0; i < 9; i++) a.staticInput[i] = b.staticInput[i] = rng.normal();
  assert.deepEqual(Array.from(a.forward(3).subarray(0, 3)), Array.from(b.forward(3).subarray(0, 3)));
});
