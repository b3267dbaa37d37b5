import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { InputError } from '../src/util/errors.js';
import { runCompare } from '../src/evaluation/compare.js';
import { basinKey, parseModelSpec, readMetricsCsv } from '../src/evaluation/compare-sources.js';
import { formatStatistic, sharedBasins, tableRows } from '../src/evaluation/compare-table.js';
import { expandGlob } from '../src/util/glob.js';
import { repoRoot } from './helpers/tiny-config.js';

const published = path.join(repoRoot, 'test', 'data', 'published');
const file = (model: string, run: string) => path.join(published, `test_metrics_531camels_${model}_${run}.csv`);
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'ealstm-compare-'));

/** The paper's Table 2 rows (NSE*) and p-values, from its published per-basin results. */
const paperModels = [
  `EA-LSTM=${path.join(published, 'test_metrics_531camels_ealstm_seed*.csv')}`,
  `LSTM=${path.join(published, 'test_metrics_531camels_lstm_seed*.csv')}`,
  `EA-LSTM ensemble=${file('ealstm', 'ensemble')}`,
  `LSTM ensemble=${file('lstm', 'ensemble')}`,
];

/** x rounded to `digits` significant digits, as text. */
const sig = (x: number, digits: number) => x.toExponential(digits - 1);

test("compare reproduces the paper's Table 2 (EA-LSTM and LSTM, NSE*) and its Wilcoxon p-values", async () => {
  const out = tmp();
  const result = await runCompare({ models: paperModels, output: out, metrics: ['NSE'] });
  assert.equal(result.basins.length, 531);
  const [ea, lstm, eaEns, lstmEns] = result.rows;
  assert.equal(ea.runs, 8);
  assert.equal(eaEns.runs, 1);
  // Table 2: EA-LSTM NSE* single model 0.67 (± 0.006), median 0.71 (± 0.005), 3 (± 1) failures;
  // REFERENCE.md 7: 0.673397±0.005964, 0.712292±0.004506, 2.750
  assert.equal(formatStatistic('NSE_mean', ea.stats.NSE_mean), '0.673 ± 0.006');
  assert.equal(formatStatistic('NSE_median', ea.stats.NSE_median), '0.712 ± 0.005');
  assert.equal(formatStatistic('NSE_failures', ea.stats.NSE_failures), '2.75 ± 0.97');
  assert.ok(Math.abs((ea.stats.NSE_mean?.value ?? 0) - 0.673397) < 5e-7);
  assert.ok(Math.abs((ea.stats.NSE_mean?.std ?? 0) - 0.005964) < 5e-7);
  // ensemble mean 0.705 / median 0.741 / 2 basins <= 0
  assert.equal(formatStatistic('NSE_mean', eaEns.stats.NSE_mean), '0.705');
  assert.equal(formatStatistic('NSE_median', eaEns.stats.NSE_median), '0.741');
  assert.equal(eaEns.stats.NSE_failures?.value, 2);
  // LSTM NSE*: 0.686619 / 0.731623 / 1.75; ensemble 0.719063 / 0.759361 / 2
  assert.equal(lstm.stats.NSE_mean?.value.toFixed(3), '0.687');
  assert.equal(lstm.stats.NSE_median?.value.toFixed(3), '0.732');
  assert.equal(lstm.stats.NSE_failures?.value, 1.75);
  assert.equal(formatStatistic('NSE_mean', lstmEns.stats.NSE_mean), '0.719');
  assert.equal(formatStatistic('NSE_median', lstmEns.stats.NSE_median), '0.759');
  assert.equal(lstmEns.stats.NSE_failures?.value, 2);

  const single = result.tests.find((t) => t.modelA === 'EA-LSTM' && t.modelB === 'LSTM');
  const ensemble = result.tests.find((t) => t.modelA === 'EA-LSTM ensemble' && t.modelB === 'LSTM ensemble');
  assert.ok(single && ensemble);
  assert.equal(sig(single.pValue, 2), '1.1e-28');
  assert.equal(sig(ensemble.pValue, 2), '2.1e-26');
  assert.equal(sig(single.pValue, 3), '1.15e-28'); // performance.ipynb, cell 12
  assert.equal(sig(ensemble.pValue, 3), '2.11e-26');
  assert.equal(single.cohensD.toFixed(3), '0.055'); // the paper's d for EA-LSTM vs LSTM
  assert.equal(result.tests.length, 6);

  const md = readFileSync(path.join(out, 'table.md'), 'utf8');
  assert.match(md, /\| EA-LSTM \| 8 \| 0\.673 ± 0\.006 \| 0\.712 ± 0\.005 \| 2\.75 ± 0\.97 \|/);
  assert.match(md, /\| EA-LSTM ensemble \| 1 \| 0\.705 \| 0\.741 \| 2 \|/);
  assert.match(md, /\| EA-LSTM \| LSTM \| 531 \| 1\.15e-28 \| 0\.055 \|/);
  assert.match(md, /\| EA-LSTM ensemble \| LSTM ensemble \| 531 \| 2\.11e-26 \|/);
  const csv = readFileSync(path.join(out, 'table.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'model,runs,basins,NSE_mean,NSE_mean_std,NSE_median,NSE_median_std,NSE_failures,NSE_failures_std');
  assert.match(csv[3], /^EA-LSTM ensemble,1,531,0\.7048469265\d*,,0\.7409112165\d*,,2,$/);
  const wil = readFileSync(path.join(out, 'wilcoxon.csv'), 'utf8').trim().split('\n');
  assert.equal(wil[0], 'model_a,model_b,p_value,cohens_d');
  assert.equal(wil.length, 7);
  assert.match(wil[1], /^EA-LSTM,LSTM,1\.149\d*e-28,0\.0545\d*$/);
  // the ECDF figure, SVG and PNG
  const svg = readFileSync(path.join(out, 'ecdf_nse.svg'), 'utf8');
  assert.match(svg, /<svg/);
  assert.match(svg, /EA-LSTM \(run 1 of 8\)/);
  assert.deepEqual([...readFileSync(path.join(out, 'ecdf_nse.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.equal(readFileSync(path.join(out, 'basins.txt'), 'utf8').trim().split('\n').length, 531);
  assert.equal(readFileSync(path.join(out, 'per_basin_nse.csv'), 'utf8').split('\n')[0], 'basin,EA-LSTM,LSTM,EA-LSTM ensemble,LSTM ensemble,note');
});

test('the compare command prints the table and writes its files (the README example)', async () => {
  const out = tmp();
  const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const args = ['--import', 'tsx', cli, 'compare', ...paperModels.flatMap((m) => ['--model', m]), '--metrics', 'NSE', '--output', out, '--no-figure'];
  const run = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /\| EA-LSTM \| 8 \| 0\.673 ± 0\.006 \| 0\.712 ± 0\.005 \| 2\.75 ± 0\.97 \|/);
  assert.ok(existsSync(path.join(out, 'wilcoxon.csv')));
  assert.ok(!existsSync(path.join(out, 'ecdf_nse.svg')));

  const bad = spawnSync(process.execPath, ['--import', 'tsx', cli, 'compare', '--model', `A=${path.join(out, 'nothing*.csv')}`, '--output', out], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /error: model A: the pattern .*nothing\*\.csv matches no file or directory/);
});

test('other metrics: medians per run over the same basins, mean ± std over runs; missing columns show n/a', async () => {
  const dir = tmp();
  const write = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const a1 = write('a1.csv', 'basin,NSE,FHV\n01,0.5,-10\n02,0.7,-20\n03,-0.1,5\n');
  const a2 = write('a2.csv', 'basin,NSE,FHV\n01,0.6,-12\n02,0.8,-22\n03,0.2,\n');
  // a pandas-written file: unnamed index column, lowercase nse, extra statistics, one basin more
  const b = write('b.csv', ',basin,nse,bias\n0,01,0.4,0.1\n1,02,0.5,0.2\n2,03,0.6,0.3\n3,04,0.9,0.0\n');
  const out = path.join(dir, 'out');
  const result = await runCompare({ models: [`A=${a1},${a2}`, `B=${b}`], output: out, metrics: ['FHV'], figure: false });
  assert.deepEqual(result.basins, ['01', '02', '03']);
  const [a, bb] = result.rows;
  // run a2 has no FHV for basin 03, so both runs' FHV medians are over 01 and 02 (run a1 was -10 over all three)
  assert.deepEqual(a.stats.FHV_median?.perRun, [-15, -17]);
  assert.equal(formatStatistic('FHV_median', a.stats.FHV_median), '-16.0 ± 1.0');
  assert.deepEqual(a.stats.NSE_failures?.perRun, [1, 0]);
  assert.equal(bb.stats.FHV_median, null);
  assert.deepEqual(result.coverage.get('FHV')?.used, ['01', '02']);
  const md = readFileSync(path.join(out, 'table.md'), 'utf8');
  assert.match(md, /\| B \| 1 \| 0\.500 \| 0\.500 \| 0 \| n\/a \|/);
  assert.match(md, /B \(4 basins before the intersection\)/);
  assert.ok(md.includes(`FHV medians over 2 of the 3 shared basins; 1 basin without a defined FHV: 03 (A (${a2}): no value in ${a2})`), md);
});

test('model specs, globs and basin ids', async () => {
  assert.deepEqual(parseModelSpec('EA-LSTM NSE=a,b'), { name: 'EA-LSTM NSE', paths: ['a', 'b'] });
  assert.throws(() => parseModelSpec('just/a/path'), /expected NAME=PATH/);
  assert.equal(expandGlob(path.join(published, 'test_metrics_531camels_lstm_seed[1-3]*.csv')).length, 3);
  assert.deepEqual(expandGlob('no/glob/here.csv'), ['no/glob/here.csv']);
  assert.equal(basinKey('camels_01022500'), '01022500');
  assert.equal(basinKey('1022500'), '01022500');
  assert.equal(basinKey('12345678'), '12345678');
});

// ---------------------------------------------------------------------------------------------------------
// bad input: each error names the file and the problem

function check(message: RegExp): (err: Error) => boolean {
  return (err: Error) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  };
}

function assertInputError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, check(message));
}

async function rejectsInputError(fn: () => Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(fn, check(message));
}

test('a metrics CSV without a basin column is an error naming the file', async () => {
  const dir = tmp();
  const f = path.join(dir, 'nobasin.csv');
  writeFileSync(f, 'gauge,NSE\n01022500,0.5\n');
  assertInputError(() => readMetricsCsv(f), /nobasin\.csv: no 'basin' column \(header: gauge,NSE\)/);
  await rejectsInputError(() => runCompare({ models: [`X=${f}`], output: path.join(dir, 'o'), figure: false }), /nobasin\.csv: no 'basin' column/);
});

test('an unparseable number in a metrics CSV is an error naming the file, line and column', async () => {
  const dir = tmp();
  const f = path.join(dir, 'bad.csv');
  writeFileSync(f, 'basin,NSE,FHV\n01022500,0.5,-3\n01031500,0.7x,2\n');
  assertInputError(() => readMetricsCsv(f), /bad\.csv:3: column NSE: '0\.7x' is not a number/);
  writeFileSync(f, 'basin,NSE\n01022500,0.5\n01022500,0.6\n');
  assertInputError(() => readMetricsCsv(f), /bad\.csv:3: basin 01022500 appears twice/);
  writeFileSync(f, 'basin,NSE\n01022500,0.5,1\n');
  assertInputError(() => readMetricsCsv(f), /bad\.csv:2: 3 fields, the header has 2/);
  writeFileSync(f, 'basin,score\n01022500,0.5\n');
  assertInputError(() => readMetricsCsv(f), /bad\.csv: no metric columns/);
  // missing values are fine
  writeFileSync(f, 'basin,NSE,FLV\n01022500,,nan\n');
  const r = readMetricsCsv(f);
  assert.ok(Number.isNaN(r.values.get('01022500')?.NSE));
});

test('models with no basins in common are an error listing each source', async () => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'a.csv'), 'basin,NSE\n01022500,0.5\n');
  writeFileSync(path.join(dir, 'b.csv'), 'basin,NSE\n02053200,0.5\n');
  await rejectsInputError(
    () => runCompare({ models: [`A=${path.join(dir, 'a.csv')}`, `B=${path.join(dir, 'b.csv')}`], output: path.join(dir, 'o'), figure: false }),
    /the models have no basins in common:\n {2}A: .*a\.csv: 1 basins \(01022500\)\n {2}B: .*b\.csv: 1 basins \(02053200\)/,
  );
  assert.ok(!existsSync(path.join(dir, 'o', 'table.md')));
  assert.throws(() => sharedBasins([]), /no models/);
  assert.equal(tableRows([], ['x']).length, 0);
});

test('a run directory without predictions is an error naming it', async () => {
  const dir = tmp();
  const run = path.join(dir, 'run');
  mkdirSync(run);
  writeFileSync(path.join(run, 'config.yml'), 'model: ealstm\n');
  await rejectsInputError(
    () => runCompare({ models: [`R=${run}`], output: path.join(dir, 'o'), figure: false }),
    /run: no test results: neither .*run\/test\/metrics\.csv nor .*run\/test\/predictions\/ exists \(run `ealstm evaluate --run-dir .*run --period test` first\)/,
  );
  // metrics.csv without the asked-for metric and no predictions to compute it from
  mkdirSync(path.join(run, 'test'));
  writeFileSync(path.join(run, 'test', 'metrics.csv'), 'basin,NSE\n01022500,0.5\n');
  await rejectsInputError(
    () => runCompare({ models: [`R=${run}`], output: path.join(dir, 'o'), metrics: ['KGE'], figure: false }),
    /run: no test predictions .* \(.*metrics\.csv has no KGE\)/,
  );
  await rejectsInputError(() => runCompare({ models: ['R=x', 'R=y'], output: dir }), /--model R is given twice/);
  await rejectsInputError(() => runCompare({ models: [`R=${run}`], output: dir, metrics: ['NSE', 'nash'] }), /--metrics: unknown metric 'nash'/);
});

test('a p-value that underflows to 0 is printed with its z', async () => {
  const { formatPValue } = await import('../src/evaluation/compare-table.js');
  assert.equal(formatPValue(0, -40.04), '< 1e-308 (z = -40.0)');
  assert.equal(formatPValue(1.149e-28, -11.1), '1.15e-28');
  assert.equal(formatPValue(0.2081), '0.208');
});
