import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { InputError } from '../src/util/errors.js';
import { train } from '../src/training/trainer.js';
import { tinyConfig } from './helpers/tiny-config.js';

/** Training must fail with an InputError matching `message`, leaving no run directory behind. */
function assertTrainFails(overrides: Record<string, string>, message: RegExp, prepare?: (dir: string) => void): void {
  const { dir, file } = tinyConfig(overrides);
  prepare?.(dir);
  const runDir = path.join(dir, 'run');
  assert.throws(
    () => train(loadConfig(file), { runDir }),
    (err: Error) => err instanceof InputError && message.test(err.message),
  );
  assert.ok(!existsSync(runDir), 'a failed run leaves no output');
}

test('a misspelt config key is an error naming the key, its line and the likely key', () => {
  assert.throws(
    () => parseConfig('model: ealstm\nhiden_size: 8\n', 'my.yml'),
    /my\.yml:2: unknown key 'hiden_size' \(did you mean 'hidden_size'\?\)/,
  );
  assert.throws(() => parseConfig('model: gru\n', 'my.yml'), /my\.yml:1: key 'model'/);
  assert.throws(() => parseConfig('model: ealstm\n', 'my.yml'), /my\.yml: key 'data_dir' is required but missing/);
});

test('date errors in a config name the file and line', () => {
  const { file } = tinyConfig({ train_start_date: '31/02/2000' });
  const line = (key: string) => readFileSync(file, 'utf8').split('\n').findIndex((l) => l.startsWith(`${key}:`)) + 1;
  assert.throws(() => loadConfig(file), (err: Error) => err instanceof InputError && err.message.startsWith(`${file}:${line('train_start_date')}: train_start_date: '31/02/2000' is not a valid calendar date`));
  const swapped = tinyConfig({ test_start_date: '01/10/2003' });
  assert.throws(
    () => loadConfig(swapped.file),
    (err: Error) => err instanceof InputError && err.message === `${swapped.file}:${line('test_end_date')}: test_end_date 31/03/2002 is before test_start_date 01/10/2003`,
  );
});

test('a config that is not UTF-8 is an error naming the file, line and byte', () => {
  const { file } = tinyConfig();
  // A Latin-1 'é' in a path on line 3: read as UTF-8 it would silently become U+FFFD (a path that does not exist).
  const text = readFileSync(file, 'utf8').replace(/^model: .*$/m, 'model: ealstm\nrun_root: runs/caf\u00e9');
  writeFileSync(file, Buffer.from(text, 'latin1'));
  assert.throws(
    () => loadConfig(file),
    (err: Error) => err instanceof InputError && err.message === `config ${file}: not UTF-8 text (line 3, byte 19: 0xE9); save it as UTF-8`,
  );
  // The same text as UTF-8 (with a byte-order mark) is read.
  writeFileSync(file, `\uFEFF${text}`, 'utf8');
  assert.match(loadConfig(file).run_root, /runs\/café$/);
});

test('a variable listed twice in dynamic_inputs or static_attributes is an error naming the key and line', () => {
  const { file } = tinyConfig({ static_attributes: '\n  - p_mean\n  - aridity\n  - p_mean' });
  const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l === '  - p_mean', 0);
  assert.throws(() => loadConfig(file), (err: Error) => err instanceof InputError && err.message === `${file}:${line + 3}: key 'static_attributes': 'p_mean' is listed twice (also item 1)`);
  const dyn = tinyConfig({ dynamic_inputs: '[prcp(mm/day), tmax(C), prcp(mm/day)]' });
  assert.throws(() => loadConfig(dyn.file), /config\.yml:\d+: key 'dynamic_inputs': 'prcp\(mm\/day\)' is listed twice/);
});

test('the target listed as a dynamic input is a warning, printed once to stderr', (t) => {
  const { file } = tinyConfig({ dynamic_inputs: '[prcp(mm/day), tmax(C), QObs(mm/d)]' });
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  t.after(() => {
    process.stderr.write = write;
  });
  const config = loadConfig(file);
  loadConfig(file);
  process.stderr.write = write;
  assert.deepEqual(config.dynamic_inputs, ['prcp(mm/day)', 'tmax(C)', 'QObs(mm/d)'], 'allowed');
  assert.equal(written.length, 1, written.join(''));
  assert.match(written[0], /^warning: .*config\.yml:\d+: the target 'QObs\(mm\/d\)' is also listed in dynamic_inputs: the model sees the observed value of each day it predicts.*\n$/);
});

test('an unknown dataset is an error listing the known ones, before anything is written', () => {
  assertTrainFails({ dataset: 'camels_gb' }, /unknown dataset 'camels_gb' \(key 'dataset'; known: camels_us, caravan, generic\)/);
});

test('an empty basin list is an error naming the file', () => {
  assertTrainFails({}, /basin file .*basins\.txt: the basin list is empty/, (dir) => writeFileSync(path.join(dir, 'basins.txt'), '# nothing\n\n'));
});

test('a basin listed without data is an error naming the basin', () => {
  assertTrainFails({}, /09999999/, (dir) => writeFileSync(path.join(dir, 'basins.txt'), '01022500\n09999999\n'));
});

test('a missing attribute column is an error naming it', () => {
  assertTrainFails({ static_attributes: '[p_mean, not_an_attribute]' }, /not_an_attribute/);
});

test('an attribute without variance across the training basins is an error naming it', () => {
  // carbonate_rocks_frac is 0 in all three of these basins.
  assertTrainFails({ static_attributes: '[p_mean, carbonate_rocks_frac]' }, /static attribute 'carbonate_rocks_frac' has zero variance across the 3 training basin/);
});

test('a period outside the data is an error naming the basin and the data range', () => {
  assertTrainFails(
    { train_start_date: '01/01/1980', train_end_date: '31/12/1981' },
    /basin 01022500: the train period 01\/01\/1980-31\/12\/1981 \(loaded from 1979-12-13.*is outside the data, which covers 1980-01-01 to 2014-12-31/,
  );
});

test('an unknown dynamic input is an error naming it and the available columns', () => {
  assertTrainFails({ dynamic_inputs: '[prcp(mm/day), rainfall]' }, /dynamic input 'rainfall' is not in the data \(available: .*prcp\(mm\/day\)/);
});
