/**
 * The one missing-value rule (util/missing.ts) and what it protects: a missing-value code in an input file is a
 * missing value (the scaler ignores it, windows over it are no training samples), and a missing static attribute
 * of any basin used is an error naming basin, attribute and file before anything is written.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { readCaravanBasin } from '../src/data/caravan.js';
import { fitScaler, loadPeriod, trainingSamples } from '../src/data/dataset.js';
import { normalize } from '../src/data/normalize.js';
import type { PeriodData } from '../src/data/types.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { train } from '../src/training/trainer.js';
import { isMissingCell } from '../src/util/csv.js';
import { InputError } from '../src/util/errors.js';
import { inputValue, isMissingCode, isMissingText } from '../src/util/missing.js';
import { demoData, repoRoot, tinyConfig } from './helpers/tiny-config.js';

const BASIN = '01022500';
const FORCING = `basin_mean_forcing/daymet/01/${BASIN}_lump_cida_forcing_leap.txt`;
const ATTRIBUTES = 'camels_attributes_v2.0';

/** A data folder whose time series are the demo's (linked) and whose attribute tables are copies to edit. */
function dataCopy(dir: string, options: { copyForcing?: boolean } = {}): string {
  const data = path.join(dir, 'data');
  mkdirSync(data);
  for (const sub of ['basin_mean_forcing', 'usgs_streamflow']) {
    if (sub === 'basin_mean_forcing' && options.copyForcing) cpSync(path.join(demoData, sub), path.join(data, sub), { recursive: true });
    else symlinkSync(path.join(demoData, sub), path.join(data, sub));
  }
  cpSync(path.join(demoData, ATTRIBUTES), path.join(data, ATTRIBUTES), { recursive: true });
  return data;
}

/** Sets one cell (by gauge id and column name) of a ';'-separated CAMELS attribute table. */
function setAttributeCell(file: string, basin: string, column: string, text: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  const col = lines[0].split(';').indexOf(column);
  assert.ok(col >= 0, `${column} in ${file}`);
  const row = lines.findIndex((l) => l.startsWith(`${basin};`));
  const cells = lines[row].split(';');
  cells[col] = text;
  lines[row] = cells.join(';');
  writeFileSync(file, lines.join('\n'));
}

test('the missing-value rule: texts and codes', () => {
  for (const t of ['', ' ', 'NA', 'nan', 'NaN', 'NAN', '-nan', '+NaN', 'null', 'None']) assert.ok(isMissingText(t), `'${t}' is missing`);
  for (const t of ['0', 'N', 'na', 'none', '-999', 'inf']) assert.ok(!isMissingText(t), `'${t}' is not missing text`);
  for (const v of [-999, -9999]) assert.ok(isMissingCode(v));
  for (const v of [-998.99, 0, 999, -99.9, Number.NaN]) assert.ok(!isMissingCode(v));
  assert.ok(Number.isNaN(inputValue(-999)));
  assert.equal(inputValue(-12.5), -12.5);
  // results files (util/csv) follow the same rule for text
  assert.ok(isMissingCell('NA') && isMissingCell(' nan ') && !isMissingCell('-999'));
});

test('-999 rain in a forcing file is missing: the scaler keeps its clean values, windows over those days are no samples', (t) => {
  const { dir, file } = tinyConfig({ model: 'lstm', static_attributes: '' });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'basins.txt'), `${BASIN}\n`);
  const clean = loadConfig(file);
  const data = dataCopy(dir, { copyForcing: true });
  const dirty = { ...clean, data_dir: data, cache_dir: path.join(dir, 'cache2') };

  // -999 on five rainy and dry days of the train period (01/10/2000-30/09/2001).
  const days = ['2000 11 03', '2001 01 15', '2001 01 16', '2001 05 20', '2001 09 29'];
  const forcingFile = path.join(data, FORCING);
  const lines = readFileSync(forcingFile, 'latin1').split('\n');
  for (const day of days) {
    const i = lines.findIndex((l) => l.startsWith(day));
    const cells = lines[i].split('\t'); // 'Year Mnth Day Hr', dayl(s), prcp(mm/day), ...
    cells[2] = '-999.00';
    lines[i] = cells.join('\t');
  }
  writeFileSync(forcingFile, lines.join('\n'), 'latin1');

  const cleanData = loadPeriod(clean, [BASIN], 'train');
  const dirtyData = loadPeriod(dirty, [BASIN], 'train');
  const d = clean.dynamic_inputs.length;
  const prcp = clean.dynamic_inputs.indexOf('prcp(mm/day)');
  const b = dirtyData.basins[0];
  const injectedRows: number[] = [];
  for (let r = 0; r < b.rows; r++) if (Number.isNaN(b.inputs[r * d + prcp])) injectedRows.push(r);
  assert.equal(injectedRows.length, days.length, 'each -999 is read as a missing value (NaN)');

  // The scaler ignores the missing days: it equals the clean data's scaler with those days left out ...
  const expectedData: PeriodData = structuredClone(cleanData);
  for (const r of injectedRows) expectedData.basins[0].inputs[r * d + prcp] = Number.NaN;
  const scaler = fitScaler(dirty, dirtyData);
  assert.deepEqual(scaler, fitScaler(clean, expectedData));
  // ... and stays at the clean values (before the fix -999 turned mean 3.3 / std 8.1 into -2.2 / 74).
  const cleanScaler = fitScaler(clean, cleanData);
  assert.ok(Math.abs(scaler.input_mean[prcp] - cleanScaler.input_mean[prcp]) < 0.1, `mean ${scaler.input_mean[prcp]}`);
  assert.ok(Math.abs(scaler.input_std[prcp] - cleanScaler.input_std[prcp]) < 0.2, `std ${scaler.input_std[prcp]}`);

  // Samples: exactly the clean ones whose window does not cover a missing day.
  const seq = clean.seq_length;
  const cleanSamples = trainingSamples(normalize(cleanData, cleanScaler), seq, d);
  const samples = trainingSamples(normalize(dirtyData, scaler), seq, d);
  const expected: number[] = [];
  for (let k = 0; k < cleanSamples.length; k += 2) {
    const last = cleanSamples[k + 1];
    if (!injectedRows.some((r) => r > last - seq && r <= last)) expected.push(cleanSamples[k], last);
  }
  assert.ok(expected.length < cleanSamples.length - 2 * seq, 'windows over the missing days are dropped');
  assert.deepEqual(Array.from(samples), expected);
});

test('Caravan: -999, NA, nan and an empty field are missing values', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-missing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(repoRoot, 'test', 'data', 'caravan'), dir, { recursive: true });
  const file = path.join(dir, 'timeseries/csv/camels/camels_01022500.csv');
  const lines = readFileSync(file, 'latin1').split('\n');
  lines[1] = lines[1].replace(/^([^,]*),[^,]*,[^,]*,[^,]*,/, '$1,-999,NA,nan,'); // 1999-01-01
  lines[2] = lines[2].replace(/,[^,]*$/, ',-9999.0'); // streamflow of 1999-01-02
  writeFileSync(file, lines.join('\n'), 'latin1');
  const s = readCaravanBasin(dir, 'camels_01022500');
  const w = s.variables.length;
  for (let k = 0; k < 3; k++) assert.ok(Number.isNaN(s.values[k]), `${s.variables[k]} of day 1`);
  assert.ok(!Number.isNaN(s.values[3]));
  assert.ok(Number.isNaN(s.values[w + s.variables.indexOf('streamflow')]));
});

/** The error a missing attribute must give: an InputError naming basin, attribute and the file. */
function missingAttributeError(basin: string, attribute: string, file: string) {
  return (err: unknown) =>
    err instanceof InputError &&
    err.message.includes(`basin ${basin}`) &&
    err.message.includes(`'${attribute}'`) &&
    err.message.includes(file);
}

test('an empty or NA attribute of a training basin is an error naming basin, attribute and file; nothing is written', (t) => {
  for (const cell of ['', 'NA', 'nan', '-999']) {
    const { dir, file } = tinyConfig();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const data = dataCopy(dir);
    const table = path.join(data, ATTRIBUTES, 'camels_clim.txt');
    setAttributeCell(table, '02053200', 'aridity', cell);
    const config = { ...loadConfig(file), data_dir: data };
    const runDir = path.join(dir, 'run');
    assert.throws(() => train(config, { runDir }), missingAttributeError('02053200', 'aridity', table), `cell '${cell}'`);
    assert.ok(!existsSync(runDir), 'nothing written');
  }
});

test('an empty attribute of a test basin is an error before training, and before evaluation, writes anything', (t) => {
  const { dir, file } = tinyConfig({ epochs: '1' });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = dataCopy(dir);
  const testBasins = path.join(dir, 'test-basins.txt');
  writeFileSync(testBasins, '01022500\n02053200\n02297310\n');
  const config = { ...loadConfig(file), data_dir: data, test_basin_file: testBasins };
  const table = path.join(data, ATTRIBUTES, 'camels_topo.txt');
  const original = readFileSync(table);
  setAttributeCell(table, '02297310', 'elev_mean', '');
  const runDir = path.join(dir, 'run');
  assert.throws(() => train(config, { runDir }), missingAttributeError('02297310', 'elev_mean', table));
  assert.ok(!existsSync(runDir), 'train wrote nothing');
  // The attribute goes missing after training: evaluate refuses before writing.
  writeFileSync(table, original);
  train(config, { runDir });
  const before = readdirSync(runDir).sort();
  setAttributeCell(table, '02297310', 'elev_mean', 'NA');
  assert.throws(() => evaluateRun(runDir, { period: 'test' }), missingAttributeError('02297310', 'elev_mean', table));
  assert.deepEqual(readdirSync(runDir).sort(), before, 'evaluate wrote nothing');
});
