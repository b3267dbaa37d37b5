import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
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
  const { file } = tinyConfig({ train_start_date: '31/02/2000' });
  assert.throws(() => loadConfig(file), /train_start_date: '31\/02\/2000' is not a valid calendar date/);
  const swapped = tinyConfig({ train_start_date: '01/10/2003' });
  assert.throws(() => loadConfig(swapped.file), /train_end_date 30\/09\/2001 is before train_start_date/);
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
