import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { lastCompleteEpoch, lastWeightsEpoch } from '../run/checkpoint.js';
import { configFile, scalerFile } from '../run/run-dir.js';
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
 * Whether the next attempt continues the run (`train --resume`) rather than starting it: train has written its
 * config and scaler, or any weights. A run killed before that point simply starts again.
 */
export function shouldResume(run: StudyRun): boolean {
  return lastWeightsEpoch(run.dir) > 0 || (existsSync(configFile(run.dir)) && existsSync(scalerFile(run.dir)));
}

export function countStates(states: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
