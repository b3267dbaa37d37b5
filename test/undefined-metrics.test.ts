/**
 * One rule for undefined metrics across commands (issue 8, defect 6): a basin with constant observed flow and
 * a one-day test period give NaN metrics with a reason, and evaluate, the report and compare count the same
 * basins, leave out the same ones and say why.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { runCompare } from '../src/evaluation/compare.js';
import { buildEnsemble } from '../src/evaluation/ensemble.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { readMetricsFile } from '../src/evaluation/results-files.js';
import { runSignatures } from '../src/evaluation/signature-run.js';
import { describeNseSummary } from '../src/evaluation/summary.js';
import { writeReport } from '../src/report/html.js';
import { train } from '../src/training/trainer.js';
import { demoData, repoRoot, tinyConfig } from './helpers/tiny-config.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ealstm-undefined-'));
const CONSTANT = '02464000';
const BASINS = ['01022500', '02053200', CONSTANT];

/** The demo data with basin 02464000's discharge constant (100 cfs) over the test period 2001-10-01..2002-03-31. */
function dataWithConstantBasin(): string {
  const data = path.join(root, 'camels_us');
  cpSync(demoData, data, { recursive: true });
  const file = path.join(data, 'usgs_streamflow', '03', `${CONSTANT}_streamflow_qc.txt`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const inTest = (l: string) => {
    const [, y, m] = l.trim().split(/\s+/).map(Number);
    return (y === 2001 && m >= 10) || (y === 2002 && m <= 3);
  };
  writeFileSync(file, lines.map((l) => (l.trim() && inTest(l) ? l.replace(/^(\S+ \d{4} \d\d \d\d)\s+\S+/, '$1   100.00') : l)).join('\n'));
  return data;
}

/** A tiny run on the modified data, trained (1 epoch) and evaluated. */
function evaluatedRun(name: string, overrides: Record<string, string>) {
  const { file } = tinyConfig({ data_dir: data, epochs: '1', hidden_size: '4', learning_rate: '1.0e-3', ...overrides });
  const runDir = path.join(root, name);
  train(loadConfig(file), { runDir });
  return { runDir, summary: evaluateRun(runDir) };
}

const data = dataWithConstantBasin();
const constant = evaluatedRun('constant', {});
const oneDay = evaluatedRun('one-day', { test_start_date: '01/10/2001', test_end_date: '01/10/2001' });
// 100 cfs over the basin's area is 0.4238 mm/day
const CONSTANT_REASON = 'constant observed flow (0.4238 on all 182 days)';
const ONE_DAY_REASON = 'only 1 day with both an observed and a simulated value';

test('evaluate: a constant-flow basin has no NSE, FMS, FLV (empty cells with the reason), and the summary says so', () => {
  const { summary, runDir } = constant;
  assert.deepEqual(summary.nse.used, ['01022500', '02053200']);
  assert.deepEqual(summary.nse.leftOut, [{ basin: CONSTANT, reason: CONSTANT_REASON }]);
  const expectedMean = (summary.results[0].metrics.NSE + summary.results[1].metrics.NSE) / 2;
  assert.ok(Math.abs(summary.meanNse - expectedMean) < 1e-12);
  assert.match(describeNseSummary(summary.nse), new RegExp(`over 2 of 3 basins, basins with NSE <= 0: \\d; 1 basin without a defined NSE: ${CONSTANT} \\(constant observed flow \\(0\\.4238 on all 182 days\\)\\)$`));

  const file = readMetricsFile(path.join(runDir, 'test', 'metrics.csv'));
  const row = file.rows.find((r) => r.basin === CONSTANT);
  assert.ok(row);
  for (const m of ['NSE', 'alpha_nse', 'beta_nse', 'FMS', 'FLV', 'KGE']) {
    assert.ok(Number.isNaN(row.metrics[m]), `${m} is missing, not ${row.metrics[m]}`);
    assert.equal(row.reasons[m], CONSTANT_REASON);
  }
  assert.ok(Number.isFinite(row.metrics.FHV), 'the bias of the highest flows is defined');
  const text = readFileSync(path.join(runDir, 'test', 'metrics.csv'), 'utf8');
  assert.doesNotMatch(text, /Infinity|e\+\d/, 'no -Infinity and no 1e-6-guard artefacts (7e7, -9e10)');
});

test('report, compare and evaluate use the same basins and name the same left-out basin with its reason', async () => {
  const { runDir } = constant;
  const { report } = writeReport(runDir, { maxHydrographs: 1 });
  const html = readFileSync(report, 'utf8');
  const median = constant.summary.medianNse.toFixed(3);
  assert.ok(html.includes(`<th scope="row">median NSE</th><td>${median} <span class="note">(over 2 of 3 basins)</span>`), 'report: median over 2 of 3');
  assert.ok(html.includes(`1 basin without a defined NSE: ${CONSTANT} (${CONSTANT_REASON})`), 'report: the left-out basin and its reason');

  // a second model with an NSE for every basin: compare still takes both models' statistics over the same 2 basins
  const other = path.join(root, 'other.csv');
  writeFileSync(other, `basin,NSE\n${BASINS.map((b, i) => `${b},${0.5 + i / 10}`).join('\n')}\n`);
  const result = await runCompare({ models: [`EA=${runDir}`, `B=${other}`], output: path.join(root, 'compare'), metrics: ['NSE', 'FHV'], figure: false });
  assert.deepEqual(result.basins, BASINS, 'all three are shared');
  assert.deepEqual(result.coverage.get('NSE')?.used, constant.summary.nse.used, 'the NSE statistics use the basins evaluate used');
  for (const row of result.rows) assert.equal(row.basins, 2);
  assert.ok(Math.abs((result.rows[0].stats.NSE_median?.value ?? Number.NaN) - constant.summary.medianNse) < 1e-9, 'the same median as evaluate');
  assert.ok(Math.abs((result.rows[1].stats.NSE_mean?.value ?? Number.NaN) - 0.55) < 1e-12, "model B's mean over the same 2 basins, not its 3");
  assert.equal(result.tests[0].n, 2);
  assert.match(result.markdown, /^# Model comparison \(test period, 2 basins\)/);
  assert.ok(
    result.markdown.includes(`Statistics over the 2 basins that all models share and where every run has a defined NSE (3 shared; 1 basin without a defined NSE: ${CONSTANT} (EA: ${CONSTANT_REASON}))`),
    result.markdown,
  );
  assert.match(readFileSync(path.join(root, 'compare', 'per_basin_nse.csv'), 'utf8'), new RegExp(`\n${CONSTANT},,0\\.7,"?EA: constant observed flow \\(0\\.4238 on all 182 days\\)"?\n`));
  // FHV is defined for the constant-flow basin too: its medians are over all 3, and the table says so
  assert.deepEqual(result.coverage.get('FHV')?.used, BASINS);
  assert.ok(result.markdown.includes('\nFHV medians over all 3 shared basins.\n'), result.markdown);
});

test('a one-day test period: every basin without an NSE, in evaluate, the report and compare alike', async () => {
  const { summary, runDir } = oneDay;
  assert.equal(summary.nse.used.length, 0);
  assert.deepEqual(summary.nse.leftOut.map((l) => l.basin), BASINS);
  assert.ok(summary.nse.leftOut.every((l) => l.reason === ONE_DAY_REASON));
  assert.equal(describeNseSummary(summary.nse), `mean NSE n/a, median NSE n/a over 0 of 3 basins, basins with NSE <= 0: 0; 3 basins without a defined NSE: ${BASINS.join(', ')} (${ONE_DAY_REASON})`);
  const row = readMetricsFile(path.join(runDir, 'test', 'metrics.csv')).rows[0];
  for (const m of ['NSE', 'FHV', 'FMS', 'FLV', 'KGE']) assert.ok(Number.isNaN(row.metrics[m]) && row.reasons[m] === ONE_DAY_REASON, m);

  const html = readFileSync(writeReport(runDir, { maxHydrographs: 1 }).report, 'utf8');
  assert.ok(html.includes('<th scope="row">median NSE</th><td>n/a <span class="note">(over 0 of 3 basins)</span>'));
  assert.ok(html.includes(`3 basins without a defined NSE: ${BASINS.join(', ')} (${ONE_DAY_REASON})`));

  const result = await runCompare({ models: [`EA=${runDir}`], output: path.join(root, 'compare-one-day'), figure: false });
  assert.equal(result.rows[0].basins, 0);
  assert.match(result.markdown, /^# Model comparison \(test period, 0 basins\)/m);
  assert.ok(result.markdown.includes(`3 basins without a defined NSE: ${BASINS.join(', ')} (EA: ${ONE_DAY_REASON})`));
  assert.match(result.markdown, /\| EA \| 1 \| n\/a \| n\/a \| 0 \|/);
});

test('the evaluate command prints the summary with the basins it used and the one it left out', () => {
  const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'evaluate', '--run-dir', constant.runDir], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`median NSE -?\\d\\.\\d{3} over 2 of 3 basins, basins with NSE <= 0: \\d; 1 basin without a defined NSE: ${CONSTANT} \\(constant observed flow`));
});

test('ensemble and signatures follow the same rule: the same basin left out, with its reason', () => {
  const second = evaluatedRun('constant-seed2', { seed: '6' });
  const ens = buildEnsemble({ runDirs: [constant.runDir, second.runDir], output: path.join(root, 'ensemble') });
  assert.deepEqual(ens.nse.used, ['01022500', '02053200']);
  assert.deepEqual(ens.nse.leftOut, [{ basin: CONSTANT, reason: CONSTANT_REASON }]);
  assert.ok(Number.isFinite(ens.meanNse) && ens.memberMeanNse.every(Number.isFinite));
  const row = readMetricsFile(path.join(root, 'ensemble', 'test', 'metrics.csv')).rows.find((r) => r.basin === CONSTANT);
  assert.equal(row?.reasons.NSE, CONSTANT_REASON);
  assert.match(readFileSync(path.join(root, 'ensemble', 'test', 'member_metrics.csv'), 'utf8'), /NSE, alpha_nse, beta_nse, FMS, FLV, KGE: constant observed flow/);

  // constant observed flow has no day above 9 times its median: high_q_dur_obs is missing, with that reason
  const sig = runSignatures({ runDir: constant.runDir });
  const constantSig = sig.results.find((r) => r.basin === CONSTANT);
  assert.ok(constantSig && Number.isNaN(constantSig.obs.high_q_dur));
  assert.equal(constantSig.reasons.high_q_dur_obs, 'no day above 9 times the median flow');
  assert.match(sig.summary, /^signatures of 3 basins; 3 basins without a defined value of some signature: /);
  assert.doesNotMatch(readFileSync(sig.file, 'utf8'), /Infinity/);
});
