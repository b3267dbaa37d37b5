/**
 * Run directory safety: a run directory is never reused or overwritten by `train`, one process at a time writes
 * into it (lock), a resumed run is checked against its fingerprint, and invalid settings are found before the
 * first byte is written. CLI-level behaviour is driven through the real CLI in child processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { writeReport } from '../src/report/html.js';
import { checkScalerUnchanged } from '../src/run/fingerprint.js';
import { acquireLock, LOCK_FILE } from '../src/run/lock.js';
import { createStaging } from '../src/run/publish.js';
import { readScaler } from '../src/run/run-dir.js';
import { isReportStale } from '../src/run/stale-report.js';
import { train } from '../src/training/trainer.js';
import { InputError } from '../src/util/errors.js';
import { assertUserError, folderSnapshot, runCli, startCli, waitForFile } from './helpers/run-cli.js';
import { demoData, tinyConfig } from './helpers/tiny-config.js';

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `ealstm-${prefix}-`));

// ---------------------------------------------------------------------------------------------------------
// defect 2: a directory holding a run (or a user's config.yml) is never trained into

test('train refuses a run directory whose early checkpoints were deleted, and leaves it byte-for-byte unchanged', () => {
  const { dir, file } = tinyConfig({ epochs: '2' });
  const runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });
  // Before: only model_epoch001 was checked, so this directory was trained into and `evaluate` then took the old
  // run's epoch-2 weights with the new config and scaler.
  rmSync(path.join(runDir, 'model_epoch001.safetensors'));
  rmSync(path.join(runDir, 'optimizer_state_epoch001.safetensors'));
  const before = folderSnapshot(runDir);
  const r = runCli(['train', '--config', file, '--run-dir', runDir]);
  assertUserError(r, /run directory .*run already holds config\.yml, model_epoch002\.safetensors, optimizer_state_epoch002\.safetensors, run\.json, \.\.\.; use --resume/);
  assert.deepEqual(folderSnapshot(runDir), before);
});

test("train never writes into a folder with a user's config.yml, a scaler, any checkpoint or a log", () => {
  const { dir, file } = tinyConfig({ epochs: '1' });
  // The user keeps the config in the folder they name as the run directory.
  const own = path.join(dir, 'project');
  mkdirSync(own);
  cpSync(file, path.join(own, 'config.yml'));
  const before = folderSnapshot(own);
  assertUserError(runCli(['train', '--config', path.join(own, 'config.yml'), '--run-dir', own]), /project already holds config\.yml; use --resume/);
  assert.deepEqual(folderSnapshot(own), before);

  for (const name of ['scaler.json', 'model_epoch007.safetensors', 'optimizer_state_epoch003.safetensors', 'train_log.jsonl', 'test']) {
    const runDir = tmp('reuse');
    if (name === 'test') mkdirSync(path.join(runDir, name));
    else writeFileSync(path.join(runDir, name), 'the user data\n');
    const snapshot = folderSnapshot(runDir);
    assert.throws(
      () => train(loadConfig(file), { runDir }),
      (err: Error) => err instanceof InputError && err.message.includes(`already holds ${name}`),
      name,
    );
    assert.deepEqual(folderSnapshot(runDir), snapshot, name);
  }
  // Unrelated files do not make a run directory: training there works.
  const notes = tmp('notes');
  writeFileSync(path.join(notes, 'README.txt'), 'my notes\n');
  train(loadConfig(file), { runDir: notes });
  assert.ok(existsSync(path.join(notes, 'model_epoch001.safetensors')));
  assert.equal(readFileSync(path.join(notes, 'README.txt'), 'utf8'), 'my notes\n');
});

test('train into a path that is a file, or below a file, is an error naming it', () => {
  const { dir, file } = tinyConfig({ epochs: '1' });
  const aFile = path.join(dir, 'a-file');
  writeFileSync(aFile, 'x\n');
  assertUserError(runCli(['train', '--config', file, '--run-dir', aFile]), /a-file.* is a file, not a (directory|folder)/);
  assertUserError(runCli(['train', '--config', file, '--run-dir', path.join(aFile, 'run')]), /a-file.*(a part of its path is a file|is a file, not a)/);
  assert.equal(readFileSync(aFile, 'utf8'), 'x\n');
});

// ---------------------------------------------------------------------------------------------------------
// defect 3: one writer per run directory

test('a lock held by this process refuses a second holder naming the pid; another host is refused; release removes only its own lock', () => {
  const dir = tmp('lock');
  const lock = acquireLock(dir, 'evaluate');
  assert.throws(
    () => acquireLock(dir, 'train'),
    (err: Error) => err instanceof InputError && err.message.includes(`is in use by pid ${process.pid} on ${os.hostname()}`) && /train cannot run/.test(err.message),
  );
  lock.release();
  assert.ok(!existsSync(path.join(dir, LOCK_FILE)));
  assert.deepEqual(readdirSync(dir), [], 'no temporary files left behind');

  // A lock of another machine cannot be checked: refused, saying which file to delete.
  const foreign = { pid: 1, host: 'elsewhere.example', command: 'ealstm train', started: '2026-01-01T00:00:00Z', token: 'x' };
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(foreign));
  assert.throws(() => acquireLock(dir, 'evaluate'), /locked by pid 1 on elsewhere\.example .*delete .*\.ealstm\.lock/);
  // A damaged lock file is an error, not silently ignored.
  writeFileSync(path.join(dir, LOCK_FILE), '{"pid":');
  assert.throws(() => acquireLock(dir, 'evaluate'), /\.ealstm\.lock: not a valid lock file/);

  // A stale lock (dead pid on this host) is taken over with a note; the old holder's release no longer removes it.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ ...foreign, pid: dead, host: os.hostname() }));
  const notes: string[] = [];
  const taken = acquireLock(dir, 'evaluate', (n) => notes.push(n));
  assert.match(notes.join('\n'), new RegExp(`took over a stale lock in .*: its holder, pid ${dead} on `));
  assert.equal(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  taken.release();
  assert.ok(!existsSync(path.join(dir, LOCK_FILE)));

  // Temporary files of killed writers are removed by the next holder; a live process's are not.
  const leftovers = [`.ealstm.lock.${dead}.0a1b.tmp`, `.ealstm.lock.stale.${dead}.9f`, `.config.yml.${dead}.tmp`];
  const live = `.train_log.jsonl.${process.ppid}.tmp`;
  for (const name of [...leftovers, live, 'notes.txt']) writeFileSync(path.join(dir, name), 'x');
  acquireLock(dir, 'evaluate').release();
  assert.deepEqual(readdirSync(dir).sort(), [live, 'notes.txt'].sort());
});

test('two trains on one run directory: the second is refused naming the first; a killed holder leaves a stale lock that the next run takes over', async () => {
  const { dir, file } = tinyConfig({ epochs: '1' });
  const runDir = path.join(dir, 'run');
  const signal = path.join(dir, 'paused');
  // The first train stops right after taking the lock, before it writes anything.
  const first = startCli(['train', '--config', file, '--run-dir', runDir], { EALSTM_TEST_PAUSE_AT: 'train:locked', EALSTM_TEST_PAUSE_FILE: signal });
  await waitForFile(signal, first);
  const pid = first.child.pid as number;
  assert.equal(JSON.parse(readFileSync(path.join(runDir, LOCK_FILE), 'utf8')).pid, pid);
  const second = runCli(['train', '--config', file, '--run-dir', runDir]);
  assertUserError(second, new RegExp(`run is in use by pid ${pid} on .*ealstm train --config .*; train cannot run`));
  assert.deepEqual(readdirSync(runDir), [LOCK_FILE], 'the refused process wrote nothing');

  first.child.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  const third = runCli(['train', '--config', file, '--run-dir', runDir]);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, new RegExp(`note: took over a stale lock in .*run: its holder, pid ${pid} on .* no longer runs`));
  assert.ok(existsSync(path.join(runDir, 'model_epoch001.safetensors')));
  assert.ok(!existsSync(path.join(runDir, LOCK_FILE)), 'the lock is released at the end');
});

// ---------------------------------------------------------------------------------------------------------
// defect 7: --resume

test('--resume refuses an edited config.yml or scaler.json naming what changed, rejects --config and --seed, and says when a run is complete', () => {
  const { dir, file } = tinyConfig({ epochs: '2' });
  const runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });

  const finished = folderSnapshot(runDir);
  const done = runCli(['train', '--resume', '--run-dir', runDir]);
  assert.equal(done.status, 0, done.stderr);
  assert.match(done.stdout, /run directory .*run is already complete \(2 epochs trained\); nothing to do/);
  assert.doesNotMatch(done.stdout, /resuming/);
  assert.deepEqual(folderSnapshot(runDir), finished);

  assertUserError(runCli(['train', '--resume', '--run-dir', runDir, '--config', file]), /--config cannot be combined with --resume/);
  assertUserError(runCli(['train', '--resume', '--run-dir', runDir, '--seed', '3']), /--seed cannot be combined with --resume/);

  // As a run killed in epoch 2 leaves it (training.test.ts kills one for real).
  rmSync(path.join(runDir, 'model_epoch002.safetensors'));
  rmSync(path.join(runDir, 'optimizer_state_epoch002.safetensors'));
  const configFile = path.join(runDir, 'config.yml');
  const original = readFileSync(configFile, 'utf8');
  writeFileSync(configFile, original.replace('train_end_date: 30/09/2001', 'train_end_date: 31/03/2001').replace('hidden_size: 6', 'hidden_size: 8'));
  const edited = folderSnapshot(runDir);
  assertUserError(
    runCli(['train', '--resume', '--run-dir', runDir]),
    /run\/config\.yml was edited after the run was created: hidden_size \(was 6, now 8\); train_end_date \(was "30\/09\/2001", now "31\/03\/2001"\)/,
  );
  assert.deepEqual(folderSnapshot(runDir), edited);

  writeFileSync(configFile, original);
  const scalerFile = path.join(runDir, 'scaler.json');
  const scaler = readFileSync(scalerFile, 'utf8');
  writeFileSync(scalerFile, scaler.replace(/"target_mean": [\d.]+/, '"target_mean": 1.5'));
  assertUserError(runCli(['train', '--resume', '--run-dir', runDir]), /scaler\.json was changed after the run was created/);

  writeFileSync(scalerFile, scaler);
  const resumed = runCli(['train', '--resume', '--run-dir', runDir, '--threads', '1']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming at epoch 2/);
  assert.ok(existsSync(path.join(runDir, 'model_epoch002.safetensors')));

  // A run made before fingerprints existed resumes, saying what cannot be checked.
  rmSync(path.join(runDir, 'run.json'));
  rmSync(path.join(runDir, 'model_epoch002.safetensors'));
  rmSync(path.join(runDir, 'optimizer_state_epoch002.safetensors'));
  const old = runCli(['train', '--resume', '--run-dir', runDir]);
  assert.equal(old.status, 0, old.stderr);
  assert.match(old.stderr, /note: .*run has no run\.json \(made by an older version\): edits of its config\.yml cannot be detected/);
});

test('a resumed run whose data now gives another scaler is refused, naming the statistics that differ', () => {
  const { dir, file } = tinyConfig({ epochs: '1' });
  const runDir = path.join(dir, 'run');
  train(loadConfig(file), { runDir });
  const stored = readScaler(runDir);
  checkScalerUnchanged(runDir, stored, structuredClone(stored));
  const fitted = { ...structuredClone(stored), input_mean: stored.input_mean.map((v, i) => (i === 0 ? v + 0.5 : v)) };
  assert.throws(() => checkScalerUnchanged(runDir, stored, fitted), /scaler\.json: the training data changed since the run was created \(the scaler fitted now differs: input_mean\[0\]/);
});

// ---------------------------------------------------------------------------------------------------------
// defect 9: everything is checked before the first byte is written

/** A copy of the demo data whose attribute p_mean of basin 01022500 is an empty cell. */
function dataWithBlankAttribute(): string {
  const root = tmp('blank-attr');
  for (const sub of ['basin_mean_forcing', 'usgs_streamflow']) symlinkSync(path.join(demoData, sub), path.join(root, sub));
  cpSync(path.join(demoData, 'camels_attributes_v2.0'), path.join(root, 'camels_attributes_v2.0'), { recursive: true });
  const clim = path.join(root, 'camels_attributes_v2.0', 'camels_clim.txt');
  writeFileSync(clim, readFileSync(clim, 'utf8').replace(/^01022500;[^;]+;/m, '01022500;;'));
  return root;
}

const invalidSetups: { name: string; overrides: () => Record<string, string>; message: RegExp }[] = [
  { name: 'a learning_rate schedule without epoch 1', overrides: () => ({ learning_rate: '{5: 1.0e-3}' }), message: /learning_rate/ },
  { name: 'an EA-LSTM without static_attributes', overrides: () => ({ static_attributes: '[]' }), message: /static_attributes/ },
  { name: 'a hidden_size too large for memory', overrides: () => ({ hidden_size: '100000000' }), message: /hidden_size/ },
  { name: 'a blank attribute cell of a training basin', overrides: () => ({ data_dir: dataWithBlankAttribute() }), message: /01022500.*p_mean|p_mean.*01022500/ },
];

for (const setup of invalidSetups) {
  test(`${setup.name} is an error before the run directory is created`, () => {
    const { dir, file } = tinyConfig(setup.overrides());
    const runDir = path.join(dir, 'run');
    assertUserError(runCli(['train', '--config', file, '--run-dir', runDir]), setup.message);
    assert.ok(!existsSync(runDir), `nothing written: ${existsSync(runDir) ? readdirSync(runDir).join(', ') : ''}`);
  });
}

// ---------------------------------------------------------------------------------------------------------
// evaluate and ensemble outputs (defects 1, 3, 5; the crash test is crash.test.ts)

/** One tiny 2-epoch run, trained once for the tests below, which each work on a copy. */
let baseRun: string | undefined;
function copyOfRun(epoch: number): string {
  if (!baseRun) {
    const { dir, file } = tinyConfig({ epochs: '2' });
    baseRun = path.join(dir, 'base');
    train(loadConfig(file), { runDir: baseRun });
  }
  const runDir = path.join(tmp('run'), 'run');
  cpSync(baseRun, runDir, { recursive: true });
  evaluateRun(runDir, { epoch });
  return runDir;
}

test('ensemble never replaces an <output>/<period> folder it did not write (--output . in a project with a test/ folder)', () => {
  const members = [copyOfRun(1), copyOfRun(2)];
  const project = tmp('project');
  mkdirSync(path.join(project, 'test'));
  writeFileSync(path.join(project, 'test', 'field-notes.csv'), 'gauge,visit\n01022500,2001-10-03\n');
  writeFileSync(path.join(project, 'test', 'metrics.csv'), 'basin,NSE\n01022500,0.9\n');
  const before = folderSnapshot(project);
  // Before: the user's test/ folder was deleted and replaced by the ensemble's.
  assertUserError(
    runCli(['ensemble', '--run-dirs', ...members, '--output', '.'], {}, project),
    /test is not an ensemble output of ealstm \(neither it nor \. has ensemble\.json\); it is not replaced/,
  );
  assert.deepEqual(folderSnapshot(project), before);

  // An ensemble's own output is replaced, with a note; so is one written before the folder had its own marker.
  const output = path.join(tmp('ensemble'), 'ens');
  assert.equal(runCli(['ensemble', '--run-dirs', ...members, '--output', output]).status, 0);
  assert.ok(existsSync(path.join(output, 'test', 'ensemble.json')));
  rmSync(path.join(output, 'test', 'ensemble.json'));
  const again = runCli(['ensemble', '--run-dirs', ...members, '--output', output]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /note: replaced the previous results in .*ens\/test/);
  assert.deepEqual(readdirSync(output).sort(), ['ensemble.json', 'test'], 'no lock, staging or old folder left behind');

  // Nothing is created when the ensemble cannot be built.
  const never = path.join(tmp('none'), 'new', 'ens');
  assertUserError(runCli(['ensemble', '--run-dirs', members[0], members[0], '--output', never]), /given twice/);
  assert.ok(!existsSync(path.dirname(never)));
  // ... also when the failure is found while averaging (a member with other dates), after the folder was made.
  const shortened = path.join(members[1], 'test', 'predictions', '02053200.csv');
  writeFileSync(shortened, readFileSync(shortened, 'utf8').trim().split('\n').slice(0, -1).join('\n') + '\n');
  assertUserError(runCli(['ensemble', '--run-dirs', ...members, '--output', never]), /02053200\.csv: dates/);
  assert.ok(!existsSync(path.dirname(never)), 'no empty folders left');
});

test('evaluate never replaces a <run>/<period> folder it did not write', () => {
  const runDir = copyOfRun(2);
  rmSync(path.join(runDir, 'test'), { recursive: true });
  mkdirSync(path.join(runDir, 'test'));
  writeFileSync(path.join(runDir, 'test', 'my-analysis.txt'), 'mine\n');
  const before = folderSnapshot(runDir);
  assertUserError(runCli(['evaluate', '--run-dir', runDir]), /run\/test was not written by `ealstm evaluate` .*; it is not replaced/);
  assert.deepEqual(folderSnapshot(runDir), before);
});

test('two evaluates on one run: the second is refused naming the first; after a kill the next one takes the stale lock over', async () => {
  const runDir = copyOfRun(2);
  const signal = path.join(path.dirname(runDir), 'paused');
  const first = startCli(['evaluate', '--run-dir', runDir, '--epoch', '1'], { EALSTM_TEST_PAUSE_AT: 'results:recovered', EALSTM_TEST_PAUSE_FILE: signal });
  await waitForFile(signal, first);
  const pid = first.child.pid as number;
  const before = folderSnapshot(path.join(runDir, 'test'));
  assertUserError(runCli(['evaluate', '--run-dir', runDir]), new RegExp(`run is in use by pid ${pid} on .*ealstm evaluate --run-dir .*; evaluate cannot run`));
  assert.deepEqual(folderSnapshot(path.join(runDir, 'test')), before);

  first.child.kill('SIGKILL');
  await first.exited;
  const next = runCli(['evaluate', '--run-dir', runDir]);
  assert.equal(next.status, 0, next.stderr);
  assert.match(next.stderr, new RegExp(`note: took over a stale lock in .*run: its holder, pid ${pid} on `));
  assert.deepEqual(
    readdirSync(runDir).filter((n) => n.startsWith('.')),
    [],
    'no lock or staging folder left behind',
  );
  // Staging folders are named per process, so even without the lock two writers would not share one.
  const a = createStaging(path.join(runDir, 'test'));
  const b = createStaging(path.join(runDir, 'test'));
  assert.notEqual(a, b);
  rmSync(a, { recursive: true });
  rmSync(b, { recursive: true });
});

test('evaluate keeps what other commands made from the previous results, says how to remake it, and marks the report stale', () => {
  const runDir = copyOfRun(2);
  assert.equal(runCli(['signatures', '--run-dir', runDir]).status, 0);
  writeReport(runDir);
  assert.ok(existsSync(path.join(runDir, 'test', 'figures')) && existsSync(path.join(runDir, 'test', 'signatures.csv')));
  const previous = folderSnapshot(path.join(runDir, 'test'));
  const report = readFileSync(path.join(runDir, 'report.html'), 'utf8');

  // Before: signatures.csv and figures/ were deleted without a word, and report.html kept showing epoch 2.
  const r = runCli(['evaluate', '--run-dir', runDir, '--epoch', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: replaced the previous results in .*run\/test \(epoch 2, written \d{4}-/);
  const kept = /note: figures\/, signatures\.csv were made from the previous results, so the previous folder is kept whole as (\S+test\.previous-\d{8}-\d{6}); to make them for the new results run: ealstm figures --run-dir \S+; ealstm signatures --run-dir \S+\n/.exec(r.stderr);
  assert.ok(kept, r.stderr);
  assert.deepEqual(folderSnapshot(kept[1]), previous, 'the previous results are kept whole, with their derived files');
  assert.deepEqual(readdirSync(path.join(runDir, 'test')).sort(), ['evaluation.json', 'metrics.csv', 'predictions']);
  assert.equal(JSON.parse(readFileSync(path.join(runDir, 'test', 'evaluation.json'), 'utf8')).epoch, 1);
  assert.match(r.stderr, /note: \S+report\.html shows the previous results: marked it stale; regenerate it with: ealstm report --run-dir \S+\n/);
  const stale = readFileSync(path.join(runDir, 'report.html'), 'utf8');
  assert.ok(isReportStale(path.join(runDir, 'report.html')));
  assert.equal(stale.replace(/\n<!-- ealstm:stale -->[\s\S]*?<!-- \/ealstm:stale -->/, ''), report, 'only the banner is added');

  // Results without derived files are simply replaced; the banner is not repeated.
  const again = runCli(['evaluate', '--run-dir', runDir, '--epoch', '2']);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /were made from the previous results/);
  assert.equal(readdirSync(runDir).filter((n) => n.startsWith('test.previous-')).length, 1);
  assert.equal(readFileSync(path.join(runDir, 'report.html'), 'utf8').split('<!-- ealstm:stale -->').length, 2);
  // Writing the report again removes the mark.
  writeReport(runDir);
  assert.ok(!isReportStale(path.join(runDir, 'report.html')));
});

test("evaluate refuses a run whose config.yml no longer describes the trained model, or whose scaler.json was changed; test periods may change", () => {
  const runDir = copyOfRun(2);
  const configFile = path.join(runDir, 'config.yml');
  const original = readFileSync(configFile, 'utf8');
  writeFileSync(configFile, original.replace('seq_length: 20', 'seq_length: 30'));
  const before = folderSnapshot(runDir);
  assertUserError(runCli(['evaluate', '--run-dir', runDir]), /run\/config\.yml was edited after training: seq_length \(was 20, now 30\); the saved weights were trained with the original settings/);
  assert.deepEqual(folderSnapshot(runDir), before);

  writeFileSync(configFile, original.replace('test_end_date: 31/03/2002', 'test_end_date: 28/02/2002'));
  const shorter = runCli(['evaluate', '--run-dir', runDir]);
  assert.equal(shorter.status, 0, shorter.stderr);
  assert.equal(readFileSync(path.join(runDir, 'test', 'predictions', '01022500.csv'), 'utf8').trim().split('\n').length - 1, 151);

  writeFileSync(configFile, original);
  const scalerFile = path.join(runDir, 'scaler.json');
  writeFileSync(scalerFile, readFileSync(scalerFile, 'utf8').replace(/"target_std": [\d.]+/, '"target_std": 2.5'));
  assertUserError(runCli(['evaluate', '--run-dir', runDir]), /scaler\.json was changed after the run was created; the weights were trained on inputs normalised with the original one/);
});
