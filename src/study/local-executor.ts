import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import type { ExpandedStudy, StudyRun } from './expand.js';
import { failureOf, recordFailure, runState } from './state.js';

export interface LocalOptions {
  /** Parallel runs (default: cores / threads). */
  jobs?: number;
  /** The command line that runs one run to its end (train, resuming if started, then evaluate). */
  command: (run: StudyRun) => { file: string; args: string[] };
  onEvent?: (event: LocalEvent) => void;
}

export interface LocalProgress {
  done: number;
  running: number;
  failed: number;
  left: number;
  /** Seconds until all runs are done, from the mean duration of the runs finished so far; NaN before the first. */
  etaSeconds: number;
}

export type LocalEvent =
  | { kind: 'start'; run: StudyRun; progress: LocalProgress }
  | { kind: 'done'; run: StudyRun; seconds: number; progress: LocalProgress }
  | { kind: 'failed'; run: StudyRun; seconds: number; error: string; progress: LocalProgress };

export const logFileOf = (expanded: ExpandedStudy, run: StudyRun) =>
  path.join(expanded.study.outputDir, 'logs', `${run.name.replaceAll('/', '__')}.log`);

/** jobs x threads may not exceed the cores: the runs would only slow each other down. */
export function checkJobs(jobs: number, threads: number, cores = availableParallelism()): void {
  if (jobs * threads > cores) {
    throw new InputError(`--jobs ${jobs} x ${threads} thread(s) per run = ${jobs * threads} exceeds the ${cores} cores of this machine; lower --jobs or the study's threads`);
  }
}

/**
 * Runs the unfinished runs of a study on this machine, `jobs` child processes at a time, each the same command a
 * Slurm task runs. A run that fails is recorded (its error in <study>/failures/, its output in <study>/logs/) and
 * the others go on. Returns the runs that failed.
 */
export async function runLocal(expanded: ExpandedStudy, runs: StudyRun[], options: LocalOptions): Promise<{ done: StudyRun[]; failed: StudyRun[] }> {
  const threads = expanded.study.threads;
  const jobs = options.jobs ?? Math.max(1, Math.floor(availableParallelism() / threads));
  checkJobs(jobs, threads);
  const queue = runs.filter((r) => runState(expanded, r) !== 'done');
  const done: StudyRun[] = [];
  const failed: StudyRun[] = [];
  let running = 0;
  const durations: number[] = [];
  const progress = (): LocalProgress => {
    const left = queue.length;
    const mean = durations.length > 0 ? durations.reduce((a, b) => a + b, 0) / durations.length : Number.NaN;
    return { done: done.length, running, failed: failed.length, left, etaSeconds: (mean * (left + running)) / jobs };
  };

  const runOne = (run: StudyRun): Promise<void> =>
    new Promise((resolve) => {
      const log = logFileOf(expanded, run);
      mkdirSync(path.dirname(log), { recursive: true });
      const fd = openSync(log, 'a');
      const { file, args } = options.command(run);
      const started = performance.now();
      running++;
      options.onEvent?.({ kind: 'start', run, progress: progress() });
      const child = spawn(file, args, { stdio: ['ignore', fd, fd] });
      let finished = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
        if (finished) return;
        finished = true;
        closeSync(fd);
        running--;
        const seconds = (performance.now() - started) / 1000;
        if (code === 0) {
          done.push(run);
          durations.push(seconds);
          options.onEvent?.({ kind: 'done', run, seconds, progress: progress() });
        } else {
          // The task records its own errors; a crash or a signal leaves that to us.
          let error = failureOf(expanded, run);
          if (!error) {
            const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
            error = `${spawnError ? spawnError.message : signal ? `killed by ${signal}` : `exit code ${code}`}\n${tail}`;
            recordFailure(expanded, run, error);
          }
          failed.push(run);
          options.onEvent?.({ kind: 'failed', run, seconds, error, progress: progress() });
        }
        resolve();
      };
      child.once('error', (err) => finish(null, null, err));
      child.once('exit', (code, signal) => finish(code, signal));
    });

  const workers = Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let run = queue.shift(); run; run = queue.shift()) await runOne(run);
  });
  await Promise.all(workers);
  return { done, failed };
}
