/**
 * The run directory's lock beyond train/evaluate/ensemble/predict (run-safety.test.ts): every command that reads a
 * run and writes into it (report, figures, signatures, the analyses) is refused while another process holds the
 * lock, leaving the run untouched; an output folder outside the run needs no lock. And stale locks on Linux: a
 * pid that runs again, as another process, does not keep a crashed command's lock alive.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { evaluateRun } from '../src/evaluation/evaluate.js';
import { runSignatures } from '../src/evaluation/signature-run.js';
import { writeReport } from '../src/report/html.js';
import { acquireLock, isWithin, LOCK_FILE, type LockHolder, processStart, startTicks, withLock, withRunOutputLock } from '../src/run/lock.js';
import { train } from '../src/training/trainer.js';
import { InputError } from '../src/util/errors.js';
import { assertUserError, folderSnapshot, runCli } from './helpers/run-cli.js';
import { tinyConfig } from './helpers/tiny-config.js';

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `ealstm-${prefix}-`));
const linux = process.platform === 'linux';

/** A lock as another ealstm command of this host would leave it, naming `pid` (by default this test's, which runs). */
function holder(started: Date, fields: Partial<LockHolder> = {}): LockHolder {
  return { pid: process.pid, host: os.hostname(), command: 'ealstm evaluate --run-dir elsewhere', started: started.toISOString(), token: 'f00d', ...fields };
}
const writeLock = (dir: string, h: LockHolder) => writeFileSync(path.join(dir, LOCK_FILE), `${JSON.stringify(h)}\n`);

/** When this test process started, as /proc tells it (Linux). */
function ownStart() {
  const start = processStart(process.pid);
  assert.ok(start, 'processStart of this process on Linux');
  return start;
}

// ---------------------------------------------------------------------------------------------------------
// stale locks: the pid's process must be the one that took the lock

test('startTicks reads field 22 of /proc/<pid>/stat, also when the command name holds spaces and parentheses', () => {
  const fields = (ticks: string) => `S 1 2 3 0 -1 4194304 99 0 0 0 7 8 0 0 20 0 1 0 ${ticks} 3133440 393 18446744073709551615`;
  assert.equal(startTicks(`4242 (node) ${fields('258409')}`), 258409);
  assert.equal(startTicks(`4242 (a) b (c) 1 2) ${fields('77')}`), 77);
  assert.ok(Number.isNaN(startTicks('garbage')));
  assert.ok(Number.isNaN(startTicks('1 (x) S 1 2')));
});

test('processStart of this process: the boot id, and a start just before this process ran its first line', { skip: !linux && 'Linux only' }, () => {
  const start = ownStart();
  assert.match(start.bootId, /^[0-9a-f-]{36}$/);
  // performance.timeOrigin is when Node began, a little after the exec the kernel counts from; btime is whole seconds.
  assert.ok(start.ms <= performance.timeOrigin + 1000, `${new Date(start.ms).toISOString()} vs ${new Date(performance.timeOrigin).toISOString()}`);
  assert.ok(start.ms > performance.timeOrigin - 60_000, `${new Date(start.ms).toISOString()} vs ${new Date(performance.timeOrigin).toISOString()}`);
  assert.equal(processStart(2 ** 22 + 17), null, 'no such pid');
});

test('a lock naming a running pid is held; if that process started after the lock was taken, the lock is stale and taken over', { skip: !linux && 'Linux only' }, () => {
  const dir = tmp('reuse');
  const start = ownStart();
  const refused = (h: LockHolder) => {
    writeLock(dir, h);
    assert.throws(
      () => acquireLock(dir, 'report'),
      (err: Error) => err instanceof InputError && err.message.includes(`is in use by pid ${process.pid} on ${os.hostname()}`) && /report cannot run/.test(err.message),
    );
    assert.deepEqual(readdirSync(dir), [LOCK_FILE]);
  };
  const takenOver = (h: LockHolder, why: RegExp) => {
    writeLock(dir, h);
    const notes: string[] = [];
    const lock = acquireLock(dir, 'report', (n) => notes.push(n));
    assert.equal(notes.length, 1, notes.join('\n'));
    assert.match(notes[0], new RegExp(`^took over a stale lock in .*: its holder, pid ${process.pid} on ${os.hostname()} \\(ealstm evaluate --run-dir elsewhere, started ${h.started}\\), no longer runs \\(`));
    assert.match(notes[0], why);
    assert.equal(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).token, lock.holder.token);
    lock.release();
    assert.deepEqual(readdirSync(dir), []);
  };

  // Locks without the process's identity (older versions): the recorded start time decides.
  refused(holder(new Date()));
  refused(holder(new Date(start.ms + 500)));
  const anHourEarlier = new Date(start.ms - 3600_000);
  takenOver(holder(anHourEarlier), new RegExp(`pid ${process.pid} is now another process, started ${new Date(start.ms).toISOString().slice(0, 16)}.*, after the lock was taken\\)$`));

  // Locks of this version record the boot and the start ticks: exact, whatever the clocks did.
  const mine = acquireLock(dir, 'evaluate');
  assert.equal(mine.holder.boot_id, start.bootId);
  assert.equal(mine.holder.start_ticks, start.ticks);
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')), mine.holder, 'written to the file');
  mine.release();
  refused(holder(anHourEarlier, { boot_id: start.bootId, start_ticks: start.ticks }));
  takenOver(holder(new Date(), { boot_id: start.bootId, start_ticks: start.ticks - 1 }), /pid \d+ is now another process, started .*, after the lock was taken\)$/);
  takenOver(holder(new Date(), { boot_id: '00000000-0000-0000-0000-000000000000', start_ticks: start.ticks }), /the machine was restarted since, and pid \d+ is now another process\)$/);
});

// ---------------------------------------------------------------------------------------------------------
// taking the lock once: nested steps get the held lock

test('withLock with the held lock runs without a second acquisition; another directory\'s lock or a lock lost meanwhile is refused', () => {
  const dir = tmp('nested');
  const other = tmp('other');
  const outer = acquireLock(dir, 'analyze embedding');
  assert.equal(withLock(dir, 'analyze embedding', (l) => l, undefined, outer), outer);
  assert.ok(existsSync(path.join(dir, LOCK_FILE)), 'the held lock stays after the nested step');
  // Without passing it down, the same process is refused like any other (the lock is not re-entrant).
  assert.throws(() => withLock(dir, 'report', () => 0), /is in use by pid \d+ .*report cannot run/);
  assert.throws(() => withLock(other, 'report', () => 0, undefined, outer), (err: Error) => !(err instanceof InputError) && /is not the lock of/.test(err.message));
  // The user deleted the lock file, and another command took the lock: the holder stops instead of writing along.
  writeLock(dir, holder(new Date(), { token: 'beef', command: 'ealstm evaluate --run-dir x' }));
  assert.throws(
    () => withLock(dir, 'report', () => 0, undefined, outer),
    (err: Error) => err instanceof InputError && /was replaced by pid \d+ .*ealstm evaluate --run-dir x.*; report stops/.test(err.message),
  );
  rmSync(path.join(dir, LOCK_FILE));
  assert.throws(() => withLock(dir, 'report', () => 0, undefined, outer), /was deleted while this command held it/);
  outer.release();
  assert.throws(() => withLock(dir, 'report', () => 0, undefined, outer), /released/);
});

test('isWithin: the folder itself and folders below it, not beside it, symbolic links resolved', () => {
  const root = tmp('within');
  const run = path.join(root, 'run');
  mkdirSync(run);
  symlinkSync(run, path.join(root, 'link'));
  assert.ok(isWithin(run, run));
  assert.ok(isWithin(run, path.join(run, 'analysis', 'new')));
  assert.ok(isWithin(run, path.join(root, 'link', 'analysis')), 'through a link to the run');
  assert.ok(isWithin(path.join(root, 'link'), path.join(run, 'analysis')));
  assert.ok(isWithin(run, path.join(run, '..foo')), 'a name starting with two dots is inside');
  assert.ok(!isWithin(run, root));
  assert.ok(!isWithin(run, path.join(root, 'run2')));
  assert.ok(!isWithin(run, path.join(run, '..', 'elsewhere')));
  // Outside the run no lock is taken: a held lock does not refuse it.
  writeLock(run, holder(new Date()));
  assert.equal(withRunOutputLock(run, path.join(root, 'out'), 'analyze robustness', (l) => l), null);
  assert.throws(() => withRunOutputLock(run, undefined, 'analyze robustness', () => 0), /analyze robustness cannot run/);
  assert.throws(() => withRunOutputLock(run, path.join(run, 'analysis'), 'analyze robustness', () => 0), /analyze robustness cannot run/);
});

// ---------------------------------------------------------------------------------------------------------
// every command that writes into a run directory takes its lock

/** One tiny evaluated run, trained once; each test works on a copy. */
let baseRun: string | undefined;
function copyOfRun(): string {
  if (!baseRun) {
    const { dir, file } = tinyConfig({ epochs: '1' });
    baseRun = path.join(dir, 'base');
    train(loadConfig(file), { runDir: baseRun });
    evaluateRun(baseRun);
  }
  const runDir = path.join(tmp('run'), 'run');
  cpSync(baseRun, runDir, { recursive: true });
  return runDir;
}

const commands: { purpose: string; args: (runDir: string) => string[]; writes: string[] }[] = [
  { purpose: 'report', args: (r) => ['report', '--run-dir', r], writes: ['report.html', 'test/figures/'] },
  { purpose: 'figures', args: (r) => ['figures', '--run-dir', r], writes: ['test/figures/'] },
  { purpose: 'signatures', args: (r) => ['signatures', '--run-dir', r], writes: ['test/signatures.csv'] },
  {
    purpose: 'analyze robustness',
    args: (r) => ['analyze', 'robustness', '--run-dir', r, '--sigmas', '0,0.5', '--draws', '1', '--basins', '01022500', '--no-figures'],
    writes: ['analysis/robustness.csv'],
  },
  { purpose: 'analyze sensitivity', args: (r) => ['analyze', 'sensitivity', '--run-dir', r, '--basins', '01022500', '--no-figures'], writes: ['analysis/sensitivity_ranking.csv'] },
  { purpose: 'analyze embedding', args: (r) => ['analyze', 'embedding', '--run-dir', r, '--no-figures'], writes: ['analysis/embedding.csv', 'analysis/silhouette.csv'] },
];

test('report, figures, signatures and the analyses are refused while another process holds the run\'s lock, and leave the run unchanged', () => {
  const runDir = copyOfRun();
  writeLock(runDir, holder(new Date()));
  const before = folderSnapshot(runDir);
  for (const c of commands) {
    const r = runCli(c.args(runDir));
    assertUserError(
      r,
      new RegExp(`run is in use by pid ${process.pid} on ${os.hostname()} \\(ealstm evaluate --run-dir elsewhere, started .*\\); ${c.purpose} cannot run while another ealstm command writes there`),
    );
    assert.deepEqual(folderSnapshot(runDir), before, c.purpose);
  }
});

test('with the lock stale (its pid is now a process that started after it), each command takes it over with a note, writes, and releases it', { skip: !linux && 'Linux only' }, () => {
  const runDir = copyOfRun();
  const stale = holder(new Date(ownStart().ms - 3600_000));
  for (const c of commands) {
    writeLock(runDir, stale);
    const r = runCli(c.args(runDir));
    assert.equal(r.status, 0, `${c.purpose}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`note: took over a stale lock in \\S+run: its holder, pid ${process.pid} on .*, no longer runs \\(pid ${process.pid} is now another process, started .*, after the lock was taken\\)\n`),
      c.purpose,
    );
    for (const entry of c.writes) assert.ok(existsSync(path.join(runDir, entry)), `${c.purpose} wrote ${entry}`);
    assert.ok(!existsSync(path.join(runDir, LOCK_FILE)), `${c.purpose} released the lock`);
  }
});

test('an analysis whose --output is outside the run takes no lock; one whose --output is inside the run does', () => {
  const runDir = copyOfRun();
  writeLock(runDir, holder(new Date()));
  const before = folderSnapshot(runDir);
  const out = path.join(tmp('out'), 'robustness');
  const args = ['analyze', 'robustness', '--run-dir', runDir, '--sigmas', '0', '--draws', '1', '--basins', '01022500', '--no-figures'];
  const r = runCli([...args, '--output', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(path.join(out, 'robustness.csv')));
  assert.deepEqual(folderSnapshot(runDir), before, 'the run is only read');
  assertUserError(runCli([...args, '--output', path.join(runDir, 'mine')]), /run is in use by pid \d+ .*; analyze robustness cannot run/);
  assertUserError(
    runCli(['analyze', 'embedding', '--run-dir', runDir, '--output', path.join(runDir, 'analysis', 'emb'), '--no-figures']),
    /analyze embedding cannot run/,
  );
  assert.deepEqual(folderSnapshot(runDir), before);
});

test('the library functions take the lock too, or use the one their caller passes down', () => {
  const runDir = copyOfRun();
  const outer = acquireLock(runDir, 'a study');
  assert.throws(() => writeReport(runDir), (err: Error) => err instanceof InputError && /is in use by pid \d+ .*; report cannot run/.test(err.message));
  assert.throws(() => runSignatures({ runDir }), /signatures cannot run/);
  assert.ok(!existsSync(path.join(runDir, 'report.html')));
  // Passed down, the held lock lets one command write the signatures and the report in one go.
  runSignatures({ runDir, lock: outer });
  const { report } = writeReport(runDir, { lock: outer, maxHydrographs: 1 });
  assert.ok(existsSync(report) && existsSync(path.join(runDir, 'test', 'signatures.csv')));
  assert.equal(JSON.parse(readFileSync(path.join(runDir, LOCK_FILE), 'utf8')).token, outer.holder.token, 'still held by the caller');
  outer.release();
  assert.throws(() => writeReport(path.join(runDir, 'missing')), (err: Error) => err instanceof InputError && err.message.includes('does not exist'));
});
