import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { createModel } from '../src/models/create.js';
import { parameterModules } from '../src/models/modules.js';
import { createBackend } from '../src/compute/select.js';
import { loadWeights, optimizerFile, weightsFile } from '../src/run/checkpoint.js';
import { readRunConfig, scalerFile } from '../src/run/run-dir.js';
import { train } from '../src/training/trainer.js';
import { runCli } from './helpers/run-cli.js';
import { tinyConfig } from './helpers/tiny-config.js';

/** A run's parameters by name, as stored in the weights of `epoch`. */
function weightsByName(runDir: string, epoch: number): Map<string, Float32Array> {
  const config = readRunConfig(runDir);
  const model = createModel(config, createBackend('reference', 1));
  loadWeights(weightsFile(runDir, epoch), model);
  return new Map(model.layout.map((p) => [p.name, Float32Array.from(model.params.subarray(p.offset, p.offset + p.size))]));
}

const bitsEqual = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

describe('finetune', () => {
  let dir = '';
  let base = '';
  before(() => {
    const tiny = tinyConfig({ epochs: '1' });
    dir = tiny.dir;
    base = path.join(dir, 'base');
    train(loadConfig(tiny.file), { runDir: base });
  });

  /** A fine-tuning config over the base run: two other basins, another year, one epoch. */
  function finetuneConfig(extra: string): string {
    const basins = path.join(dir, 'finetune_basins.txt');
    writeFileSync(basins, '02053200\n02464000\n');
    const file = path.join(dir, `finetune_${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(
      file,
      [
        `train_basin_file: ${basins}`,
        `test_basin_file: ${basins}`,
        'train_start_date: 01/10/2002',
        'train_end_date: 30/09/2003',
        'epochs: 2',
        'learning_rate: 1.0e-2',
        extra,
      ].join('\n'),
    );
    return file;
  }

  test('frozen modules keep their weights bit for bit; trained ones change; the base scaler and origin are recorded', () => {
    const runDir = path.join(dir, 'ft-head');
    const r = runCli(['finetune', '--from', base, '--config', finetuneConfig('finetune_modules: [head]'), '--run-dir', runDir]);
    assert.equal(r.status, 0, r.stderr);
    const before = weightsByName(base, 1);
    const after = weightsByName(runDir, 2);
    const modules = parameterModules('ealstm', createModel(readRunConfig(base), createBackend('reference', 1)).layout);
    for (const [module, params] of modules) {
      for (const p of params) {
        const same = bitsEqual(before.get(p.name) as Float32Array, after.get(p.name) as Float32Array);
        assert.equal(same, module !== 'head', `${module}/${p.name} ${module === 'head' ? 'should have been trained' : 'should be frozen'}`);
      }
    }
    assert.equal(readFileSync(scalerFile(runDir), 'utf8'), readFileSync(scalerFile(base), 'utf8'));
    const config = readRunConfig(runDir);
    assert.equal(config.base_run_dir, base);
    assert.equal(config.base_epoch, 1);
    assert.deepEqual(config.finetune_modules, ['head']);
    assert.equal(config.hidden_size, 6, 'keys the fine-tuning config does not set come from the base run');
    assert.equal(config.train_start_date, '01/10/2002');
  });

  test('without finetune_modules every parameter is trained, starting from the base weights, not a fresh init', () => {
    const runDir = path.join(dir, 'ft-all');
    const r = runCli(['finetune', '--from', base, '--config', finetuneConfig(''), '--run-dir', runDir]);
    assert.equal(r.status, 0, r.stderr);
    const before = weightsByName(base, 1);
    const after = weightsByName(runDir, 2);
    for (const [name, values] of before) assert.ok(!bitsEqual(values, after.get(name) as Float32Array), `${name} was not trained`);
    // A fresh run with the same config and seed, trained from its own initialisation, ends elsewhere.
    const config = { ...readRunConfig(runDir), base_run_dir: undefined, base_epoch: undefined };
    const fresh = path.join(dir, 'fresh');
    train(config, { runDir: fresh });
    const freshWeights = weightsByName(fresh, 2);
    assert.ok(!bitsEqual(freshWeights.get('fc_weight') as Float32Array, after.get('fc_weight') as Float32Array));
  });

  test('a fine-tuned run killed after its first epoch resumes to the weights of an uninterrupted one', () => {
    const runDir = path.join(dir, 'ft-resume');
    const config = finetuneConfig('finetune_modules: [dynamic_gates, head]');
    assert.equal(runCli(['finetune', '--from', base, '--config', config, '--run-dir', runDir]).status, 0);
    const uninterrupted = weightsByName(runDir, 2);
    // What a kill during epoch 2 leaves: epoch 1 complete, epoch 2 not.
    rmSync(weightsFile(runDir, 2));
    rmSync(optimizerFile(runDir, 2));
    // The base run may have moved meanwhile: a run with a complete epoch continues from its own checkpoint.
    const moved = `${base}-moved`;
    renameSync(base, moved);
    const resumed = runCli(['train', '--resume', '--run-dir', runDir]);
    renameSync(moved, base);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming at epoch 2/);
    for (const [name, values] of weightsByName(runDir, 2)) assert.ok(bitsEqual(values, uninterrupted.get(name) as Float32Array), name);
    assert.match(runCli(['train', '--resume', '--run-dir', runDir]).stdout, /already complete/);
  });

  test('bad fine-tuning configs are errors naming the key, before anything is written', () => {
    const cases: [string, RegExp][] = [
      ['finetune_modules: [head, input_gates]', /finetune_modules: unknown module 'input_gates'; the ealstm model has input_gate, dynamic_gates, head/],
      ['hidden_size: 8', /keeps the base model's shape and inputs: hidden_size is 8 here but 6 in the base run/],
      ['static_attributes: [p_mean]', /static_attributes is \["p_mean"\] here but/],
    ];
    for (const [extra, message] of cases) {
      const runDir = path.join(dir, `bad-${Math.random().toString(36).slice(2)}`);
      const r = runCli(['finetune', '--from', base, '--config', finetuneConfig(extra), '--run-dir', runDir]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1);
      assert.throws(() => readFileSync(path.join(runDir, 'config.yml')), /ENOENT/);
    }
    const noBase = runCli(['finetune', '--from', path.join(dir, 'nope'), '--config', finetuneConfig(''), '--run-dir', path.join(dir, 'x')]);
    assert.equal(noBase.status, 2);
    assert.match(noBase.stderr, /^error: .*--from.*nope/m);
  });
});
