import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cacheKey,
  defaultCacheDir,
  loadAttributes,
  loadBasinCached,
  loadBasinCachedInfo,
} from '../src/data/cache.js';
import {
  CAMELS_US_FORCING_VARIABLES,
  readCamelsUsAttributes,
  readCamelsUsBasin,
  readCamelsUsForcing,
  readCamelsUsStreamflow,
} from '../src/data/camels-us.js';
import { readCaravanAttributes, readCaravanBasin } from '../src/data/caravan.js';
import { datasetNames, datasetReader } from '../src/data/datasets.js';
import { InputError } from '../src/util/errors.js';
import { dayNumber } from '../src/util/dates.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demoDir = path.join(repoRoot, 'data', 'demo', 'camels_us');
const demoBasins = readFileSync(path.join(repoRoot, 'data', 'demo', 'basins.txt'), 'utf8').split('\n').filter(Boolean);
const caravanDir = path.join(repoRoot, 'test', 'data', 'caravan');
const sharedDir = path.resolve(repoRoot, '../shared/data');
const sharedCamels = path.join(sharedDir, 'camels_us');
const hasShared = existsSync(sharedCamels);

const forcingRel = 'basin_mean_forcing/daymet/01/01022500_lump_cida_forcing_leap.txt';
const streamflowRel = 'usgs_streamflow/01/01022500_streamflow_qc.txt';
const AREA_01022500 = 587675987;
const f32 = Math.fround;

/** An empty temp folder, removed after the test. */
function tempDir(t: { after: (fn: () => void) => void }, prefix = 'ealstm-data-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A temp copy of basin 01022500's demo files (forcing and streamflow) in the NCAR layout. */
function copyDemoBasin(dir: string): void {
  for (const rel of [forcingRel, streamflowRel]) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    copyFileSync(path.join(demoDir, rel), path.join(dir, rel));
  }
}

/** Rewrites a text file line by line. */
function editLines(file: string, edit: (lines: string[]) => string[]): void {
  writeFileSync(file, edit(readFileSync(file, 'latin1').split('\n')).join('\n'), 'latin1');
}

/** Naive reference parse of whitespace-separated text rows. */
function naiveRows(file: string, skip: number): string[][] {
  return readFileSync(file, 'latin1')
    .split('\n')
    .slice(skip)
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/));
}

function throwsInput(fn: () => unknown, ...patterns: (string | RegExp)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `message '${err.message}' lacks '${p}'`);
      else assert.match(err.message, p);
    }
    return true;
  });
}

function sameFloats(a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length);
  assert.deepEqual(new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length));
}

// ---------------------------------------------------------------------------------------------------------------
// CAMELS-US on the bundled demo data

test('demo: basins.txt lists 5 basins, each with forcing and streamflow files', () => {
  assert.equal(demoBasins.length, 5);
  for (const b of demoBasins) assert.match(b, /^\d{8}$/);
});

test('CAMELS-US forcing: header, first and last row against the raw text', () => {
  const r = readCamelsUsForcing(demoDir, '01022500', 'daymet');
  assert.equal(r.file, path.join(demoDir, forcingRel));
  assert.equal(r.latitude, 44.82);
  assert.equal(r.elevation, 133);
  assert.equal(r.areaM2, AREA_01022500);
  const s = r.series;
  assert.equal(s.basin, '01022500');
  assert.deepEqual(s.variables, [...CAMELS_US_FORCING_VARIABLES]);
  assert.equal(s.startDay, dayNumber(1980, 1, 1));
  assert.equal(s.length, dayNumber(2014, 12, 31) - dayNumber(1980, 1, 1) + 1);
  // 1980 01 01 12	31185.97	0.00	178.46	0.00	-0.72	-10.59	271.45
  assert.deepEqual(Array.from(s.values.subarray(0, 7)), [31185.97, 0, 178.46, 0, -0.72, -10.59, 271.45].map(f32));
  // 2014 12 31 12	31104.01	0.00	187.35	0.00	-7.25	-16.56	160.00
  assert.deepEqual(Array.from(s.values.subarray((s.length - 1) * 7)), [31104.01, 0, 187.35, 0, -7.25, -16.56, 160].map(f32));
});

test('CAMELS-US forcing: every value of every demo basin equals a naive parse of the text', () => {
  for (const basin of demoBasins) {
    const r = readCamelsUsForcing(demoDir, basin, 'daymet');
    const rows = naiveRows(r.file, 4);
    assert.equal(rows.length, r.series.length);
    const expected = new Float32Array(rows.length * 7);
    rows.forEach((row, t) => row.slice(4).forEach((v, k) => (expected[t * 7 + k] = Number.parseFloat(v))));
    sameFloats(r.series.values, expected);
  }
});

test('CAMELS-US streamflow: cfs -> mm/day with the header area, -999 -> NaN', () => {
  const q = readCamelsUsStreamflow(demoDir, '01022500', AREA_01022500);
  assert.deepEqual(q.variables, ['QObs(mm/d)']);
  assert.equal(q.startDay, dayNumber(1980, 1, 1));
  // 01022500 1980 01 01   395.00 A  -> by hand: 395 ft3/s * 0.0283168466 m3/ft3 * 86400 s * 1000 mm/m / 587675987 m2
  const hand = (395 * 0.0283168466 * 86400 * 1000) / 587675987;
  assert.ok(Math.abs(hand - 1.644439) < 1e-6);
  assert.equal(q.values[0], f32(hand));
  // the paper's constant gives the same number
  const paper = (28316846.592 * 395 * 86400) / (AREA_01022500 * 1e6);
  assert.equal(q.values[0], f32(paper));
  // 01022500 2014 09 30    46.00 A / 2014 10 01  -999.00 M
  const sep30 = dayNumber(2014, 9, 30) - q.startDay;
  assert.equal(q.values[sep30], f32((46 * 0.0283168466 * 86400 * 1000) / AREA_01022500));
  assert.ok(Number.isNaN(q.values[sep30 + 1]));
  let missing = 0;
  for (const v of q.values) if (Number.isNaN(v)) missing++;
  assert.equal(missing, 92); // 2014-10-01..2014-12-31
});

test('CAMELS-US basin: 7 forcing columns + QObs on the forcing dates, for all 5 demo basins', () => {
  for (const basin of demoBasins) {
    const b = readCamelsUsBasin(demoDir, basin, 'daymet');
    const f = readCamelsUsForcing(demoDir, basin, 'daymet');
    const q = readCamelsUsStreamflow(demoDir, basin, f.areaM2);
    assert.deepEqual(b.variables, [...CAMELS_US_FORCING_VARIABLES, 'QObs(mm/d)']);
    assert.equal(b.startDay, f.series.startDay);
    assert.equal(b.length, f.series.length);
    assert.equal(b.values.length, b.length * 8);
    for (let t = 0; t < b.length; t += 997) {
      for (let k = 0; k < 7; k++) assert.equal(b.values[t * 8 + k], f.series.values[t * 7 + k]);
      assert.ok(Object.is(b.values[t * 8 + 7], q.values[t]));
    }
  }
});

test('CAMELS-US basin: streamflow outside the forcing range is dropped, forcing days without streamflow are NaN', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const qFile = path.join(dir, streamflowRel);
  // keep streamflow from 1980-01-03 to 1980-01-10 only
  editLines(qFile, (lines) => lines.slice(2, 10));
  const b = readCamelsUsBasin(dir, '01022500', 'daymet');
  assert.equal(b.startDay, dayNumber(1980, 1, 1));
  assert.equal(b.length, 12784);
  const q = (day: number) => b.values[day * 8 + 7];
  assert.ok(Number.isNaN(q(0)) && Number.isNaN(q(1)) && Number.isNaN(q(10)) && Number.isNaN(q(b.length - 1)));
  // 01022500 1980 01 03   310.00 A
  assert.equal(q(2), f32((310 * 0.0283168466 * 86400 * 1000) / AREA_01022500));
  assert.ok(!Number.isNaN(q(9)));
});

test('CAMELS-US attributes: any column of the 7 tables, basin order kept, NA -> NaN', () => {
  const a = readCamelsUsAttributes(
    demoDir,
    ['02297310', '01022500', '01013500'],
    ['aridity', 'frac_snow', 'elev_mean', 'huc_02', 'root_depth_50', 'geol_permeability'],
  );
  assert.deepEqual(a.basins, ['02297310', '01022500', '01013500']);
  assert.equal(a.values.length, 18);
  const row = (i: number) => Array.from(a.values.subarray(i * 6, i * 6 + 6));
  const geol = (b: string) =>
    Number(
      readFileSync(path.join(demoDir, 'camels_attributes_v2.0', 'camels_geol.txt'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${b};`))
        ?.split(';')[7],
    );
  // camels_clim: 02297310 aridity 1.0523848479903, frac_snow 0; camels_topo elev_mean 25.71; camels_name huc_02 03
  assert.deepEqual(row(0), [1.0523848479903, 0, 25.71, 3, 0.174124905046572, geol('02297310')]);
  assert.deepEqual(row(1), [0.587356423405076, 0.245259009248271, 92.68, 1, 0.237434541158062, geol('01022500')]);
  // 01013500: root_depth_50 is NA
  assert.ok(Number.isNaN(row(2)[4]));
  assert.equal(row(2)[0], 0.63055865946247);
});

// ---------------------------------------------------------------------------------------------------------------
// Other CAMELS-US forcings, on the shared data

test('CAMELS-US maurer_extended, maurer and nldas readers (shared data)', (t) => {
  if (!hasShared) {
    t.skip(`shared data not found at ${sharedDir}`);
    return;
  }
  const ext = readCamelsUsForcing(sharedCamels, '01022500', 'maurer_extended');
  assert.equal(ext.areaM2, AREA_01022500);
  assert.deepEqual(ext.series.variables, [...CAMELS_US_FORCING_VARIABLES]);
  assert.equal(ext.series.startDay, dayNumber(2000, 1, 1));
  assert.equal(ext.series.length, 1096);
  // 2000	1	1	12	31185.94	0.0	233.66	0.0	-2.09	-14.99	192.89
  assert.deepEqual(Array.from(ext.series.values.subarray(0, 7)), [31185.94, 0, 233.66, 0, -2.09, -14.99, 192.89].map(f32));

  const maurer = readCamelsUsForcing(sharedCamels, '01022500', 'maurer');
  // Year Mnth Day Hr	Dayl(s)	PRCP(mm/day)	SRAD(W/m2)	SWE(mm)	Tmax(C)	Tmin(C)	Vp(Pa) ; 2000 01 01 12	31185.94	0.00	233.66	0.00	-8.49	-8.49	192.89
  assert.deepEqual(Array.from(maurer.series.values.subarray(0, 7)), [31185.94, 0, 233.66, 0, -8.49, -8.49, 192.89].map(f32));

  const nldas = readCamelsUsForcing(sharedCamels, '01022500', 'nldas');
  assert.deepEqual(nldas.series.variables, [...CAMELS_US_FORCING_VARIABLES]);
  assert.equal(nldas.series.startDay, dayNumber(1980, 1, 1));
  assert.equal(nldas.series.length, 12784);
  // 1980 01 01 12	31185.94	0.00	247.36	0.00	-5.69	-5.69	257.60
  assert.deepEqual(Array.from(nldas.series.values.subarray(0, 7)), [31185.94, 0, 247.36, 0, -5.69, -5.69, 257.6].map(f32));
  const rows = naiveRows(nldas.file, 4);
  const last = rows[rows.length - 1].slice(4).map((v) => f32(Number.parseFloat(v)));
  assert.deepEqual(Array.from(nldas.series.values.subarray((nldas.series.length - 1) * 7)), last);

  // a basin on the 3-year maurer_extended range: streamflow (1980-2014 in the file) cut to the forcing dates
  const b = readCamelsUsBasin(sharedCamels, '01022500', 'maurer_extended');
  assert.equal(b.length, 1096);
  const q = readCamelsUsStreamflow(sharedCamels, '01022500', AREA_01022500);
  const off = dayNumber(2000, 1, 1) - q.startDay;
  for (let i = 0; i < b.length; i += 50) assert.ok(Object.is(b.values[i * 8 + 7], q.values[off + i]));
});

// ---------------------------------------------------------------------------------------------------------------
// Caravan

test('Caravan time series: date column, numeric columns, first row against the raw text', () => {
  const s = readCaravanBasin(caravanDir, 'camels_01022500');
  assert.deepEqual(s.variables, [
    'total_precipitation_sum',
    'temperature_2m_mean',
    'potential_evaporation_sum',
    'streamflow',
  ]);
  assert.equal(s.startDay, dayNumber(1999, 1, 1));
  assert.equal(s.length, 1461);
  const text = readFileSync(path.join(caravanDir, 'timeseries/csv/camels/camels_01022500.csv'), 'latin1')
    .split(/\r?\n/)
    .filter(Boolean);
  const expected = new Float32Array(1461 * 4);
  text.slice(1).forEach((l, t) =>
    l
      .split(',')
      .slice(1)
      .forEach((v, k) => (expected[t * 4 + k] = v === '' ? Number.NaN : Number.parseFloat(v))),
  );
  sameFloats(s.values, expected);
});

test('Caravan time series: an empty field is NaN', (t) => {
  const dir = tempDir(t);
  cpSync(caravanDir, dir, { recursive: true });
  const file = path.join(dir, 'timeseries/csv/camels/camels_02297310.csv');
  editLines(file, (lines) => {
    lines[1] = lines[1].replace(/,[^,]*\r$/, ',\r'); // streamflow of 1999-01-01 empty
    lines[2] = lines[2].replace(/^([^,]*),[^,]*,/, '$1,,'); // precipitation of 1999-01-02 empty
    return lines;
  });
  const s = readCaravanBasin(dir, 'camels_02297310');
  assert.ok(Number.isNaN(s.values[3]));
  assert.ok(Number.isNaN(s.values[4]));
  assert.equal(s.values[0], f32(0.15));
});

test('Caravan attributes: merged on gauge_id, same values as the CAMELS tables', () => {
  const names = ['aridity', 'frac_snow', 'p_mean', 'elev_mean', 'root_depth_50'];
  const a = readCaravanAttributes(caravanDir, ['camels_02297310', 'camels_01022500'], names);
  const c = readCamelsUsAttributes(demoDir, ['02297310', '01022500'], names);
  assert.deepEqual(a.basins, ['camels_02297310', 'camels_01022500']);
  assert.deepEqual(Array.from(a.values), Array.from(c.values));
  const viaDispatch = loadAttributes({ dataset: 'caravan', dataDir: caravanDir }, ['camels_01022500'], ['aridity']);
  assert.deepEqual(Array.from(viaDispatch.values), [0.587356423405076]);
});

// ---------------------------------------------------------------------------------------------------------------
// Cache

test('cache: round trip, second load from the cache, nothing written to the data dir', (t) => {
  const cacheDir = tempDir(t, 'ealstm-cache-');
  const options = { dataset: 'camels_us' as const, dataDir: demoDir, forcing: 'daymet' as const, cacheDir };
  const snapshot = () =>
    readdirSync(demoDir, { recursive: true, withFileTypes: true })
      .map((e) => {
        const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
        const st = statSync(p);
        return `${p} ${st.size} ${st.mtimeMs}`;
      })
      .sort()
      .join('\n');
  const before = snapshot();
  const direct = readCamelsUsBasin(demoDir, '01142500', 'daymet');
  const first = loadBasinCachedInfo(options, '01142500');
  assert.equal(first.fromCache, false);
  const second = loadBasinCachedInfo(options, '01142500');
  assert.equal(second.fromCache, true);
  for (const s of [first.series, second.series, loadBasinCached(options, '01142500')]) {
    assert.equal(s.basin, direct.basin);
    assert.equal(s.startDay, direct.startDay);
    assert.equal(s.length, direct.length);
    assert.deepEqual(s.variables, direct.variables);
    sameFloats(s.values, direct.values);
  }
  // layout: <cacheDir>/<key>/<basin>.f32 + .json
  const key = cacheKey(options);
  assert.match(key, /^camels_us-daymet-/);
  const f32File = path.join(cacheDir, key, '01142500.f32');
  const side = JSON.parse(readFileSync(path.join(cacheDir, key, '01142500.json'), 'utf8'));
  assert.equal(side.basin, '01142500');
  assert.equal(side.startDay, direct.startDay);
  assert.equal(side.length, direct.length);
  assert.deepEqual(side.variables, direct.variables);
  assert.equal(side.sources.length, 2);
  for (const s of side.sources) {
    const st = statSync(s.path);
    assert.equal(s.size, st.size);
    assert.equal(s.mtimeMs, st.mtimeMs);
  }
  const bytes = readFileSync(f32File);
  assert.equal(bytes.length, direct.length * 8 * 4);
  assert.equal(bytes.readFloatLE(0), direct.values[0]);
  assert.equal(bytes.readFloatLE(4 * 9), direct.values[9]);
  assert.deepEqual(readdirSync(path.join(cacheDir, key)).sort(), ['01142500.f32', '01142500.json']);
  // the data folder (which may be read-only) is untouched
  assert.equal(snapshot(), before);
  // another data folder or forcing gets another key
  assert.notEqual(cacheKey({ ...options, dataDir: caravanDir }), key);
  assert.notEqual(cacheKey({ ...options, forcing: 'nldas' }), key);
});

test('cache: touching or changing a source file rebuilds the entry', (t) => {
  const dataDir = tempDir(t);
  const cacheDir = tempDir(t, 'ealstm-cache-');
  copyDemoBasin(dataDir);
  const options = { dataset: 'camels_us' as const, dataDir, cacheDir };
  assert.equal(loadBasinCachedInfo(options, '01022500').fromCache, false);
  assert.equal(loadBasinCachedInfo(options, '01022500').fromCache, true);
  // touch the streamflow file
  const qFile = path.join(dataDir, streamflowRel);
  const later = new Date(Date.now() + 5000);
  utimesSync(qFile, later, later);
  assert.equal(loadBasinCachedInfo(options, '01022500').fromCache, false);
  assert.equal(loadBasinCachedInfo(options, '01022500').fromCache, true);
  // change a value: 1980-01-01 395.00 cfs -> 400.00
  editLines(qFile, (lines) => [lines[0].replace('395.00', '400.00'), ...lines.slice(1)]);
  const changed = loadBasinCachedInfo(options, '01022500');
  assert.equal(changed.fromCache, false);
  assert.equal(changed.series.values[7], f32((400 * 0.0283168466 * 86400 * 1000) / AREA_01022500));
  assert.equal(loadBasinCached(options, '01022500').values[7], changed.series.values[7]);
  // a damaged data file is detected (checksum) and rebuilt
  const f32File = path.join(cacheDir, cacheKey(options), '01022500.f32');
  const bytes = readFileSync(f32File);
  bytes.writeFloatLE(123, 0);
  writeFileSync(f32File, bytes);
  const repaired = loadBasinCachedInfo(options, '01022500');
  assert.equal(repaired.fromCache, false);
  assert.equal(repaired.series.values[0], f32(31185.97));
  // no temp files left behind
  assert.deepEqual(readdirSync(path.dirname(f32File)).sort(), ['01022500.f32', '01022500.json']);
});

test('cache: Caravan basins', (t) => {
  const cacheDir = tempDir(t, 'ealstm-cache-');
  const options = { dataset: 'caravan' as const, dataDir: caravanDir, cacheDir };
  const a = loadBasinCachedInfo(options, 'camels_02297310');
  const b = loadBasinCachedInfo(options, 'camels_02297310');
  assert.deepEqual([a.fromCache, b.fromCache], [false, true]);
  sameFloats(a.series.values, b.series.values);
  assert.deepEqual(b.series.variables, readCaravanBasin(caravanDir, 'camels_02297310').variables);
  assert.match(cacheKey(options), /^caravan-/);
});

test('defaultCacheDir: EALSTM_CACHE_DIR, then XDG_CACHE_HOME/ealstm, then ~/.cache/ealstm', () => {
  const saved = { e: process.env.EALSTM_CACHE_DIR, x: process.env.XDG_CACHE_HOME };
  try {
    process.env.EALSTM_CACHE_DIR = '/tmp/some-cache';
    process.env.XDG_CACHE_HOME = '/tmp/xdg';
    assert.equal(defaultCacheDir(), '/tmp/some-cache');
    delete process.env.EALSTM_CACHE_DIR;
    assert.equal(defaultCacheDir(), path.join('/tmp/xdg', 'ealstm'));
    delete process.env.XDG_CACHE_HOME;
    assert.equal(defaultCacheDir(), path.join(os.homedir(), '.cache', 'ealstm'));
  } finally {
    for (const [k, v] of [
      ['EALSTM_CACHE_DIR', saved.e],
      ['XDG_CACHE_HOME', saved.x],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Bad input

test('bad input: truncated forcing file names file and line', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const file = path.join(dir, forcingRel);
  const text = readFileSync(file, 'latin1');
  writeFileSync(file, text.slice(0, text.length - 20), 'latin1'); // cut inside the last row
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), file, ':12788:', 'expected 11 fields', 'truncated');
  // only part of the header
  writeFileSync(file, ' 44.82\n 133.00\n', 'latin1');
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), file, 'truncated file');
});

test('bad input: malformed forcing rows', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const file = path.join(dir, forcingRel);
  const original = readFileSync(file, 'latin1');
  // unparseable number on the 2nd data row (line 6)
  editLines(file, (l) => [...l.slice(0, 5), l[5].replace('\t0.00\t', '\t0.0x\t'), ...l.slice(6)]);
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:6:`, "'prcp(mm/day)'", "'0.0x'");
  // a missing field on line 100
  writeFileSync(file, original, 'latin1');
  editLines(file, (l) => [...l.slice(0, 99), l[99].replace(/\t[^\t]*$/, ''), ...l.slice(100)]);
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:100:`, 'expected 11 fields, found 10');
  // an invalid calendar date
  writeFileSync(file, original, 'latin1');
  editLines(file, (l) => [...l.slice(0, 4), l[4].replace('1980 01 01', '1980 13 01'), ...l.slice(5)]);
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:5:`, 'invalid date');
  // a header without a needed column
  writeFileSync(file, original.replace('vp(Pa)', 'vap(Pa)'), 'latin1');
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:4:`, "no column 'vp(Pa)'");
});

test('bad input: a gap or a duplicate in the dates', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const file = path.join(dir, forcingRel);
  const original = readFileSync(file, 'latin1');
  editLines(file, (l) => [...l.slice(0, 9), ...l.slice(10)]); // drop 1980-01-06 (line 10)
  throwsInput(
    () => readCamelsUsForcing(dir, '01022500', 'daymet'),
    `${file}:10:`,
    'gap in dates',
    'expected 1980-01-06, found 1980-01-07',
  );
  writeFileSync(file, original, 'latin1');
  editLines(file, (l) => [...l.slice(0, 10), l[9], ...l.slice(10)]); // 1980-01-06 twice
  throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:11:`, 'duplicate');
  // streamflow gap
  const qFile = path.join(dir, streamflowRel);
  editLines(qFile, (l) => [...l.slice(0, 30), ...l.slice(31)]);
  throwsInput(() => readCamelsUsStreamflow(dir, '01022500', AREA_01022500), `${qFile}:31:`, 'gap in dates');
  // Caravan gap
  const cdir = tempDir(t);
  cpSync(caravanDir, cdir, { recursive: true });
  const cFile = path.join(cdir, 'timeseries/csv/camels/camels_01022500.csv');
  editLines(cFile, (l) => [...l.slice(0, 60), ...l.slice(62)]);
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:61:`, 'gap in dates', '2 day(s) missing');
});

test('bad input: malformed streamflow and Caravan rows', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const qFile = path.join(dir, streamflowRel);
  editLines(qFile, (l) => [l[0], l[1].replace('350.00', '35O.00'), ...l.slice(2)]);
  throwsInput(() => readCamelsUsStreamflow(dir, '01022500', AREA_01022500), `${qFile}:2:`, 'Q_cfs', "'35O.00'");
  editLines(qFile, (l) => [l[0], l[1].replace('35O.00', '350.00'), l[2].replace(/ A$/, ''), ...l.slice(3)]);
  throwsInput(() => readCamelsUsStreamflow(dir, '01022500', AREA_01022500), `${qFile}:3:`, 'expected 6 fields');

  const cdir = tempDir(t);
  cpSync(caravanDir, cdir, { recursive: true });
  const cFile = path.join(cdir, 'timeseries/csv/camels/camels_01022500.csv');
  const original = readFileSync(cFile, 'latin1');
  editLines(cFile, (l) => [...l.slice(0, 5), l[5].replace(/^([^,]*),[^,]*,/, '$1,abc,'), ...l.slice(6)]);
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:6:`, "'total_precipitation_sum'", "'abc'");
  writeFileSync(cFile, original, 'latin1');
  editLines(cFile, (l) => [...l.slice(0, 5), l[5].replace(/,[^,]*$/, ''), ...l.slice(6)]);
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:6:`, 'expected 5 fields, found 4');
  writeFileSync(cFile, original.slice(0, original.length - 9), 'latin1');
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:1462:`, 'truncated');
  writeFileSync(cFile, original.replace('1999-01-03', '1999/01/03'), 'latin1');
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:4:`, 'YYYY-MM-DD');
});

test('bad input: a basin without data files', (t) => {
  throwsInput(() => readCamelsUsBasin(demoDir, '09999999', 'daymet'), '09999999', 'daymet forcing', 'no file found');
  throwsInput(() => readCamelsUsForcing(demoDir, '01022500', 'nldas'), 'does not exist');
  const dir = tempDir(t);
  copyDemoBasin(dir);
  rmSync(path.join(dir, streamflowRel));
  // Without a streamflow file the basin is its forcing only (predict simulates it; training needs the target).
  assert.deepEqual(readCamelsUsBasin(dir, '01022500', 'daymet').variables, [...CAMELS_US_FORCING_VARIABLES]);
  throwsInput(() => readCaravanBasin(caravanDir, 'camels_09999999'), 'camels_09999999', 'camels_09999999.csv');
  throwsInput(() => readCaravanBasin(caravanDir, 'nosource'), "no '<source>_' prefix");
  const cacheDir = tempDir(t, 'ealstm-cache-');
  throwsInput(() => loadBasinCached({ dataset: 'camels_us', dataDir: demoDir, cacheDir }, '09999999'), '09999999');
  throwsInput(() => loadBasinCached({ dataset: 'camels_us', dataDir: demoDir, cacheDir }, '../x'), 'invalid basin id');
  assert.deepEqual(readdirSync(cacheDir), []);
});

test('bad input: attributes (missing column, non-numeric value, missing basin)', () => {
  throwsInput(
    () => readCamelsUsAttributes(demoDir, ['01022500'], ['aridity', 'no_such_attr']),
    "'no_such_attr'",
    'camels_clim.txt',
    'camels_vege.txt',
  );
  throwsInput(
    () => readCamelsUsAttributes(demoDir, ['01022500'], ['high_prec_timing']),
    'camels_clim.txt',
    "'01022500'",
    "'high_prec_timing'",
    "'son'",
  );
  throwsInput(() => readCamelsUsAttributes(demoDir, ['01022500', '1022500'], ['aridity']), "'1022500'");
  throwsInput(
    () => readCaravanAttributes(caravanDir, ['camels_01022500'], ['no_such_attr']),
    "'no_such_attr'",
    'attributes_camels_v2_camels.csv',
  );
  throwsInput(
    () => readCaravanAttributes(caravanDir, ['camels_01022500'], ['gauge_name']),
    "'camels_01022500'",
    "'gauge_name'",
    'attributes_camels_v2_camels.csv',
  );
  throwsInput(() => readCaravanAttributes(caravanDir, ['camels_01031500'], ['aridity']), "'camels_01031500'");
  throwsInput(() => readCaravanAttributes(caravanDir, ['lamah_1'], ['aridity']), 'attributes', 'lamah');
});

test('bad input: a number beyond the float32 range (1e400, 1e39) names the file and line', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const file = path.join(dir, forcingRel);
  const original = readFileSync(file, 'latin1');
  for (const big of ['1e400', '-1e39', '1'.repeat(40)]) {
    writeFileSync(file, original, 'latin1');
    editLines(file, (l) => [...l.slice(0, 6), l[6].replace('\t0.00\t', `\t${big}\t`), ...l.slice(7)]);
    throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:7:`, "'prcp(mm/day)'", 'out of range', `'${big}'`);
  }
  const cdir = tempDir(t);
  cpSync(caravanDir, cdir, { recursive: true });
  const cFile = path.join(cdir, 'timeseries/csv/camels/camels_01022500.csv');
  editLines(cFile, (l) => [...l.slice(0, 9), l[9].replace(/,[^,]*$/, ',1e400'), ...l.slice(10)]);
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:10:`, "'streamflow'", 'out of range');
  const aFile = path.join(cdir, 'attributes/camels/attributes_camels_v2_camels.csv');
  editLines(aFile, (l) => [l[0], l[1].replace(/,[^,]*$/, ',1e400'), ...l.slice(2)]);
  const lastColumn = readFileSync(aFile, 'utf8').split('\n')[0].trim().split(',').pop() as string;
  throwsInput(() => readCaravanAttributes(cdir, ['camels_01022500'], [lastColumn]), aFile, `'${lastColumn}'`, 'out of range');
});

test('bad input: a last line cut short (no line end, fewer decimals) is an error naming the line', (t) => {
  const dir = tempDir(t);
  copyDemoBasin(dir);
  const file = path.join(dir, forcingRel);
  const original = readFileSync(file, 'latin1');
  assert.ok(original.endsWith('\t160.00\n'));
  // The complete last line without a line end (as in some CAMELS NLDAS files) is read as before.
  writeFileSync(file, original.slice(0, -1), 'latin1');
  const complete = readCamelsUsForcing(dir, '01022500', 'daymet');
  assert.equal(complete.series.length, 12784);
  assert.equal(complete.series.values[complete.series.values.length - 1], 160);
  for (const cut of [2, 3, 4]) {
    writeFileSync(file, original.slice(0, -cut), 'latin1'); // '160.0', '160.', '160'
    throwsInput(() => readCamelsUsForcing(dir, '01022500', 'daymet'), `${file}:12788:`, 'cut short', 'end it with a newline');
  }

  const cdir = tempDir(t);
  cpSync(caravanDir, cdir, { recursive: true });
  const cFile = path.join(cdir, 'timeseries/csv/camels/camels_01022500.csv');
  const cOriginal = readFileSync(cFile, 'latin1');
  assert.ok(cOriginal.endsWith(',1.94\r\n'));
  writeFileSync(cFile, cOriginal.slice(0, -3), 'latin1'); // ...,1.9
  throwsInput(() => readCaravanBasin(cdir, 'camels_01022500'), `${cFile}:1462:`, 'cut short', "'1.9'", "'1.96'");
  writeFileSync(cFile, cOriginal.slice(0, -2), 'latin1'); // complete, without line end
  assert.equal(readCaravanBasin(cdir, 'camels_01022500').length, 1461);

  const aFile = path.join(cdir, 'attributes/camels/attributes_camels_v2_camels.csv');
  const aLines = readFileSync(aFile, 'utf8').replace(/\r?\n$/, '').split(/\r?\n/);
  const previousLast = aLines[aLines.length - 2].split(',').pop() as string;
  const shortLast = previousLast.slice(0, previousLast.indexOf('.') + 2);
  aLines[aLines.length - 1] = aLines[aLines.length - 1].replace(/,[^,]*$/, `,${shortLast}`);
  writeFileSync(aFile, aLines.join('\n'));
  throwsInput(() => readCaravanAttributes(cdir, ['camels_01022500'], ['aridity']), `${aFile}:${aLines.length}:`, 'cut short');
});

test('bad input: a column that appears twice in an attribute table header', (t) => {
  const dir = tempDir(t);
  cpSync(caravanDir, dir, { recursive: true });
  const aFile = path.join(dir, 'attributes/camels/attributes_camels_v2_camels.csv');
  editLines(aFile, (l) => [l[0].replace(/,([^,]*)$/, ',aridity'), ...l.slice(1)]);
  throwsInput(() => readCaravanAttributes(dir, ['camels_01022500'], ['aridity']), `${aFile}:1:`, "column 'aridity' appears twice");
});

test('cache: a read-only cache folder is one warning saying permission denied, and the data still load', (t) => {
  // Permissions do not apply to root: run the loader as an unprivileged user then.
  const asRoot = process.getuid?.() === 0;
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => existsSync(f));
  if (asRoot && !setpriv) {
    t.skip('running as root without setpriv: cannot make a folder unwritable');
    return;
  }
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const cacheDir = path.join(dir, 'cache');
  mkdirSync(cacheDir);
  chmodSync(cacheDir, 0o555);
  const script = path.join(dir, 'load.ts');
  writeFileSync(
    script,
    `import { loadBasinCachedInfo } from ${JSON.stringify(path.join(repoRoot, 'src', 'data', 'cache.ts'))};\n` +
      `const options = { dataset: 'camels_us', dataDir: ${JSON.stringify(demoDir)}, cacheDir: ${JSON.stringify(cacheDir)} };\n` +
      `for (const basin of ['01022500', '01142500']) {\n` +
      `  const r = loadBasinCachedInfo(options, basin);\n` +
      `  console.log(basin, r.fromCache, r.series.length);\n` +
      `}\n`,
  );
  chmodSync(script, 0o644);
  const node = [process.execPath, '--import', 'tsx', script];
  const command = asRoot ? [setpriv as string, '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  const r = spawnSync(command[0], command.slice(1), { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, HOME: dir } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['01022500 false 12784', '01142500 false 12784']);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('cache'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /^warning: basin cache folder .*cache.* is not writable \(permission denied\); continuing without the cache/);
  assert.doesNotMatch(r.stderr, /ENOENT/);
  assert.deepEqual(readdirSync(cacheDir), []);
});

test('datasets: one registry by name; an unknown name is an error listing the known ones', (t) => {
  assert.deepEqual(datasetNames(), ['camels_us', 'caravan', 'generic']);
  throwsInput(() => datasetReader('camels_gb'), "unknown dataset 'camels_gb'", 'camels_us, caravan, generic');
  throwsInput(() => datasetReader('toString'), "unknown dataset 'toString'");
  const cacheDir = tempDir(t, 'ealstm-cache-');
  throwsInput(() => loadBasinCached({ dataset: 'camels_gb', dataDir: demoDir, cacheDir }, '01022500'), "unknown dataset 'camels_gb'");
  throwsInput(() => loadAttributes({ dataset: 'nope', dataDir: demoDir }, ['01022500'], ['aridity']), "unknown dataset 'nope'");
  // The readers behind the names are the ones the cache uses.
  const series = datasetReader('camels_us').readBasin(demoDir, '01022500', 'daymet');
  sameFloats(series.values, readCamelsUsBasin(demoDir, '01022500', 'daymet').values);
  throwsInput(() => datasetReader('camels_us').variant('gridmet'), "unknown CAMELS-US forcing 'gridmet'");
  assert.equal(datasetReader('caravan').variant(undefined), '');
});
