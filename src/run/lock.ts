/**
 * A lock file that gives one process at a time the right to write into a directory (a run directory, an
 * ensemble directory). The file names its holder (pid, host, command, start time), so a second process is
 * refused with an error that says who holds it, and a lock left by a killed process (its pid no longer runs on
 * this host) is detected as stale and taken over, with a note.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../util/errors.js';

export const LOCK_FILE = '.ealstm.lock';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  started: string;
  /** Unique per acquisition: tells this holder's file from a later one with the same pid. */
  token: string;
}

export interface DirectoryLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this holder's. Safe to call twice. */
  release(): void;
}

export const lockFile = (dir: string) => path.join(dir, LOCK_FILE);

/** The command line of this process, as a holder describes itself (`ealstm evaluate --run-dir ...`). */
function thisCommand(): string {
  const args = process.argv.slice(2).join(' ');
  return args ? `ealstm ${args}` : 'ealstm';
}

/** Whether a process with this pid runs on this host. */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder recorded in a lock file; null when the file does not exist. */
export function readLockHolder(file: string): LockHolder | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    if (Number.isInteger(holder.pid) && typeof holder.host === 'string') return holder;
  } catch {
    // fall through: not a lock this tool wrote
  }
  throw new InputError(`${file}: not a valid lock file (expected the holder's pid and host); if no ealstm command is running there, delete it`);
}

function describe(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host} (${holder.command || 'ealstm'}, started ${holder.started})`;
}

/**
 * Takes the lock of `dir` (which must exist) for `purpose` (e.g. 'evaluate'), or throws an InputError naming the
 * holder. A stale lock (its pid is not running on this host) is taken over and reported through `onNote`.
 * The lock file appears with its full content in one step (written aside, then hard-linked into place), so a
 * reader never sees a half-written lock.
 */
export function acquireLock(dir: string, purpose: string, onNote?: (note: string) => void): DirectoryLock {
  const file = lockFile(dir);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command: thisCommand(),
    started: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const draft = `${file}.${holder.pid}.${holder.token}.tmp`;
  writeFileSync(draft, `${JSON.stringify(holder)}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(draft, file);
        removeLeftoverTemporaries(dir);
        return lockHandle(file, holder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = readLockHolder(file);
      if (!current) continue; // released meanwhile: try again
      if (current.host !== holder.host) {
        throw new InputError(
          `${dir} is locked by ${describe(current)}; ${purpose} cannot run while another ealstm command writes there. ` +
            `That host cannot be checked from here: if no ealstm command runs there, delete ${file}`,
        );
      }
      if (isProcessRunning(current.pid)) {
        throw new InputError(
          `${dir} is in use by ${describe(current)}; ${purpose} cannot run while another ealstm command writes there ` +
            `(wait for it to finish; if pid ${current.pid} is not an ealstm command, delete ${file})`,
        );
      }
      if (takeOverStale(file, current)) {
        onNote?.(`took over a stale lock in ${dir}: its holder, ${describe(current)}, no longer runs (it was interrupted)`);
      }
    }
    throw new InputError(`${dir}: could not take the lock ${file} (other processes keep taking it)`);
  } finally {
    rmSync(draft, { force: true });
  }
}

/**
 * Removes a stale lock file, unless another process replaced it since it was read: the file is first renamed
 * aside (atomic), then checked to be the stale one; a live lock moved by that race is put back.
 */
function takeOverStale(file: string, stale: LockHolder): boolean {
  const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const moved = readLockHolder(aside);
    if (moved?.token === stale.token) return true;
    try {
      linkSync(aside, file);
    } catch {
      // another process holds the lock now; it will refuse or wait like us
    }
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Temporary files this tool names with the writer's pid: lock drafts (.ealstm.lock.<pid>.<token>.tmp), stale locks
 * moved aside (.ealstm.lock.stale.<pid>.<hex>) and writeFileAtomic's (.<name>.<pid>.tmp).
 */
const TEMPORARY = [/^\.ealstm\.lock\.(\d+)\.[0-9a-f]+\.tmp$/, /^\.ealstm\.lock\.stale\.(\d+)\.[0-9a-f]+$/, /^\..+\.(\d+)\.tmp$/];

/** Removes, holding the lock, the temporary files of processes that were killed while writing in `dir`. */
function removeLeftoverTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = TEMPORARY.map((re) => re.exec(name)).find(Boolean)?.[1];
    if (pid && Number(pid) !== process.pid && !isProcessRunning(Number(pid))) rmSync(path.join(dir, name), { force: true });
  }
}

function lockHandle(file: string, holder: LockHolder): DirectoryLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    try {
      if (readLockHolder(file)?.token === holder.token) rmSync(file, { force: true });
    } catch {
      // a damaged lock file is not ours to remove
    }
  };
  // A process that exits (error, Ctrl-C handled by node) releases its lock; only a kill leaves it stale.
  process.on('exit', release);
  return { file, holder, release };
}

/** Runs `work` holding the lock of `dir`, releasing it afterwards whatever happens. */
export function withLock<T>(dir: string, purpose: string, work: (lock: DirectoryLock) => T, onNote?: (note: string) => void): T {
  const lock = acquireLock(dir, purpose, onNote);
  try {
    return work(lock);
  } finally {
    lock.release();
  }
}
