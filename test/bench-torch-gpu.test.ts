import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findCudaTorch, gpuRatios, runTorchGpuReference } from '../src/bench/torch-gpu.js';

/** A stand-in Python: answers the CUDA probe (-c ...) with `probe`, and runs "the script" by writing its JSON into $OUT. */
function fakePython(dir: string, name: string, probe: string): string {
  const file = path.join(dir, name);
  const anchor = JSON.stringify({
    'ealstm_loop/cuda/train': { ms_per_step: 156, samples_per_s: 1641, epoch_s_531: 1066 },
    'ealstm_loop/cuda/infer': { ms_per_step: 51, samples_per_s: 5020, epoch_s_531: 348 },
    'cudnn_lstm/cuda/train': { ms_per_step: 15.7, samples_per_s: 16306, epoch_s_531: 107 },
  });
  writeFileSync(
    file,
    `#!/bin/sh\nif [ "$1" = "-c" ]; then ${probe}; exit $?; fi\necho "torch 9.9 device FakeGPU"\nprintf '%s' '${anchor}' > "$OUT/torch_anchor.json"\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

test('ealstm bench: the GPU PyTorch reference runs only with a Python whose torch sees CUDA, and says why not otherwise', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-torch-gpu-test-'));
  const noTorch = fakePython(dir, 'no-torch', `echo "ModuleNotFoundError: No module named 'torch'" >&2; exit 1`);
  const cpuTorch = fakePython(dir, 'cpu-torch', 'echo False');
  const cudaTorch = fakePython(dir, 'cuda-torch', 'echo True');
  const missing = path.join(dir, 'missing-python');

  const none = findCudaTorch([missing, noTorch, cpuTorch]);
  assert.ok('reason' in none);
  assert.match(none.reason, /^no CUDA PyTorch here \(/);
  assert.match(none.reason, /missing-python: not runnable \(ENOENT\)/);
  assert.match(none.reason, /no-torch: no torch/);
  assert.match(none.reason, /cpu-torch: torch without CUDA \(torch.cuda.is_available\(\) is False\)/);
  assert.deepEqual(findCudaTorch([noTorch, cudaTorch, cpuTorch]), { python: cudaTorch });

  const script = path.join(dir, 'torch_reference_gpu.py');
  writeFileSync(script, '# stand-in\n');
  const lines: string[] = [];
  assert.equal(runTorchGpuReference(script, (l) => lines.push(l), [cpuTorch]), null);
  assert.match(lines.at(-1)!, /^PyTorch GPU reference: skipped: no CUDA PyTorch here/);
  assert.equal(runTorchGpuReference(path.join(dir, 'absent.py'), (l) => lines.push(l), [cudaTorch]), null);
  assert.match(lines.at(-1)!, /skipped \(.*absent\.py not found\)/);

  const run = runTorchGpuReference(script, (l) => lines.push(l), [noTorch, cudaTorch]);
  assert.equal(run?.python, cudaTorch);
  assert.equal(run?.results['ealstm_loop/cuda/train'].ms_per_step, 156);
  assert.ok(lines.includes('  torch 9.9 device FakeGPU'), 'the script output is logged');
  assert.ok(!readdirSync(os.tmpdir()).some((f) => f.startsWith('ealstm-torch-gpu-') && existsSync(path.join(os.tmpdir(), f, 'torch_anchor.json'))), 'its output folder is removed');

  assert.deepEqual(gpuRatios({ ealstm_train_ms: 31.2, lstm_train_ms: 31.4, lstm_infer_ms: 4 }, run!.results), [
    '  EA-LSTM train step          webgpu 31.2 ms vs PyTorch CUDA 156.0 ms: 5.00x',
    '  LSTM train step (vs cuDNN)  webgpu 31.4 ms vs PyTorch CUDA 15.7 ms: 0.50x',
  ]);
});
