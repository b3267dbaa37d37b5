/**
 * The `generic` dataset (src/data/generic.ts): one CSV or netCDF-4 file per basin plus attribute CSVs. A model
 * trained on data/generic-example (the demo basins rewritten by scripts/make-generic-example.ts) gives the same
 * metrics.csv as one trained on the CAMELS-US originals; bad inputs are errors naming file and line.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { cacheKey, loadAttributes, loadBasinCached, readBasin } from '../src/data/cache.js';
import { loadPeriod } from '../src/data/dataset.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { train } from '../src/training/trainer.js';
import { InputError } from '../src/util/errors.js';
import { repoRoot, tinyConfig } from './helpers/tiny-config.js';

const example = path.join(repoRoot, 'data', 'generic-example');
const CAMELS_TO_GENERIC: Record<string, string> = {
  'prcp(mm/day)': 'prcp',
  'srad(W/m2)': 'srad',
  'tmax(C)': 'tmax',
  'tmin(C)': 'tmin',
  'vp(Pa)': 'vp',
  'QObs(mm/d)': 'qobs',
};

function tmp(name: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `ealstm-generic-${name}-`));
}

/** A generic data folder with the given time-series files and attribute CSVs (name -> text). */
function genericFolder(series: Record<string, string | Buffer>, attributes: Record<string, string> = { 'a.csv': 'gauge_id,area\nb1,10\n' }): string {
  const dir = tmp('data');
  mkdirSync(path.join(dir, 'time_series'));
  mkdirSync(path.join(dir, 'attributes'));
  for (const [name, text] of Object.entries(series)) writeFileSync(path.join(dir, 'time_series', name), text);
  for (const [name, text] of Object.entries(attributes)) writeFileSync(path.join(dir, 'attributes', name), text);
  return dir;
}

const generic = (dataDir: string, missingValues: string[] = []) => ({ dataset: 'generic', dataDir, missingValues });

function throwsInput(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------
// the bundled example equals the CAMELS-US originals

test('a model trained on the generic example (CSV and netCDF) gives the same metrics.csv as on the CAMELS-US originals', () => {
  const common = {
    hidden_size: '4',
    epochs: '1',
    seq_length: '20',
    train_start_date: '01/10/2000',
    train_end_date: '31/12/2000',
    test_start_date: '01/10/2001',
    test_end_date: '30/11/2001',
    learning_rate: '1.0e-2',
  };
  const basins = path.join(tmp('basins'), 'basins.txt');
  writeFileSync(basins, '01022500\n02297310\n');
  const metrics = (overrides: Record<string, string>): string => {
    const { dir, file } = tinyConfig({ ...common, train_basin_file: basins, test_basin_file: basins, ...overrides });
    const runDir = path.join(dir, 'run');
    train(loadConfig(file), { runDir });
    const summary = evaluateRun(runDir, { period: 'test' });
    return readFileSync(path.join(summary.outputDir, 'metrics.csv'), 'utf8');
  };
  const renamed = (list: string) => list.replace(/[^[\], ]+/g, (name) => CAMELS_TO_GENERIC[name] ?? name);
  const genericOverrides = (layout: string) => ({
    dataset: 'generic',
    data_dir: path.join(example, layout),
    forcings: '',
    dynamic_inputs: renamed('[prcp(mm/day), srad(W/m2), tmax(C), tmin(C), vp(Pa)]'),
    target_variables: '[qobs]',
  });
  const original = metrics({});
  assert.match(original, /^basin,/);
  assert.equal(original.trim().split('\n').length, 3, original);
  assert.equal(metrics(genericOverrides('csv')), original);
  assert.equal(metrics(genericOverrides('netcdf')), original);
});

test('the example files hold exactly the float32 values the CAMELS-US reader yields (streamflow in mm/day)', () => {
  const camels = readBasin({ dataset: 'camels_us', dataDir: path.join(repoRoot, 'data', 'demo', 'camels_us'), forcing: 'daymet' }, '02053200');
  for (const layout of ['csv', 'netcdf']) {
    const g = readBasin(generic(path.join(example, layout)), '02053200');
    for (const [from, to] of Object.entries(CAMELS_TO_GENERIC)) {
      const a = camels.variables.indexOf(from);
      const b = g.variables.indexOf(to);
      for (let r = 0; r < g.length; r++) {
        const expected = camels.values[(g.startDay - camels.startDay + r) * camels.variables.length + a];
        assert.ok(Object.is(g.values[r * g.variables.length + b], expected), `${layout} ${to} row ${r}`);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// CSV files

test('CSV: any column order, a gap filled with missing values, declared missing-value codes merged with the fixed rule', () => {
  const dir = genericFolder({
    'b1.csv': 'q,date,rain\n1.5,2000-01-01,M\n-99.0,2000-01-02,2\n3,2000-01-04,-999\n,2000-01-05,NA\n',
  });
  const s = readBasin(generic(dir, ['M', '-99']), 'b1');
  assert.deepEqual(s.variables, ['q', 'rain']);
  assert.equal(s.length, 5);
  assert.deepEqual(Array.from(s.values), [1.5, NaN, NaN, 2, NaN, NaN, 3, NaN, NaN, NaN]);
  // Without the declaration, 'M' is not a number.
  throwsInput(() => readBasin(generic(dir), 'b1'), /time_series\/b1\.csv:2: column 'rain': not a number: 'M'/);
  // The declared codes change the parsed values, so they are part of the cache key (none: the key as before).
  assert.notEqual(cacheKey(generic(dir, ['M', '-99'])), cacheKey(generic(dir)));
  assert.equal(cacheKey(generic(dir)), cacheKey({ dataset: 'generic', dataDir: dir }));
  const cacheDir = path.join(dir, 'cache');
  assert.ok(Number.isNaN(loadBasinCached({ ...generic(dir, ['M', '-99']), cacheDir }, 'b1').values[1]));
  throwsInput(() => loadBasinCached({ ...generic(dir), cacheDir }, 'b1'), /b1\.csv:2: column 'rain': not a number: 'M'/);
});

test('CSV: an unparseable date, a duplicate date and dates out of order are errors naming file and line', () => {
  const cases: [string, RegExp][] = [
    ['date,q\n2000-01-01,1\n01/02/2000,2\n', /b1\.csv:3: expected a date as YYYY-MM-DD, got '01\/02\/2000'/],
    ['date,q\n2000-01-01,1\n2000-02-30,2\n', /b1\.csv:3: expected a date as YYYY-MM-DD, got '2000-02-30'/],
    ['date,q\n2000-01-01,1\n2000-01-02,2\n2000-01-02,3\n', /b1\.csv:4: date 2000-01-02 appears twice \(also at .*b1\.csv:3\)/],
    ['date,q\n2000-01-02,1\n2000-01-01,2\n', /b1\.csv:3: date 2000-01-01 comes after 2000-01-02: dates must ascend/],
    ['date,q\n2000-01-01,1\n2000-01-02\n', /b1\.csv:3: expected 2 fields, found 1/],
    ['day,q\n2000-01-01,1\n', /b1\.csv:1: no 'date' column in the header \(found: day,q\)/],
    ['date,q,q\n2000-01-01,1,2\n', /b1\.csv:1: column 'q' appears twice/],
    ['date,q\n2000-01-01,1e39\n', /b1\.csv:2: column 'q': number out of range/],
  ];
  for (const [text, message] of cases) throwsInput(() => readBasin(generic(genericFolder({ 'b1.csv': text })), 'b1'), message);
});

test('a variable the config needs that the CSV or netCDF file lacks is an error naming the basin, the variable and the file', () => {
  const dir = genericFolder({ 'b1.csv': `date,q,rain\n${Array.from({ length: 10 }, (_, i) => `2000-01-${String(i + 1).padStart(2, '0')},1,${i}`).join('\n')}\n` });
  const yaml = [
    'dataset: generic',
    'model: lstm',
    `data_dir: ${dir}`,
    'dynamic_inputs: [rain, temp]',
    'target_variables: [q]',
    `train_basin_file: ${path.join(dir, 'basins.txt')}`,
    `test_basin_file: ${path.join(dir, 'basins.txt')}`,
    'train_start_date: 03/01/2000',
    'train_end_date: 10/01/2000',
    'test_start_date: 03/01/2000',
    'test_end_date: 10/01/2000',
    'seq_length: 2',
    `cache_dir: ${path.join(dir, 'cache')}`,
  ].join('\n');
  const config = parseConfig(yaml, 'config.yml');
  throwsInput(() => loadPeriod(config, ['b1'], 'train'), /basin b1: dynamic input 'temp' is not in the data \(available: q, rain\); read from .*time_series\/b1\.csv/);
  const netcdfConfig = path.join(example, 'netcdf.yml');
  const netcdf = parseConfig(readFileSync(netcdfConfig, 'utf8'), netcdfConfig, repoRoot);
  const withRain = { ...netcdf, dynamic_inputs: ['prcp', 'rain'], cache_dir: path.join(dir, 'cache') };
  throwsInput(() => loadPeriod(withRain, ['01022500'], 'train'), /basin 01022500: dynamic input 'rain' is not in the data \(available: prcp, .*\); read from .*netcdf\/time_series\/01022500\.nc/);
});

test('a basin without a file, a missing folder, and a basin with both a .csv and a .nc file are errors saying what was expected', () => {
  const dir = genericFolder({ 'b1.csv': 'date,q\n2000-01-01,1\n' });
  throwsInput(() => readBasin(generic(dir), 'b2'), /basin b2: no time series file: expected .*time_series\/b2\.csv or b2\.nc there/);
  const empty = tmp('empty');
  throwsInput(() => readBasin(generic(empty), 'b1'), /time_series does not exist: dataset generic expects <data_dir>\/time_series\/<basin>\.csv or <basin>\.nc/);
  writeFileSync(path.join(dir, 'time_series', 'b1.nc'), '');
  throwsInput(() => readBasin(generic(dir), 'b1'), /basin b1: both .*b1\.csv and .*b1\.nc exist/);
});

// ---------------------------------------------------------------------------------------------------------
// attributes

test('attributes: keyed by the first column whatever its name, several files, declared missing codes; a basin absent from a file is an error naming it', () => {
  const dir = genericFolder(
    { 'b1.csv': 'date,q\n2000-01-01,1\n' },
    { 'a.csv': 'basin,area,elev\nb1,10,-99\nb2,20,200\n', 'b.csv': 'id,slope\nb2,0.5\n' },
  );
  const table = loadAttributes(generic(dir, ['-99']), ['b2', 'b1'], ['area', 'elev']);
  assert.deepEqual(Array.from(table.values), [20, 200, 10, NaN]);
  assert.deepEqual(table.missing.map((m) => [m.basin, m.name, m.text]), [['b1', 'elev', '-99']]);
  throwsInput(() => loadAttributes(generic(dir), ['b1'], ['slope']), /basin 'b1' not found in attribute file .*attributes\/b\.csv/);
  throwsInput(() => loadAttributes(generic(dir), ['b1'], ['depth']), /attribute 'depth' not found; searched 2 file\(s\)/);
  assert.deepEqual(Array.from(loadAttributes(generic(dir), ['b1'], ['elev']).values), [-99], 'a number unless declared missing');
  const noAttributes = tmp('noattr');
  mkdirSync(path.join(noAttributes, 'attributes'));
  throwsInput(() => loadAttributes(generic(noAttributes), ['b1'], ['area']), /no attribute CSV files \(\*\.csv\) in .*attributes/);
});

test("missing_values is a config key of dataset generic only", () => {
  const base = [
    'model: lstm',
    'data_dir: /data',
    'dynamic_inputs: [p]',
    'target_variables: [q]',
    'train_basin_file: b.txt',
    'test_basin_file: b.txt',
    'train_start_date: 01/01/2000',
    'train_end_date: 01/02/2000',
    'test_start_date: 01/01/2000',
    'test_end_date: 01/02/2000',
  ];
  const ok = parseConfig(['dataset: generic', "missing_values: [-99, M, '-9999.0']", ...base].join('\n'), 'c.yml');
  assert.deepEqual(ok.missing_values, ['-99', 'M', '-9999.0']);
  throwsInput(() => parseConfig(['dataset: caravan', 'missing_values: [M]', ...base].join('\n'), 'c.yml'), /c\.yml:2: key 'missing_values' is for dataset generic only; the caravan readers use the fixed missing-value rule/);
});

// ---------------------------------------------------------------------------------------------------------
// netCDF files

test('netCDF: a file written by the netCDF-C library (int64 days since 1951, float64, _FillValue, a gap, other dimensions) reads as its CSV twin would', () => {
  const dir = genericFolder({});
  cpSync(path.join(repoRoot, 'test', 'data', 'generic-netcdf', 'netcdf-c.nc'), path.join(dir, 'time_series', 'b1.nc'));
  const s = readBasin(generic(dir), 'b1');
  assert.equal(s.startDay, 10957); // 2000-01-01
  assert.deepEqual(s.variables, ['total_precipitation_sum', 'streamflow']);
  // 2000-01-04 is absent from the file: a gap of missing values; -9999 is the fill value, NaN stays missing.
  assert.deepEqual(Array.from(s.values), [1.5, 0.5, 0, 0.25, 2.25, NaN, NaN, NaN, NaN, 1, 3, 0.75]);
});

test('netCDF: a file that is not netCDF-4, and one without a date variable, are errors naming the file', () => {
  const dir = genericFolder({ 'b1.nc': Buffer.from('CDF\x01\0\0\0\0rest of a classic file', 'latin1'), 'b2.nc': 'date,q\n' });
  throwsInput(() => readBasin(generic(dir), 'b1'), /b1\.nc: a classic netCDF \(netCDF-3\) file; only netCDF-4/);
  throwsInput(() => readBasin(generic(dir), 'b2'), /b2\.nc: not a netCDF-4\/HDF5 file/);
  const withoutDate = genericFolder({});
  cpSync(path.join(repoRoot, 'test', 'data', 'generic-netcdf', 'no-date.nc'), path.join(withoutDate, 'time_series', 'b3.nc'));
  throwsInput(() => readBasin(generic(withoutDate), 'b3'), /b3\.nc: no 'date' or 'time' variable \(found: prcp\)/);
});
