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
import { checkScalerUnchanged } from '../src/run/fingerprint.js';
import { acquireLock, LOCK_FILE } from '../src/run/lock.js';
import { readScaler } from '../src/run/run-dir.js';
import { train } from '../src/training/trainer.js';
import { InputError } from '../src/util/errors.js';
import { folderSnapshot, runCli, startCli, waitForFile } from './helpers/run-cli.js';
import { demoData, tinyConfig } from './helpers/tiny-config.js';

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `ealstm-${prefix}-`));

/** A user error as the CLI must report it: exit 2, one line `error: ...` matching `message`, no stack trace. */
function assertUserError(r: { status: number | null; stderr: string }, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], message);
}

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
});

test('two trains on one run directory: the second is refused naming the first; a killed holder leaves a stale lock that the next run takes over', async () => {
  const { dir, file } = tinyConfig({ epochs: '1' });
  const runDir = path.join(dir, 'run');
  const signal = path.join(dir, 'paused');
  // The first train stops right after taking the lock, before it writes anything.
  const first = startCli(['train', '--config', file, '--run-dir', runDir], { EALSTM_TEST_PAUSE_AT: 'train:locked', EALSTM_TEST_PAUSE_FILE: signal });
  await waitForFile(signal);
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
