/**
 * Studies (issue 9): the study file, its expansion, k-fold splits, the local executor (pool, resume after a killed
 * runner, failures), collect (ensembles, comparison, grid search). The runs are the tiny studies/demo*.yml.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { expandStudy } from '../src/study/expand.js';
import { estimateWork } from '../src/study/estimate.js';
import { foldFiles, kFoldSplit, writeFoldFiles } from '../src/study/folds.js';
import { busyHolder, runState, trainedEpochs } from '../src/study/state.js';
import { loadStudy } from '../src/study/study-file.js';
import { isProcessRunning, lockFile, readLockHolder } from '../src/run/lock.js';
import { readBasinList } from '../src/data/basin-list.js';
import { runCli, startCli } from './helpers/run-cli.js';
import { collectedTables, runMetrics } from './helpers/study.js';
import { repoRoot } from './helpers/tiny-config.js';

process.chdir(repoRoot); // study files give paths from the current directory, as configs
const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), `ealstm-study-${name}-`));
const env = { EALSTM_CACHE_DIR: tmp('cache') };

function writeStudy(text: string): string {
  const file = path.join(tmp('file'), 'study.yml');
  writeFileSync(file, text);
  return file;
}

describe('study file and plan', () => {
  test('studies/paper.yml expands to Table 2: 3 variants x 2 losses x 8 seeds = 48 runs, with readable names and work', () => {
    const expanded = expandStudy(loadStudy('studies/paper.yml'));
    assert.equal(expanded.runs.length, 48);
    assert.deepEqual(
      expanded.runs.slice(0, 2).map((r) => r.name),
      ['lstm_no_static/loss-MSE/seed111', 'lstm_no_static/loss-MSE/seed222'],
    );
    assert.equal(expanded.runs[47].name, 'ealstm/loss-NSE/seed888');
    const noStatic = expanded.runs[0].config;
    assert.equal(noStatic.model, 'lstm');
    assert.deepEqual(noStatic.static_attributes, []);
    assert.equal(expanded.runs[47].config.static_attributes.length, 27);
    assert.equal(new Set(expanded.runs.map((r) => r.setup)).size, 6);
    // No data needed: 531 basins x 3288 days of 1999-10-01..2008-09-30 (at most: missing targets not known), 30 epochs.
    const work = estimateWork(expanded, { measure: false });
    assert.equal(work.runs[0].samples, 531 * 3288);
    assert.equal(work.runs[0].stepsPerEpoch, Math.ceil((531 * 3288) / 256));
    assert.equal(work.totalSampleEpochs, 48 * 531 * 3288 * 30);
    const plan = runCli(['study', 'plan', 'studies/paper.yml', '--no-timing']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /study paper: 48 runs/);
    assert.match(plan.stdout, /total: 48 runs/);
    if (!existsSync('data/camels_us')) assert.match(plan.stdout, /data folder .*camels_us does not exist/);
  });

  test('studies/appendix_b.yml expands to 7 hidden x 4 dropout x 4 sequence x 2 layers x 4 folds = 896 runs', () => {
    const expanded = expandStudy(loadStudy('studies/appendix_b.yml'));
    assert.equal(expanded.runs.length, 896);
    assert.equal(new Set(expanded.runs.map((r) => r.setup)).size, 224);
    assert.equal(expanded.runs[0].name, 'hidden_size-64_output_dropout-0_seq_length-90_num_layers-1/fold1/seed111');
    assert.equal(expanded.runs[895].config.num_layers, 2);
    assert.equal(expanded.runs[0].config.test_start_date, expanded.runs[0].config.train_start_date, 'held-out basins scored on their calibration period');
    const plan = runCli(['study', 'plan', 'studies/appendix_b.yml', '--no-timing']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /study appendix_b: 896 runs, 4-fold cross-validation \(fold sizes 132, 133, 133, 133\)/);
  });

  test('a misspelt axis, variant key, top-level key or bad value names its line', () => {
    const base = 'name: t\nbase: configs/demo.yml\n';
    assert.throws(() => loadStudy(writeStudy(`${base}axes:\n  hiden_size: [4, 8]\n`)), /study\.yml:4: unknown config key 'hiden_size' \(did you mean 'hidden_size'\?\)/);
    assert.throws(() => loadStudy(writeStudy(`${base}variants:\n  a:\n    modle: lstm\n`)), /study\.yml:5: unknown config key 'modle' \(did you mean 'model'\?\)/);
    assert.throws(() => loadStudy(writeStudy(`${base}axis:\n  seed: [1]\n`)), /study\.yml:3: unknown key 'axis' \(did you mean 'axes'\?\)/);
    assert.throws(() => loadStudy(writeStudy(`${base}axes:\n  model: [lstm, gru]\n`)), /study\.yml:4: key 'model': "gru"/);
    assert.throws(() => loadStudy(writeStudy(`${base}axes:\n  seed: [1, 1]\n`)), /study\.yml:4: axis 'seed' lists a value twice/);
    assert.throws(() => loadStudy(writeStudy(`${base}variants:\n  a:\n    seed: 3\n`)), /study\.yml:5: 'seed' cannot be set by a variant/);
    const cli = runCli(['study', 'plan', writeStudy(`${base}axes:\n  hiden_size: [4]\n`)]);
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /^error: .*study\.yml:4: unknown config key 'hiden_size'/);
  });
});

test('slurm --dry-run writes a readable job-array script and a dependent collection script, and submits nothing', () => {
  const out = tmp('dry');
  const r = runCli(
    ['study', 'run', 'studies/demo.yml', '--executor', 'slurm', '--dry-run', '--max-parallel', '2', '--partition', 'short', '--time', '00:30:00', '--mem', '2G', '--output', out],
    env,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--dry-run: not submitted/);
  const dir = path.join(out, 'slurm', 'submit-001');
  const array = readFileSync(path.join(dir, 'array.sh'), 'utf8');
  for (const line of ['#SBATCH --array=0-3%2', '#SBATCH --partition=short', '#SBATCH --time=00:30:00', '#SBATCH --mem=2G', '#SBATCH --cpus-per-task=1']) {
    assert.ok(array.includes(`${line}\n`), line);
  }
  assert.match(array, /study task \S+demo\.yml --output \S+ --tasks \S+tasks\.txt --index "\$SLURM_ARRAY_TASK_ID" --threads 1\n/);
  assert.deepEqual(readFileSync(path.join(dir, 'tasks.txt'), 'utf8').trim().split('\n'), ['lstm_no_static/seed1', 'lstm_no_static/seed2', 'ealstm/seed1', 'ealstm/seed2']);
  assert.match(readFileSync(path.join(dir, 'collect.sh'), 'utf8'), /study collect \S+demo\.yml --output \S+\n/);
  assert.ok(!existsSync(path.join(out, 'slurm', 'submissions.jsonl')));
});

test('a run whose directory lock is held by a live process is in progress; a dead holder is stale', async () => {
  const expanded = expandStudy(loadStudy('studies/demo.yml', { outputDir: tmp('busy') }));
  const run = expanded.runs[0];
  mkdirSync(run.dir, { recursive: true });
  const sleeper = spawn('sleep', ['30']);
  const holder = { pid: sleeper.pid, host: os.hostname(), command: 'ealstm train', started: new Date().toISOString(), token: 'x' };
  writeFileSync(lockFile(run.dir), JSON.stringify(holder));
  assert.equal(busyHolder(run)?.pid, sleeper.pid);
  const status = runCli(['study', 'status', 'studies/demo.yml', '--output', expanded.study.outputDir]);
  assert.match(status.stdout, new RegExp(`lstm_no_static/seed1 .*in progress: pid ${sleeper.pid}`));
  sleeper.kill('SIGKILL');
  await new Promise((resolve) => sleeper.once('exit', resolve));
  assert.equal(busyHolder(run), null);
});

describe('k-fold cross-validation', () => {
  test('every basin is held out exactly once per setting and never trained on in the run that holds it out', () => {
    const out = tmp('folds');
    const expanded = expandStudy(loadStudy('studies/demo_grid.yml', { outputDir: out }));
    assert.ok(expanded.folds);
    writeFoldFiles(expanded.foldsDir, expanded.folds);
    const all = readBasinList('data/demo/basins.txt');
    for (const setup of new Set(expanded.runs.map((r) => r.setup))) {
      const runs = expanded.runs.filter((r) => r.setup === setup);
      assert.equal(runs.length, 2);
      const heldOut = runs.flatMap((r) => readBasinList(r.config.test_basin_file));
      assert.deepEqual([...heldOut].sort(), [...all].sort(), `${setup}: each basin held out once`);
      for (const r of runs) {
        const train = new Set(readBasinList(r.config.train_basin_file));
        const test = readBasinList(r.config.test_basin_file);
        assert.ok(test.every((b) => !train.has(b)), `${r.name}: a held-out basin is in the training set`);
        assert.equal(train.size + test.length, all.length);
        assert.equal(r.config.test_start_date, r.config.train_start_date);
        assert.equal(r.config.test_end_date, r.config.train_end_date);
      }
    }
    // Sizes differ by at most one, the split depends on the seed only, and a changed split is refused.
    const ids = Array.from({ length: 531 }, (_, i) => String(i));
    const folds = kFoldSplit(ids, 4, 0);
    assert.deepEqual(folds.map((f) => f.length), [132, 133, 133, 133]);
    assert.deepEqual(kFoldSplit(ids, 4, 0), folds);
    assert.notDeepEqual(kFoldSplit(ids, 4, 1), folds);
    assert.throws(() => writeFoldFiles(expanded.foldsDir, [expanded.folds[1], expanded.folds[0]]), /holds another split/);
    assert.ok(existsSync(foldFiles(expanded.foldsDir, 1).heldOut));
  });

  test('a k-fold study runs and its grid table ranks the settings by the median held-out NSE', () => {
    const out = tmp('grid');
    const run = runCli(['study', 'run', 'studies/demo_grid.yml', '--jobs', '2', '--output', out], env);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const collect = runCli(['study', 'collect', 'studies/demo_grid.yml', '--output', out, '--no-run-reports'], env);
    assert.equal(collect.status, 0, collect.stderr);
    const grid = readFileSync(path.join(out, 'results', 'grid.csv'), 'utf8').trim().split('\n');
    assert.equal(grid[0], 'rank,hidden_size,runs_done,runs,basins,NSE_median,NSE_mean,NSE_failures');
    assert.equal(grid.length, 3);
    const rows = grid.slice(1).map((l) => l.split(','));
    assert.deepEqual(rows.map((r) => r[0]), ['1', '2']);
    assert.deepEqual(rows.map((r) => r[1]).sort(), ['4', '8']);
    assert.ok(rows.every((r) => r[2] === '2' && r[3] === '2' && r[4] === '5'), 'each setting: 2 of 2 runs, all 5 basins held out');
    assert.ok(Number(rows[0][5]) >= Number(rows[1][5]), 'ranked by median NSE');
    assert.match(collect.stdout, new RegExp(`Winning setting: hidden_size-${rows[0][1]}, median NSE`));
    assert.match(readFileSync(path.join(out, 'report.html'), 'utf8'), /Grid search/);
  });
});

describe('local executor', () => {
  let reference = '';
  before(() => {
    reference = tmp('reference');
    const r = runCli(['study', 'run', 'studies/demo.yml', '--jobs', '2', '--output', reference], env);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /4 runs, 0 already done, 4 to run with 2 job\(s\) x 1 thread\(s\)/);
    assert.match(r.stdout, /\[4 done, 0 running, 0 failed, 0 left/);
    const c = runCli(['study', 'collect', 'studies/demo.yml', '--output', reference], env);
    assert.equal(c.status, 0, c.stderr);
  });

  test('collect writes ensembles of the seeds, the comparison and a report linking every run report', () => {
    const html = readFileSync(path.join(reference, 'report.html'), 'utf8');
    for (const name of ['lstm_no_static/seed1', 'lstm_no_static/seed2', 'ealstm/seed1', 'ealstm/seed2']) {
      assert.ok(html.includes(`href="runs/${name}/report.html"`), name);
      assert.ok(existsSync(path.join(reference, 'runs', name, 'report.html')));
    }
    const table = readFileSync(path.join(reference, 'results/comparison/table.csv'), 'utf8');
    assert.match(table, /^lstm_no_static,2,5,/m);
    assert.match(table, /^ealstm \(ensemble of 2\),1,5,/m);
    const wilcoxon = readFileSync(path.join(reference, 'results/comparison/wilcoxon.csv'), 'utf8').trim().split('\n');
    assert.equal(wilcoxon.length, 1 + 6, 'all pairs of 4 models');
    assert.ok(existsSync(path.join(reference, 'results/comparison/ecdf_nse.svg')));
    // A second run has nothing to do.
    const again = runCli(['study', 'run', 'studies/demo.yml', '--output', reference], env);
    assert.match(again.stdout, /4 already done, 0 to run/);
  });

  test('SIGKILL of the runner mid-study: a rerun skips finished runs, resumes the interrupted one, same results', async () => {
    const out = tmp('killed');
    const expanded = expandStudy(loadStudy('studies/demo.yml', { outputDir: out }));
    const runner = startCli(['study', 'run', 'studies/demo.yml', '--jobs', '2', '--output', out], env);
    const epochs = expanded.runs[0].config.epochs;
    assert.ok(epochs >= 3, 'studies/demo.yml trains at least 3 epochs (a run killed after its first has a whole one left)');
    const deadline = Date.now() + 240_000;
    let interrupted = expanded.runs.filter(() => false);
    for (;;) {
      const done = expanded.runs.filter((r) => runState(expanded, r) === 'done');
      // Killed after its first epoch, a run has a whole epoch left: its children, which notice the runner's death
      // within 200 ms, cannot finish it in the meantime (after its next-to-last epoch they sometimes did).
      interrupted = expanded.runs.filter((r) => trainedEpochs(r) === 1);
      if (done.length >= 1 && interrupted.length >= 1) break;
      assert.ok(Date.now() < deadline, 'the study never had a finished and a half-trained run at once');
      assert.equal(runner.child.exitCode, null, 'the runner ended before it could be killed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    runner.child.kill('SIGKILL');
    await runner.exited;
    // Its children notice and end too: no run keeps training behind the next runner's back.
    const until = Date.now() + 10_000;
    while (expanded.runs.some((r) => (readLockHolder(lockFile(r.dir)) ? isProcessRunning(readLockHolder(lockFile(r.dir))!.pid) : false))) {
      assert.ok(Date.now() < until, 'a child of the killed runner is still training');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const finished = expanded.runs.filter((r) => runState(expanded, r) === 'done');
    const half = expanded.runs.filter((r) => runState(expanded, r) === 'interrupted');
    assert.ok(finished.length >= 1 && half.length >= 1);
    const stamp = (r: (typeof finished)[number]) =>
      readdirSync(r.dir)
        .filter((f) => f.startsWith('model_epoch') || f === 'test')
        .map((f) => `${f}:${statSync(path.join(r.dir, f)).mtimeMs}`)
        .join(' ');
    const before = new Map([...finished, ...half].map((r) => [r.name, stamp(r)]));
    const epochOne = new Map(half.map((r) => [r.name, statSync(path.join(r.dir, 'model_epoch001.safetensors')).mtimeMs]));

    const rerun = runCli(['study', 'run', 'studies/demo.yml', '--jobs', '2', '--output', out], env);
    assert.equal(rerun.status, 0, rerun.stdout + rerun.stderr);
    assert.match(rerun.stdout, new RegExp(`${finished.length} already done`));
    for (const r of finished) {
      assert.ok(!rerun.stdout.split('\n').some((l) => l.endsWith(` ${r.name}`) && /\] (start|resume)/.test(l)), `${r.name} was started again`);
      assert.equal(stamp(r), before.get(r.name), `${r.name} was redone`);
    }
    for (const r of half) {
      assert.match(rerun.stdout, new RegExp(`resume \\(interrupted, \\d epoch\\(s\\) trained\\) ${r.name}`));
      assert.equal(statSync(path.join(r.dir, 'model_epoch001.safetensors')).mtimeMs, epochOne.get(r.name), `${r.name} started over`);
    }
    assert.deepEqual(runMetrics(out), runMetrics(reference));
    const c = runCli(['study', 'collect', 'studies/demo.yml', '--output', out, '--no-run-reports'], env);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(collectedTables(out), collectedTables(reference));
  });

  test('a failing run is recorded with its error and does not stop the others; status shows it', () => {
    const demo = readFileSync('studies/demo.yml', 'utf8');
    const file = writeStudy(
      demo
        .replace('name: demo', 'name: failing')
        .replace(/epochs: \d+/, 'epochs: 1')
        .replace(/variants:[\s\S]*?axes:/, 'variants:\n  ealstm: {model: ealstm}\n  broken: {model: ealstm, static_attributes: [no_such_attribute]}\naxes:')
        .replace('seed: [1, 2]', 'seed: [1]'),
    );
    const out = tmp('failing');
    const r = runCli(['study', 'run', file, '--jobs', '2', '--output', out], env);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAILED broken\/seed1: .*no_such_attribute/);
    assert.match(r.stdout, /1 run\(s\) failed/);
    assert.match(readFileSync(path.join(out, 'failures', 'broken__seed1.txt'), 'utf8'), /no_such_attribute/);
    const status = runCli(['study', 'status', file, '--output', out], env);
    assert.match(status.stdout, /ealstm\/seed1 +done/);
    assert.match(status.stdout, /broken\/seed1 +failed .*no_such_attribute/);
    assert.match(status.stdout, /2 runs: 1 done, 1 failed/);
  });

  test('jobs x threads may not exceed the cores', () => {
    const r = runCli(['study', 'run', 'studies/demo.yml', '--jobs', String(os.availableParallelism() + 1), '--output', tmp('jobs')], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /exceeds the \d+ cores/);
  });
});
