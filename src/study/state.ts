import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastCompleteEpoch, lastWeightsEpoch } from '../run/checkpoint.js';
import { holderRuns, type LockHolder, lockFile, readLockHolder } from '../run/lock.js';
import { configFile } from '../run/run-dir.js';
import { readTextFile, writeFileAtomic } from '../util/files.js';
import type { ExpandedStudy, StudyRun } from './expand.js';

/**
 * A run's state, read from its directory only, so that every executor (and a user looking at the folder) sees
 * the same thing:
 * - done: all epochs trained and the evaluation written (<run>/test/metrics.csv);
 * - trained: all epochs trained, not evaluated;
 * - interrupted: some epochs trained (it resumes from the last complete one);
 * - failed: its last attempt stopped with an error (recorded in <study>/failures/), not done;
 * - pending: nothing trained yet.
 */
export type RunState = 'done' | 'trained' | 'interrupted' | 'failed' | 'pending';
export const RUN_STATES: readonly RunState[] = ['done', 'trained', 'interrupted', 'failed', 'pending'];

/** The evaluation a study reads: the test period of each run (k-fold runs: the held-out basins). */
export const STUDY_PERIOD = 'test';

export const metricsFileOf = (run: StudyRun) => path.join(run.dir, STUDY_PERIOD, 'metrics.csv');

/** <output>/failures/<run name with / as __>.txt */
export function failureFile(expanded: ExpandedStudy, run: StudyRun): string {
  return path.join(expanded.study.outputDir, 'failures', `${run.name.replaceAll('/', '__')}.txt`);
}

export function recordFailure(expanded: ExpandedStudy, run: StudyRun, message: string): void {
  const file = failureFile(expanded, run);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, `${new Date().toISOString()}\n${message.trim()}\n`);
}

export function clearFailure(expanded: ExpandedStudy, run: StudyRun): void {
  rmSync(failureFile(expanded, run), { force: true });
}

/** The recorded error of a failed run (without its time stamp), or null. */
export function failureOf(expanded: ExpandedStudy, run: StudyRun): string | null {
  const file = failureFile(expanded, run);
  if (!existsSync(file)) return null;
  return readTextFile(file).split('\n').slice(1).join('\n').trim();
}

export function trainedEpochs(run: StudyRun): number {
  return lastCompleteEpoch(run.dir);
}

export function runState(expanded: ExpandedStudy, run: StudyRun): RunState {
  const epochs = trainedEpochs(run);
  if (epochs >= run.config.epochs) {
    if (existsSync(metricsFileOf(run))) return 'done';
    return existsSync(failureFile(expanded, run)) ? 'failed' : 'trained';
  }
  if (existsSync(failureFile(expanded, run))) return 'failed';
  return epochs > 0 ? 'interrupted' : 'pending';
}

/**
 * Whether the next attempt continues the run (`train --resume`) rather than starting it: train refuses to start
 * in a directory that holds anything a run writes, so anything there (its config first) means continue.
 */
export function shouldResume(run: StudyRun): boolean {
  return existsSync(configFile(run.dir)) || lastWeightsEpoch(run.dir) > 0;
}

/**
 * The process working in a run directory now (holding its lock), or null: a lock of a process that is gone on
 * this host is stale and does not count; one from another host (a cluster node) is taken at its word.
 */
export function busyHolder(run: StudyRun): LockHolder | null {
  const holder = readLockHolder(lockFile(run.dir));
  if (!holder || holder.pid === process.pid) return null;
  if (holder.host === os.hostname() && !holderRuns(holder)) return null;
  return holder;
}

/**
 * Waits (up to `seconds`) while another process on this host holds the run directory's lock: after a killed
 * local runner, its children end within a fraction of a second, and the rerun should wait for that rather than
 * fail on the lock. A holder on another host does not wait (train reports it).
 */
export async function waitForRunLock(run: StudyRun, seconds = 15): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (let holder = busyHolder(run); holder && holder.host === os.hostname() && Date.now() < deadline; holder = busyHolder(run)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How many of each state, in the order of `order` (then the others in order of appearance). */
export function countStates(states: readonly string[], order: readonly string[] = RUN_STATES): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of order) if (states.includes(s)) counts[s] = 0;
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
