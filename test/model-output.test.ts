import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { InputError } from '../src/util/errors.js';
import { runCompare } from '../src/evaluation/compare.js';
import { predictionsCsv } from '../src/evaluation/results-files.js';
import { calculateMetrics } from '../src/evaluation/metrics.js';
import { findModelOutputFiles, readModelOutput } from '../src/evaluation/model-output.js';
import { dayNumber } from '../src/util/dates.js';
import { repoRoot } from './helpers/tiny-config.js';

const modelOutput = path.join(repoRoot, 'test', 'data', 'model_output');
const daymet = path.join(modelOutput, 'flow_timeseries', 'daymet');
const f01031500 = path.join(daymet, '01', '01031500_05_model_output.txt');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'ealstm-sacsma-'));

test('the SAC-SMA reader parses the CAMELS model output (header, dates, -999 as missing)', () => {
  const out = readModelOutput(f01031500);
  assert.equal(out.basin, '01031500');
  assert.equal(out.seed, '05');
  assert.equal(out.length, 365);
  assert.equal(out.startDay, dayNumber(2000, 10, 1));
  assert.deepEqual(Object.keys(out.columns), ['YR', 'MNTH', 'DY', 'HR', 'SWE', 'PRCP', 'RAIM', 'TAIR', 'PET', 'ET', 'MOD_RUN', 'OBS_RUN']);
  // first data row: 2000 10 01 12 ... MOD_RUN OBS_RUN
  const first = readFileSync(f01031500, 'utf8').split('\n')[1].trim().split(/\s+/).map(Number);
  assert.equal(out.columns.MOD_RUN[0], first[10]);
  assert.equal(out.columns.OBS_RUN[0], first[11]);
  assert.equal(out.columns.PRCP[0], first[5]);
  const files = findModelOutputFiles(modelOutput);
  assert.deepEqual([...files.keys()].sort(), ['01031500', '13331500']);
  assert.equal(files.get('13331500')?.length, 2);
  assert.deepEqual(findModelOutputFiles(modelOutput, '48').get('13331500')?.map((f) => path.basename(f)), ['13331500_48_model_output.txt']);
  assert.equal(findModelOutputFiles(modelOutput, '5').size, 2, "seed 5 matches the files' 05");
});

/** A run-like directory whose predictions carry the observations (OBS_RUN) of some days, for scoring. */
function observationRun(days: { basin: string; from: number; to: number }[]): string {
  const dir = tmp();
  const pred = path.join(dir, 'obsrun', 'test', 'predictions');
  mkdirSync(pred, { recursive: true });
  for (const { basin, from, to } of days) {
    const out = readModelOutput(path.join(daymet, basin.startsWith('01') ? '01' : '17', `${basin}_05_model_output.txt`));
    const dates: number[] = [];
    const qobs: number[] = [];
    const qsim: number[] = [];
    for (let d = from; d <= to; d++) {
      dates.push(d);
      qobs.push(out.columns.OBS_RUN[d - out.startDay] ?? Number.NaN);
      qsim.push(1);
    }
    writeFileSync(path.join(pred, `${basin}.csv`), predictionsCsv(dates, qobs, qsim));
  }
  return path.join(dir, 'obsrun');
}

test('compare scores SAC-SMA output on the reference run\'s observation days (one seed, or the mean over seeds)', async () => {
  const from = dayNumber(2001, 1, 1);
  const to = dayNumber(2001, 6, 30);
  const run = observationRun([
    { basin: '01031500', from, to },
    { basin: '13331500', from, to },
  ]);
  const out = path.join(path.dirname(run), 'cmp');
  const result = await runCompare({
    models: [`Obs run=${run}`, `SAC-SMA=sacsma:${modelOutput}`],
    output: out,
    metrics: ['NSE', 'KGE'],
    figure: false,
  });
  assert.deepEqual(result.basins, ['01031500', '13331500']);
  const sac = result.models[1].runs[0].values;
  const slice = (file: string, column: string) => {
    const o = readModelOutput(path.join(daymet, file));
    return Float64Array.from({ length: to - from + 1 }, (_, i) => o.columns[column][from - o.startDay + i]);
  };
  const dates = Float64Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const obs01 = slice('01/01031500_05_model_output.txt', 'OBS_RUN');
  const expected01 = calculateMetrics(obs01, slice('01/01031500_05_model_output.txt', 'MOD_RUN'), dates, ['NSE', 'KGE']);
  assert.ok(Math.abs((sac.get('01031500')?.NSE ?? 0) - expected01.NSE) < 1e-9);
  assert.ok(Math.abs((sac.get('01031500')?.KGE ?? 0) - expected01.KGE) < 1e-9);
  // 13331500 has seeds 05 and 48: without '#SEED' their day-by-day mean is scored
  const obs13 = slice('17/13331500_05_model_output.txt', 'OBS_RUN');
  const m05 = slice('17/13331500_05_model_output.txt', 'MOD_RUN');
  const m48 = slice('17/13331500_48_model_output.txt', 'MOD_RUN');
  const mean = m05.map((v, i) => (v + m48[i]) / 2);
  assert.ok(Math.abs((sac.get('13331500')?.NSE ?? 0) - calculateMetrics(obs13, mean, dates, ['NSE']).NSE) < 1e-9);
  // with '#48' only that seed (which exists for 13331500 only, so the shared basins shrink to it)
  const with48 = await runCompare({ models: [`Obs run=${run}`, `SAC-SMA 48=sacsma:${modelOutput}#48`], output: out, figure: false });
  assert.deepEqual(with48.basins, ['13331500']);
  const only48 = with48.models[1].runs[0].values;
  assert.ok(Math.abs((only48.get('13331500')?.NSE ?? 0) - calculateMetrics(obs13, m48, dates, ['NSE']).NSE) < 1e-9);
  assert.ok(Number.isFinite(expected01.NSE) && expected01.NSE > 0);
  assert.match(result.markdown, /\| SAC-SMA \| 1 \| -?\d\.\d{3} \|/);
});

test('a simulation file with other dates than the observations is an error naming the file and both ranges', async () => {
  // observations from 2001-08-01 to 2001-10-31; the trimmed files end on 2001-09-30
  const run = observationRun([{ basin: '01031500', from: dayNumber(2001, 8, 1), to: dayNumber(2001, 10, 31) }]);
  await assert.rejects(
    () => runCompare({ models: [`SAC-SMA=sacsma:${modelOutput}#05`], obsFrom: run, output: path.join(run, 'o'), figure: false }),
    (e: Error) =>
      e instanceof InputError &&
      /01031500_05_model_output\.txt: its dates 2000-10-01\.\.2001-09-30 do not cover the observation days of basin 01031500 \(.*01031500\.csv: 2001-08-01\.\.2001-10-31; first day missing: 2001-10-01\)/.test(
        e.message,
      ),
  );
  // no observations at all
  await assert.rejects(
    () => runCompare({ models: [`SAC-SMA=sacsma:${modelOutput}`], output: path.join(run, 'o'), figure: false }),
    /sacsma:.*: SAC-SMA output is scored against observations from a run: give --obs-from RUN_DIR/,
  );
  // no shared basins with the observations
  const other = observationRun([{ basin: '13331500', from: dayNumber(2001, 1, 1), to: dayNumber(2001, 1, 31) }]);
  await assert.rejects(
    () => runCompare({ models: [`S=sacsma:${path.join(daymet, '01')}`], obsFrom: other, output: path.join(other, 'o'), figure: false }),
    /none of its 1 basins \(01031500\) has observations in the reference run \(13331500\)/,
  );
  await assert.rejects(() => runCompare({ models: [`S=sacsma:${modelOutput}#5x`], obsFrom: other, output: other }), /the seed after '#' must be a number/);
  await assert.rejects(() => runCompare({ models: [`S=sacsma:${modelOutput}#77`], obsFrom: other, output: other }), /no <gauge>_<seed>_model_output\.txt files for seed 77/);
});

test('a malformed SAC-SMA file is an error naming the file and line', () => {
  const dir = tmp();
  const lines = readFileSync(f01031500, 'utf8').split('\n');
  const write = (text: string) => {
    const f = path.join(dir, '01031500_05_model_output.txt');
    writeFileSync(f, text);
    return f;
  };
  assert.throws(() => readModelOutput(write(['YR MNTH DY HR SWE PRCP', ...lines.slice(1)].join('\n'))), /01031500_05_model_output\.txt: no 'MOD_RUN' column in the header/);
  assert.throws(() => readModelOutput(write([...lines.slice(0, 3), ...lines.slice(4)].join('\n'))), /_model_output\.txt:4: 2000-10-04 follows 2000-10-02; the rows must be consecutive days/);
  assert.throws(() => readModelOutput(write([lines[0], lines[1].replace(/\S+$/, 'abc'), ...lines.slice(2)].join('\n'))), /_model_output\.txt:2: column OBS_RUN: 'abc' is not a number/);
  assert.throws(() => readModelOutput(write([lines[0], lines[1].replace(/^2000 10 01/, '2000 02 30')].join('\n'))), /:2: 2000-02-30 is not a date/);
  assert.throws(() => readModelOutput(write(lines[0])), /no data rows/);
  assert.throws(() => findModelOutputFiles(path.join(dir, 'nope')), /not a directory/);
});
