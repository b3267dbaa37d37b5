/**
 * A lock file that gives one process at a time the right to write into a directory (a run directory, an
 * ensemble directory). The file names its holder (pid, host, command, start time), so a second process is
 * refused with an error that says who holds it, and a lock left by a killed process (its pid no longer runs on
 * this host) is detected as stale and taken over, with a note. On Linux the pid alone is not trusted: after a crash
 * (or a restart of the machine) the pid may belong to an unrelated process, so the process's start time decides
 * whether it can be the holder.
 *
 * The lock is not re-entrant: a second acquisition by the process that holds it is refused like any other. A
 * command that takes the lock once for several steps passes the lock it holds to the functions it calls
 * (withLock's `held`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Linux: the kernel's boot id and the holder's start in clock ticks since boot (/proc), which identify the
   * process even when its pid is reused later; absent in locks of other systems and of older versions. */
  boot_id?: string;
  start_ticks?: number;
}

export interface DirectoryLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Until release. */
  readonly held: boolean;
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

/**
 * The unit of starttime in /proc/<pid>/stat: USER_HZ, which the kernel fixes at 100 for user space on every
 * architecture Node runs on (`getconf CLK_TCK`); sysconf is not reachable from Node.
 */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * How much later than a lock's `started` a process may appear to have started and still be its holder: /proc/stat's
 * btime is whole seconds, and a clock step after the lock was taken moves the computed start. Locks written by
 * this version compare the exact start ticks instead; this applies to locks without them.
 */
const START_SLACK_MS = 2000;

export interface ProcessStart {
  /** The kernel's boot id: pids and start ticks are only comparable within one boot. */
  bootId: string;
  /** Start in clock ticks since boot (/proc/<pid>/stat field 22). */
  ticks: number;
  /** The same as a wall-clock time (ms since 1970): boot time (/proc/stat btime) plus ticks. */
  ms: number;
}

/** starttime (field 22) of a /proc/<pid>/stat line; NaN when the line is not one. */
export function startTicks(stat: string): number {
  // Field 2, the command name in parentheses, may itself hold spaces and ')': count from the last ')', after
  // which come fields 3, 4, ...: starttime is the 20th of them.
  const close = stat.lastIndexOf(')');
  if (close < 0) return Number.NaN;
  const field = stat.slice(close + 2).split(' ')[19];
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : Number.NaN;
}

/** When the process `pid` started, on Linux; null elsewhere, or when /proc cannot tell (then the pid alone decides). */
export function processStart(pid: number): ProcessStart | null {
  if (process.platform !== 'linux') return null;
  try {
    const ticks = startTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    if (!Number.isSafeInteger(ticks) || !Number.isSafeInteger(btime) || !bootId) return null;
    return { bootId, ticks, ms: (btime + ticks / CLOCK_TICKS_PER_SECOND) * 1000 };
  } catch {
    return null;
  }
}

/**
 * Why the holder of a lock cannot be the process that now has its pid on this host (so the lock is stale despite
 * a running pid), or null when it may be: the lock records another boot, or another start of the process, or
 * (a lock without those) the process started after the lock was taken.
 */
export function reusedPid(holder: LockHolder): string | null {
  const now = processStart(holder.pid);
  if (!now) return null;
  if (typeof holder.boot_id === 'string' && typeof holder.start_ticks === 'number') {
    if (holder.boot_id !== now.bootId) return `the machine was restarted since, and pid ${holder.pid} is now another process`;
    if (holder.start_ticks === now.ticks) return null;
  } else {
    const taken = Date.parse(holder.started);
    if (!Number.isFinite(taken) || now.ms <= taken + START_SLACK_MS) return null;
  }
  return `pid ${holder.pid} is now another process, started ${new Date(now.ms).toISOString()}, after the lock was taken`;
}

/** Whether the holder of a lock on this host still runs: its pid runs, and (Linux) it is the same process. */
export function holderRuns(holder: LockHolder): boolean {
  return isProcessRunning(holder.pid) && reusedPid(holder) === null;
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
 * holder. A stale lock (its pid is not running on this host, or on Linux is now another process: see reusedPid)
 * is taken over and reported through `onNote`.
 * The lock file appears with its full content in one step (written aside, then hard-linked into place), so a
 * reader never sees a half-written lock.
 */
export function acquireLock(dir: string, purpose: string, onNote?: (note: string) => void): DirectoryLock {
  if (!existsSync(dir)) throw new InputError(`directory ${dir} does not exist; ${purpose} has nothing to lock`);
  const file = lockFile(dir);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    command: thisCommand(),
    started: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const self = processStart(process.pid);
  if (self) Object.assign(holder, { boot_id: self.bootId, start_ticks: self.ticks });
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
      const running = isProcessRunning(current.pid);
      const reused = running ? reusedPid(current) : null;
      if (running && !reused) {
        throw new InputError(
          `${dir} is in use by ${describe(current)}; ${purpose} cannot run while another ealstm command writes there ` +
            `(wait for it to finish; if pid ${current.pid} is not an ealstm command, delete ${file})`,
        );
      }
      if (takeOverStale(file, current)) {
        onNote?.(`took over a stale lock in ${dir}: its holder, ${describe(current)}, no longer runs (${reused ?? 'it was interrupted'})`);
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

/**
 * A lock passed down as `held` must be the lock of `dir` (a mix-up is a bug of the caller) and must still be in
 * place: if its file was deleted meanwhile and another process took the lock, writing now would interleave.
 */
function checkHeld(lock: DirectoryLock, dir: string, purpose: string): void {
  if (!lock.held || !sameFile(lock.file, lockFile(dir))) {
    throw new Error(`${purpose}: the lock passed down (${lock.file}${lock.held ? '' : ', released'}) is not the lock of ${dir}`);
  }
  const current = readLockHolder(lock.file);
  if (current?.token !== lock.holder.token) {
    throw new InputError(
      `${dir}: the lock file ${lock.file} was ${current ? `replaced by ${describe(current)}` : 'deleted'} while this command held it; ` +
        `${purpose} stops rather than write alongside another command`,
    );
  }
}

function sameFile(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return path.join(realpathSync(path.dirname(p)), path.basename(p));
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * Whether `target` (a folder a command writes, which need not exist yet) is `dir` or lies below it, symbolic
 * links resolved as far as the path exists.
 */
export function isWithin(dir: string, target: string): boolean {
  const resolve = (p: string) => {
    let existing = path.resolve(p);
    const rest: string[] = [];
    while (!existsSync(existing) && path.dirname(existing) !== existing) {
      rest.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
    try {
      return path.join(realpathSync(existing), ...rest);
    } catch {
      return path.resolve(p);
    }
  };
  const relative = path.relative(resolve(dir), resolve(target));
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
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
  return {
    file,
    holder,
    release,
    get held() {
      return held;
    },
  };
}

/**
 * Runs `work` holding the lock of `dir`, releasing it afterwards whatever happens. `held`: the lock of `dir` that
 * the caller already holds (a command that takes it once for several steps); then no second one is taken, and
 * it stays held after `work`.
 */
export function withLock<T>(
  dir: string,
  purpose: string,
  work: (lock: DirectoryLock) => T,
  onNote?: (note: string) => void,
  held?: DirectoryLock,
): T {
  if (held) {
    checkHeld(held, dir, purpose);
    return work(held);
  }
  const lock = acquireLock(dir, purpose, onNote);
  try {
    return work(lock);
  } finally {
    lock.release();
  }
}

/**
 * Runs `work` for a command that reads the run directory `runDir` and writes to `output` (undefined: its default
 * folder in the run): under the run's lock when the output lies in the run directory, so its read and its write
 * see one state of the run; without a lock when the output is a folder elsewhere, which no run owns.
 */
export function withRunOutputLock<T>(
  runDir: string,
  output: string | undefined,
  purpose: string,
  work: (lock: DirectoryLock | null) => T,
  onNote?: (note: string) => void,
  held?: DirectoryLock,
): T {
  if (output !== undefined && !isWithin(runDir, output)) return work(null);
  return withLock(runDir, purpose, work, onNote, held);
}
