import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { train } from '../src/training/trainer.js';
import { readSafetensors } from '../src/util/safetensors.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

test('train writes the run directory, and evaluate writes metrics and predictions', () => {
  const { dir, file } = tinyConfig();
  const runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });
  for (const name of ['config.yml', 'scaler.json', 'train_log.jsonl', 'model_epoch001.safetensors', 'model_epoch002.safetensors', 'optimizer_state_epoch002.safetensors']) {
    assert.ok(existsSync(path.join(runDir, name)), `missing ${name}`);
  }
  const log = readFileSync(path.join(runDir, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((e) => e.epoch), [1, 2]);
  assert.deepEqual(log.map((e) => e.lr), [5e-3, 1e-3]);
  for (const e of log) assert.ok(Number.isFinite(e.loss) && e.seconds > 0);
  const scaler = JSON.parse(readFileSync(path.join(runDir, 'scaler.json'), 'utf8'));
  assert.equal(scaler.static_std.length, 4);

  const summary = evaluateRun(runDir);
  const metrics = readFileSync(path.join(runDir, 'test', 'metrics.csv'), 'utf8').trim().split('\n');
  assert.equal(metrics[0], 'basin,NSE,alpha_nse,beta_nse,FHV,FMS,FLV,KGE,note');
  assert.equal(metrics.length, 4);
  assert.equal(summary.results.length, 3);
  const pred = readFileSync(path.join(runDir, 'test', 'predictions', '01022500.csv'), 'utf8').trim().split('\n');
  assert.equal(pred[0], 'date,qobs,qsim');
  assert.equal(pred.length - 1, 182); // 01/10/2001 .. 31/03/2002, every day predicted
  assert.ok(pred[1].startsWith('2001-10-01,'));
  for (const line of pred.slice(1)) assert.ok(Number(line.split(',')[2]) >= 0, 'predictions are clipped at 0');
  assert.ok(!readdirSync(runDir).some((n) => n.startsWith('.')), 'no temporary files left behind');
});

for (const backend of ['reference', 'auto']) {
  test(`the same seed twice gives identical metrics.csv (backend ${backend})`, () => {
    const outputs = [0, 1].map(() => {
      const { dir, file } = tinyConfig({ epochs: '1', backend, num_workers: '0' });
      const runDir = path.join(dir, 'run');
      train(loadConfig(file), { runDir });
      evaluateRun(runDir);
      return readFileSync(path.join(runDir, 'test', 'metrics.csv'), 'utf8');
    });
    assert.equal(outputs[0], outputs[1]);
    const { dir, file } = tinyConfig({ epochs: '1', seed: '6', backend, num_workers: '0' });
    train(loadConfig(file), { runDir: path.join(dir, 'run') });
    evaluateRun(path.join(dir, 'run'));
    assert.notEqual(readFileSync(path.join(dir, 'run', 'test', 'metrics.csv'), 'utf8'), outputs[0], 'another seed gives another model');
  });
}

function weights(file: string): number[] {
  const { tensors } = readSafetensors(file);
  return Object.keys(tensors).sort().flatMap((k) => Array.from(tensors[k].data));
}

test('a run killed with SIGKILL mid-epoch and resumed ends with the same weights as an uninterrupted run', async () => {
  const overrides = { epochs: '3', hidden_size: '16', seq_length: '60', batch_size: '32' };
  const reference = tinyConfig(overrides);
  const referenceRun = path.join(reference.dir, 'run');
  train(loadConfig(reference.file), { runDir: referenceRun });

  const killed = tinyConfig(overrides);
  const killedRun = path.join(killed.dir, 'run');
  const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'train', '--config', killed.file, '--run-dir', killedRun], {
    cwd: repoRoot,
    stdio: 'ignore',
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // Kill as soon as epoch 1 is saved: the child is then inside epoch 2.
  while (!existsSync(path.join(killedRun, 'optimizer_state_epoch001.safetensors'))) {
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.ok(!existsSync(path.join(killedRun, 'model_epoch003.safetensors')), 'the run was killed before it finished');

  train(null, { runDir: killedRun, resume: true });
  assert.deepEqual(weights(path.join(killedRun, 'model_epoch003.safetensors')), weights(path.join(referenceRun, 'model_epoch003.safetensors')));
  const log = readFileSync(path.join(killedRun, 'train_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((e) => e.epoch), [1, 2, 3]);
});
