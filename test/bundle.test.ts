import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { readBundleInfo } from '../src/run/bundle.js';
import { loadRun } from '../src/run/load-run.js';
import { train } from '../src/training/trainer.js';
import { runCli } from './helpers/run-cli.js';
import { demoData, repoRoot, tinyConfig } from './helpers/tiny-config.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ealstm-bundle-'));
after(() => rmSync(root, { recursive: true, force: true }));

const { file } = tinyConfig({ hidden_size: '4', epochs: '2', train_end_date: '31/03/2001', test_end_date: '31/12/2001' });
const runDir = path.join(root, 'run');
train(loadConfig(file), { runDir });
evaluateRun(runDir);

const csv = (folder: string, basin: string) => readFileSync(path.join(folder, `${basin}.csv`), 'utf8');

test('export writes a bundle that predict uses as a run directory, with the same predictions', () => {
  const bundle = path.join(root, 'tiny.ealstm');
  const exported = runCli(['export', '--run-dir', runDir, '--epoch', '1', '--output', bundle]);
  assert.equal(exported.status, 0, exported.stderr);
  assert.match(exported.stdout, /wrote model bundle .*tiny\.ealstm: ealstm, hidden 4, seq_length 20, 5 dynamic inputs, 4 static attributes \(from run .*, epoch 1\)/);
  for (const name of ['bundle.json', 'model.safetensors', 'scaler.json', 'config.yml', 'model_card.md']) assert.ok(existsSync(path.join(bundle, name)), name);
  const info = readBundleInfo(bundle);
  assert.equal(info?.epoch, 1);
  assert.deepEqual(info?.static_attributes.map((a) => a.unit), ['mm/day', '-', 'm', '-']);
  const card = readFileSync(path.join(bundle, 'model_card.md'), 'utf8');
  assert.match(card, /Test metrics \(per-basin median\)[\s\S]*\| NSE \| -?\d+\.\d{3} \| 3 \|/);
  assert.doesNotMatch(card, /\| note \|/); // a text column is no metric
  assert.match(card, /training basins: 3 \(01022500, 02053200, 02464000\)/);
  assert.deepEqual(info?.train_basins, ['01022500', '02053200', '02464000']);
  assert.match(card, /Newman et al\. \(2014\)[\s\S]*Kratzert et al\. \(2023\)[\s\S]*CC-BY-4\.0/);

  const args = ['--basins', '01022500,02464000', '--start', '01/10/2001', '--end', '31/10/2001', '--data-dir', demoData, '--dataset', 'camels_us'];
  const fromRun = runCli(['predict', '--run-dir', runDir, '--epoch', '1', ...args, '--output', path.join(root, 'p-run')]);
  assert.equal(fromRun.status, 0, fromRun.stderr);
  const fromBundle = runCli(['predict', '--run-dir', bundle, ...args, '--output', path.join(root, 'p-bundle')]);
  assert.equal(fromBundle.status, 0, fromBundle.stderr);
  for (const basin of ['01022500', '02464000']) assert.equal(csv(path.join(root, 'p-bundle'), basin), csv(path.join(root, 'p-run'), basin));

  // A bundle holds one epoch: asking for another is an error, not a silent substitution.
  assert.throws(() => loadRun(bundle, { epoch: 2 }), /holds the weights of epoch 1 only, not 2/);
});

test('export refuses to replace a folder that is not a bundle', () => {
  const r = runCli(['export', '--run-dir', runDir, '--output', repoRoot]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --output .* exists and is not a model bundle/m);
  assert.ok(existsSync(path.join(repoRoot, 'package.json')));
});

test('an imported neuralhydrology model predicts the demo basins through the CLI', () => {
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'import', 'nh_ealstm');
  const bundle = path.join(root, 'nh.ealstm');
  const imported = runCli(['import', '--from', path.join(fixture, 'model_epoch003.pt'), '--format', 'nh', '--output', bundle]);
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stdout, /wrote model bundle .*nh\.ealstm: ealstm, hidden 8, seq_length 12, 3 dynamic inputs, 2 static attributes \(from neuralhydrology .*model_epoch003\.pt, epoch 3\)/);
  const out = path.join(root, 'p-nh');
  const r = runCli(['predict', '--run-dir', bundle, '--basins', '01022500', '--start', '01/10/2001', '--end', '10/10/2001', '--data-dir', demoData, '--dataset', 'camels_us', '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /01022500 {2}10\/10 days predicted/);
  const bad = runCli(['import', '--from', path.join(fixture, 'model_epoch003.pt'), '--format', 'onnx', '--output', path.join(root, 'x.ealstm')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: --format onnx: expected one of nh, paper, safetensors/m);
});
