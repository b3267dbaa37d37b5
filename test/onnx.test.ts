import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../src/config/load.js';
import { loadPeriod } from '../src/data/dataset.js';
import { normalize } from '../src/data/normalize.js';
import { predictBasin, toDischarge } from '../src/evaluation/predict.js';
import { exportOnnxRun } from '../src/export/onnx-run.js';
import { loadRun } from '../src/run/load-run.js';
import { train } from '../src/training/trainer.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

/** Raw windows of one basin's period, batch-major [days, seq, D] (window i ends on row seq - 1 + i), and its statics repeated [days, S]. */
function rawFeeds(basin: { rows: number; inputs: Float32Array; statics: Float64Array }, seq: number, d: number, s: number): Record<string, ort.Tensor> {
  const days = basin.rows - seq + 1;
  const xd = new Float32Array(days * seq * d);
  for (let i = 0; i < days; i++) xd.set(basin.inputs.subarray(i * d, (i + seq) * d), i * seq * d);
  const feeds: Record<string, ort.Tensor> = { x_d: new ort.Tensor('float32', xd, [days, seq, d]) };
  if (s > 0) {
    const xs = new Float32Array(days * s);
    for (let i = 0; i < days; i++) xs.set(basin.statics, i * s);
    feeds.x_s = new ort.Tensor('float32', xs, [days, s]);
  }
  return feeds;
}

/**
 * The exported ONNX graph, run by onnxruntime-node on raw (un-normalised) windows, gives the discharge our
 * evaluation path gives (loadRun + predictBasin + toDischarge) for every test-period day of every basin.
 */
async function checkExport(overrides: Record<string, string>): Promise<void> {
  const { dir, file } = tinyConfig({ hidden_size: '5', epochs: '1', test_end_date: '31/12/2001', ...overrides });
  const runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });
  const output = path.join(dir, 'model.onnx');
  const result = exportOnnxRun(runDir, output);
  assert.equal(result.epoch, 1);

  const run = loadRun(runDir);
  const { config, scaler } = run;
  const seq = config.seq_length;
  const d = config.dynamic_inputs.length;
  const s = config.static_attributes.length;
  const data = loadPeriod(config, ['01022500', '02053200', '02464000'], 'test');
  const normalized = normalize(data, scaler);
  const session = await ort.InferenceSession.create(readFileSync(output));
  assert.deepEqual([...session.inputNames], s > 0 ? ['x_d', 'x_s'] : ['x_d']);
  assert.deepEqual([...session.outputNames], ['q']);

  let compared = 0;
  for (const [b, basin] of data.basins.entries()) {
    const ours = predictBasin(run.model, normalized[b]!, seq, 64);
    const days = basin.rows - seq + 1;
    const feeds = rawFeeds(basin, seq, d, s);
    const q = (await session.run(feeds)).q!.data as Float32Array;
    assert.equal(q.length, days);
    for (let i = 0; i < days; i++) {
      const expected = toDischarge(ours[i]!, scaler);
      assert.ok(Number.isFinite(expected));
      assert.ok(Math.abs(q[i]! - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `${basin.basin} day ${i}: onnx ${q[i]} vs ours ${expected}`);
      compared++;
    }
  }
  assert.ok(compared > 200);
  await session.release();
}

test('ONNX export of an EA-LSTM equals our predictions within 1e-5', async () => {
  await checkExport({ model: 'ealstm' });
});

test('ONNX export of an LSTM with statics concatenated equals our predictions within 1e-5', async () => {
  await checkExport({ model: 'lstm' });
});

test('ONNX export of a 2-layer LSTM and a 2-layer EA-LSTM equals our predictions within 1e-5', async () => {
  await checkExport({ model: 'lstm', num_layers: '2' });
  await checkExport({ model: 'ealstm', num_layers: '2' });
});

test('ONNX export of an LSTM without static attributes has only the x_d input', async () => {
  await checkExport({ model: 'lstm', static_attributes: '[]' });
});

test('ealstm export --format onnx (CLI): onnxruntime-node equals ealstm predict (CLI) within 1e-5', async () => {
  const { dir, file } = tinyConfig({ hidden_size: '4', epochs: '1', test_end_date: '30/11/2001' });
  const runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const output = path.join(dir, 'model.onnx');
  assert.match(cli(['export', '--format', 'onnx', '--run-dir', runDir, '--output', output]), /wrote .*model\.onnx \(ONNX opset 17, epoch 1/);
  // Exporting again replaces our own file; a file ealstm did not write is left alone with a user error.
  assert.match(cli(['export', '--format', 'onnx', '--run-dir', runDir, '--output', output]), /wrote /);
  const foreign = path.join(dir, 'notes.onnx');
  writeFileSync(foreign, 'my notes\n');
  const refused = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'export', '--format', 'onnx', '--run-dir', runDir, '--output', foreign], { encoding: 'utf8' });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^error: --output .*notes\.onnx: the file exists and is not an ONNX model written by ealstm/);
  assert.equal(readFileSync(foreign, 'utf8'), 'my notes\n');
  const predictions = path.join(dir, 'predict');
  cli(['predict', '--run-dir', runDir, '--basins', '02053200', '--start', '01/10/2001', '--end', '30/11/2001', '--output', predictions]);
  const qsim = readFileSync(path.join(predictions, '02053200.csv'), 'utf8').trim().split('\n').slice(1).map((line) => Number(line.split(',')[1]));

  const config = loadConfig(path.join(runDir, 'config.yml'));
  const [basin] = loadPeriod(config, ['02053200'], 'test').basins;
  const session = await ort.InferenceSession.create(output);
  const q = (await session.run(rawFeeds(basin!, config.seq_length, config.dynamic_inputs.length, config.static_attributes.length))).q!.data as Float32Array;
  assert.equal(q.length, 61);
  assert.equal(qsim.length, 61);
  for (let i = 0; i < q.length; i++) assert.ok(Math.abs(q[i]! - qsim[i]!) <= 1e-5 * Math.max(1, Math.abs(qsim[i]!)), `day ${i}: onnx ${q[i]} vs predict ${qsim[i]}`);
  await session.release();
});

test('ealstm export --format with an unknown format is a one-line user error (exit 2)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'export', '--format', 'tflite', '--run-dir', repoRoot, '--output', 'x.tflite'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'error: --format tflite: expected bundle or onnx\n');
});
