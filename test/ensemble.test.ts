import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { InputError } from '../src/util/errors.js';
import { runCompare } from '../src/evaluation/compare.js';
import { averageMembers, buildEnsemble } from '../src/evaluation/ensemble.js';
import { readPredictions } from '../src/evaluation/results-files.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { CORE_METRIC_NAMES, calculateMetrics } from '../src/evaluation/metrics.js';
import { runSignatures } from '../src/evaluation/signature-run.js';
import { calculateSignatures, SIGNATURE_NAMES } from '../src/evaluation/signatures.js';
import { train } from '../src/training/trainer.js';
import { dayNumber } from '../src/util/dates.js';
import { demoData, repoRoot, tinyConfig } from './helpers/tiny-config.js';

/** Two tiny runs of one setup with different seeds, trained and evaluated once for all tests here. */
const root = mkdtempSync(path.join(os.tmpdir(), 'ealstm-ensemble-'));
const runs = [11, 22].map((seed) => {
  const { file } = tinyConfig({ seed: String(seed), epochs: '1' });
  const runDir = path.join(root, `tiny_seed${seed}`);
  train(loadConfig(file), { runDir });
  evaluateRun(runDir);
  return runDir;
});
const BASINS = ['01022500', '02053200', '02464000'];

function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));
}

const close = (a: number, b: number, rel = 1e-8) =>
  (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

test('the ensemble qsim is the day-by-day mean of the members, and its metrics are recomputed on it', () => {
  const out = path.join(root, 'ensemble');
  const summary = buildEnsemble({ runDirs: runs, output: out });
  assert.equal(summary.results.length, 3);
  assert.deepEqual(readdirSync(path.join(out, 'test', 'predictions')).sort(), BASINS.map((b) => `${b}.csv`));
  const info = JSON.parse(readFileSync(path.join(out, 'ensemble.json'), 'utf8'));
  assert.deepEqual(info.members, runs);
  assert.equal(info.period, 'test');

  const metrics = csvRows(path.join(out, 'test', 'metrics.csv'));
  assert.deepEqual(metrics[0], ['basin', ...CORE_METRIC_NAMES, 'note']);
  for (const basin of BASINS) {
    const members = runs.map((r) => readPredictions(path.join(r, 'test', 'predictions', `${basin}.csv`)));
    const ens = readPredictions(path.join(out, 'test', 'predictions', `${basin}.csv`));
    assert.equal(ens.dates.length, 182);
    let differs = false;
    for (let i = 0; i < ens.dates.length; i++) {
      assert.equal(ens.dates[i], members[0].dates[i]);
      assert.ok(close(ens.qobs[i], members[0].qobs[i]));
      assert.ok(close(ens.qsim[i], (members[0].qsim[i] + members[1].qsim[i]) / 2), `${basin} day ${i}`);
      if (members[0].qsim[i] !== members[1].qsim[i]) differs = true;
    }
    assert.ok(differs, 'the two seeds give different simulations');
    // the metrics are those of the mean simulation, not the mean of the members' metrics
    const expected = calculateMetrics(ens.qobs, ens.qsim, ens.dates, CORE_METRIC_NAMES);
    const row = metrics.find((r) => r[0] === basin) as string[];
    CORE_METRIC_NAMES.forEach((m, j) => assert.ok(close(Number(row[j + 1] || Number.NaN), expected[m], 1e-9), `${basin} ${m}`));
    const memberNse = members.map((p) => calculateMetrics(p.qobs, p.qsim, p.dates, ['NSE']).NSE);
    assert.notEqual(Number(row[1]).toFixed(6), ((memberNse[0] + memberNse[1]) / 2).toFixed(6));
    // the spread: members' NSE statistics
    const spread = csvRows(path.join(out, 'test', 'spread.csv'));
    assert.deepEqual(spread[0], ['basin', 'members', 'NSE_ensemble', 'NSE_member_mean', 'NSE_member_std', 'NSE_member_min', 'NSE_member_max', 'qsim_std_mean']);
    const s = spread.find((r) => r[0] === basin) as string[];
    assert.equal(s[1], '2');
    assert.ok(close(Number(s[3]), (memberNse[0] + memberNse[1]) / 2, 1e-9));
    assert.ok(close(Number(s[4]), Math.abs(memberNse[0] - memberNse[1]) / 2, 1e-8));
    assert.ok(close(Number(s[5]), Math.min(...memberNse), 1e-9));
    assert.ok(Number(s[7]) > 0);
  }
  const memberRows = csvRows(path.join(out, 'test', 'member_metrics.csv'));
  assert.deepEqual(memberRows[0], ['basin', 'member', 'run', ...CORE_METRIC_NAMES, 'note']);
  assert.equal(memberRows.length, 1 + 2 * 3);
  // the members' metrics equal their own evaluate output
  const own = csvRows(path.join(runs[1], 'test', 'metrics.csv'));
  const m2 = memberRows.find((r) => r[0] === '02053200' && r[1] === '2') as string[];
  const o2 = own.find((r) => r[0] === '02053200') as string[];
  assert.ok(close(Number(m2[3]), Number(o2[1]), 1e-9));
  assert.ok(!readdirSync(out).some((n) => n.startsWith('.')), 'no temporary files left behind');
  assert.ok(summary.meanNse > summary.memberMeanNse.reduce((a, b) => Math.min(a, b)));
});

test('the ensemble command via the CLI, and compare reads run and ensemble directories', async () => {
  const out = path.join(root, 'ens-cli');
  const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', cli, 'ensemble', '--run-dirs', ...runs, '--output', out], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /ensemble of 2 runs, test period, 3 basins: mean NSE -?\d\.\d{3}, median NSE/);
  assert.match(run.stdout, /members: mean NSE -?\d\.\d{3} ± \d\.\d{3}/);

  const cmp = path.join(root, 'cmp');
  const result = await runCompare({ models: [`Tiny=${runs.join(',')}`, `Tiny ensemble=${out}`], output: cmp, metrics: ['NSE', 'KGE'], figure: false });
  assert.deepEqual(result.basins, BASINS);
  const [single, ens] = result.rows;
  assert.equal(single.runs, 2);
  const ensMetrics = csvRows(path.join(out, 'test', 'metrics.csv'));
  const nses = ensMetrics.slice(1).map((r) => Number(r[1]));
  assert.ok(close(ens.stats.NSE_mean?.value ?? 0, nses.reduce((a, b) => a + b) / 3, 1e-9));
  assert.ok(ens.stats.KGE_median);
  // a glob over run directories gives the same model
  const globbed = await runCompare({ models: [`Tiny=${path.join(root, 'tiny_seed*')}`], output: path.join(root, 'cmp2'), figure: false });
  assert.equal(globbed.rows[0].runs, 2);
  assert.deepEqual(globbed.rows[0].stats.NSE_mean, single.stats.NSE_mean);
});

test('signatures writes obs and sim signatures equal to calculateSignatures on the files', () => {
  const runDir = runs[0];
  const result = runSignatures({ runDir });
  assert.equal(result.file, path.join(runDir, 'test', 'signatures.csv'));
  assert.equal(result.precipColumn, 'prcp(mm/day)');
  const rows = csvRows(result.file);
  assert.deepEqual(rows[0], ['basin', ...SIGNATURE_NAMES.flatMap((s) => [`${s}_obs`, `${s}_sim`]), 'note']);
  // six months have no whole water year: hfd_mean and stream_elas are missing, and the note and summary say why
  assert.match(readFileSync(result.file, 'utf8'), /hfd_mean_obs, stream_elas_obs, hfd_mean_sim, stream_elas_sim: no whole water year \(from October 1\) before the last day/);
  assert.match(result.summary, /^signatures of 3 basins; 3 basins without a defined value of some signature: 01022500, 02053200, 02464000 \(.*hfd_mean_obs.*no whole water year/);
  assert.equal(rows.length, 4);
  for (const basin of BASINS) {
    const p = readPredictions(path.join(runDir, 'test', 'predictions', `${basin}.csv`));
    const prcp = forcingPrecipitation(basin, p.dates);
    const obs = calculateSignatures(p.qobs, prcp, p.dates);
    const sim = calculateSignatures(p.qsim, prcp, p.dates);
    const row = rows.find((r) => r[0] === basin) as string[];
    SIGNATURE_NAMES.forEach((s, j) => {
      assert.ok(close(Number(row[1 + 2 * j] || Number.NaN), obs[s], 1e-9), `${basin} ${s} obs: ${row[1 + 2 * j]} vs ${obs[s]}`);
      assert.ok(close(Number(row[2 + 2 * j] || Number.NaN), sim[s], 1e-9), `${basin} ${s} sim`);
    });
    assert.ok(Number.isFinite(obs.runoff_ratio) && obs.q_mean > 0);
  }
  // an ensemble directory takes its data source from its first member
  const ens = runSignatures({ runDir: path.join(root, 'ensemble') });
  assert.equal(ens.results.length, 3);
  assert.throws(() => runSignatures({ runDir, precipColumn: 'rain' }), /basin 01022500: precipitation column 'rain' is not in the data/);
  const cli = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts'), 'signatures', '--run-dir', runs[1]], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.ok(existsSync(path.join(runs[1], 'test', 'signatures.csv')));
});

/** prcp(mm/day) of the demo Daymet forcing file on the given days, read independently of the data layer. */
function forcingPrecipitation(basin: string, dates: Float64Array): Float64Array {
  const huc = basin.startsWith('01') ? '01' : '03';
  const text = readFileSync(path.join(demoData, 'basin_mean_forcing', 'daymet', huc, `${basin}_lump_cida_forcing_leap.txt`), 'utf8');
  const byDay = new Map<number, number>();
  for (const line of text.split('\n').slice(4)) {
    const c = line.trim().split(/\s+/);
    if (c.length < 6) continue;
    byDay.set(dayNumber(Number(c[0]), Number(c[1]), Number(c[2])), Number(c[5]));
  }
  return Float64Array.from(dates, (d) => byDay.get(d) as number);
}

// ---------------------------------------------------------------------------------------------------------
// bad input

test('ensemble members without predictions, with other basins or other dates are errors naming them', () => {
  const out = path.join(root, 'bad-ens');
  const bare = path.join(root, 'bare-run');
  cpSync(runs[0], bare, { recursive: true });
  rmSync(path.join(bare, 'test'), { recursive: true });
  assert.throws(
    () => buildEnsemble({ runDirs: [runs[0], bare], output: out }),
    (e: Error) => e instanceof InputError && /bare-run: no test predictions: .*bare-run\/test\/predictions does not exist \(run `ealstm evaluate/.test(e.message),
  );
  assert.throws(() => buildEnsemble({ runDirs: [runs[0]], output: out }), /at least 2 run directories/);
  assert.throws(() => buildEnsemble({ runDirs: [runs[0], runs[0]], output: out }), /given twice/);
  assert.throws(() => buildEnsemble({ runDirs: runs, output: runs[0] }), /is a run directory/);

  const other = path.join(root, 'other-run');
  cpSync(runs[1], other, { recursive: true });
  rmSync(path.join(other, 'test', 'predictions', '02464000.csv'));
  assert.throws(() => buildEnsemble({ runDirs: [runs[0], other], output: out }), /other-run: no test predictions for basin 02464000, which .* has/);

  // a member whose predictions start a day later
  cpSync(runs[1], other, { recursive: true });
  const f = path.join(other, 'test', 'predictions', '02053200.csv');
  const lines = readFileSync(f, 'utf8').trim().split('\n');
  writeFileSync(f, `${[lines[0], ...lines.slice(2)].join('\n')}\n`);
  assert.throws(
    () => buildEnsemble({ runDirs: [runs[0], other], output: out }),
    /other-run\/test\/predictions\/02053200\.csv: dates 2001-10-02\.\.2002-03-31 \(181 days\) differ from .*02053200\.csv: 2001-10-01\.\.2002-03-31 \(182 days\)/,
  );
  // other observations
  writeFileSync(f, `${lines.map((l, i) => (i === 5 ? l.replace(/^([^,]+),[^,]*,/, '$1,99,') : l)).join('\n')}\n`);
  assert.throws(() => buildEnsemble({ runDirs: [runs[0], other], output: out }), /02053200\.csv: qobs on 2001-10-05 is 99, but .* has/);
  // an unparseable prediction
  writeFileSync(f, `${lines.map((l, i) => (i === 3 ? l.replace(/,[^,]*$/, ',x1') : l)).join('\n')}\n`);
  assert.throws(() => buildEnsemble({ runDirs: [runs[0], other], output: out }), /02053200\.csv:4: column qsim: 'x1' is not a number/);
  writeFileSync(f, 'day,qobs,qsim\n2001-10-01,1,1\n');
  assert.throws(() => readPredictions(f), /02053200\.csv: no 'date' column/);
  assert.ok(!existsSync(path.join(out, 'test')), 'a failed ensemble leaves no period folder');
  assert.throws(() => averageMembers([]), RangeError);
});
