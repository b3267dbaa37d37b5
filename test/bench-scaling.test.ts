import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScaling, paperEpochSeconds, threadScaling } from '../src/bench/scaling.js';

test('ealstm bench: the thread-scaling summary gives each backend its speedup over its fewest threads', () => {
  const row = (kind: string, threads: number, train_ms: number, model = 'ealstm') => ({ size: 'paper', model, kind, threads, train_ms, infer_ms: 1 });
  const rows = [row('native', 4, 250), row('native', 1, 800), row('native', 16, 80), row('wasm', 1, 900), row('wasm', 2, 500), row('webgpu', 1, 20), row('native', 1, 700, 'lstm')];
  const scaling = threadScaling(rows);
  assert.deepEqual(
    scaling.map((s) => [s.kind, s.model, s.points.map((p) => [p.threads, p.speedup])]),
    [
      ['native', 'ealstm', [[1, 1], [4, 3.2], [16, 10]]],
      ['wasm', 'ealstm', [[1, 1], [2, 1.8]]],
    ],
    'one thread count (webgpu, the single lstm row) gives no scaling',
  );
  assert.equal(formatScaling(scaling[0]), 'thread scaling, paper ealstm native: 1 thread 800.0 ms, 4 threads 250.0 ms (x3.20), 16 threads 80.0 ms (x10.00)');
  assert.equal(paperEpochSeconds(156), 1065.948); // the PyTorch figure: 1,066 s per epoch at 156 ms per step
});
