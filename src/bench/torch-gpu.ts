import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The Pythons probed for a CUDA PyTorch, in order: Debian's (python3-torch) and the one on the PATH. */
export const TORCH_PYTHONS = ['/usr/bin/python3', 'python3'];

const PROBE = 'import torch; print(torch.cuda.is_available())';

/**
 * The first of `pythons` whose torch sees a CUDA GPU, or why none does (each Python's answer: no torch, a torch
 * without CUDA, not found). `ealstm bench` runs the GPU reference only with such a Python.
 */
export function findCudaTorch(pythons: readonly string[] = TORCH_PYTHONS): { python: string } | { reason: string } {
  const answers: string[] = [];
  for (const python of pythons) {
    const r = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000 });
    const out = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    if (r.status === 0 && out === 'True') return { python };
    if (r.error) answers.push(`${python}: not runnable (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`);
    else if (r.status === 0) answers.push(`${python}: torch without CUDA (torch.cuda.is_available() is ${out || 'empty'})`);
    else answers.push(`${python}: ${/No module named/.test(r.stderr ?? '') ? 'no torch' : `the probe failed (${(r.stderr ?? '').trim().split('\n').pop()})`}`);
  }
  return { reason: `no CUDA PyTorch here (${answers.join('; ')})` };
}

/** One result of torch_reference_gpu.py: `<model>/<device>/<train|infer>`. */
export interface TorchGpuResult {
  ms_per_step: number;
  samples_per_s: number;
  epoch_s_531: number;
}

/**
 * Runs ../shared/bench/torch_reference_gpu.py (the paper-style EA-LSTM loop and cuDNN's nn.LSTM at the paper's
 * size, fp32, TF32 off) with a CUDA PyTorch when one is importable; logs its lines and returns its results with
 * the Python and the keys the comparison uses, or null (logged: why not).
 */
export function runTorchGpuReference(
  script: string,
  log: (line: string) => void,
  pythons: readonly string[] = TORCH_PYTHONS,
): { python: string; results: Record<string, TorchGpuResult> } | null {
  if (!existsSync(script)) {
    log(`PyTorch GPU reference: skipped (${script} not found)`);
    return null;
  }
  const found = findCudaTorch(pythons);
  if ('reason' in found) {
    log(`PyTorch GPU reference: skipped: ${found.reason}`);
    return null;
  }
  // The script writes torch_anchor.json into $OUT.
  const out = mkdtempSync(path.join(os.tmpdir(), 'ealstm-torch-gpu-'));
  try {
    log(`PyTorch GPU reference (${found.python} ${path.basename(script)})...`);
    const r = spawnSync(found.python, [script], { env: { ...process.env, OUT: out }, encoding: 'utf8' });
    for (const line of (r.stdout ?? '').split('\n')) if (line.trim()) log(`  ${line}`);
    const json = path.join(out, 'torch_anchor.json');
    if (r.status !== 0 || !existsSync(json)) {
      log(`PyTorch GPU reference failed: ${(r.stderr ?? '').slice(-300)}`);
      return null;
    }
    return { python: found.python, results: JSON.parse(readFileSync(json, 'utf8')) as Record<string, TorchGpuResult> };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Our paper-size webgpu step times against PyTorch on the GPU (>1: we are faster); the lines `ealstm bench` prints. */
export function gpuRatios(webgpu: { ealstm_train_ms?: number; ealstm_infer_ms?: number; lstm_train_ms?: number; lstm_infer_ms?: number }, results: Record<string, TorchGpuResult>): string[] {
  const pairs: [string, number | undefined, string][] = [
    ['EA-LSTM train step', webgpu.ealstm_train_ms, 'ealstm_loop/cuda/train'],
    ['EA-LSTM inference', webgpu.ealstm_infer_ms, 'ealstm_loop/cuda/infer'],
    ['LSTM train step (vs cuDNN)', webgpu.lstm_train_ms, 'cudnn_lstm/cuda/train'],
    ['LSTM inference (vs cuDNN)', webgpu.lstm_infer_ms, 'cudnn_lstm/cuda/infer'],
  ];
  const lines: string[] = [];
  for (const [what, ours, key] of pairs) {
    const ref = results[key];
    if (ours === undefined || !ref) continue;
    lines.push(`  ${what.padEnd(27)} webgpu ${ours.toFixed(1)} ms vs PyTorch CUDA ${ref.ms_per_step.toFixed(1)} ms: ${(ref.ms_per_step / ours).toFixed(2)}x`);
  }
  return lines;
}
