/**
 * The `ealstm study` commands' actions (registered in study-commands.ts, which loads this module only when a
 * study command runs, so that other commands do not load the study and training code).
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { collectStudy, gridMarkdown } from '../study/collect.js';
import { type ExpandedStudy, expandStudy, selectRuns, type StudyRun } from '../study/expand.js';
import { estimateWork, formatDuration, missingInputs } from '../study/estimate.js';
import { writeFoldFiles } from '../study/folds.js';
import { checkJobs, type LocalEvent, type LocalProgress, runLocal } from '../study/local-executor.js';
import { queueState, readSubmissions, submit, writeSlurmScripts } from '../study/slurm.js';
import { busyHolder, clearFailure, countStates, failureOf, recordFailure, runState, shouldResume, STUDY_PERIOD, trainedEpochs, waitForRunLock } from '../study/state.js';
import { loadStudy, type SlurmOptions } from '../study/study-file.js';
import { writeStudyReport } from '../study/study-report.js';
import { InputError } from '../util/errors.js';
import { checkWritableDir, readTextLines } from '../util/files.js';
import { evaluateCommand } from './evaluate.js';
import { trainCommand } from './train.js';

interface StudyOptions {
  output?: string;
}

function load(file: string, options: StudyOptions): ExpandedStudy {
  return expandStudy(loadStudy(file, { outputDir: options.output }));
}

/** load() for a command that writes into the study's output folder: one that cannot be written is an error now. */
function loadForWriting(file: string, options: StudyOptions): ExpandedStudy {
  const expanded = load(file, options);
  checkWritableDir(expanded.study.outputDir, options.output !== undefined ? '--output' : `output_dir of ${file}`);
  return expanded;
}

/** The command line that starts this program again (node, its flags such as --import tsx, the script). */
function selfCommand(): string[] {
  return [process.execPath, ...process.execArgv, path.resolve(process.argv[1])];
}

/** The study arguments every child and Slurm task gets, so they find the same study and output folder. */
function studyArgs(file: string, expanded: ExpandedStudy): string[] {
  return [path.resolve(file), '--output', expanded.study.outputDir];
}

// ---------------------------------------------------------------------------------------------------------
// plan

export function planCommand(file: string, options: StudyOptions & { timing?: boolean }): void {
  const expanded = load(file, options);
  const work = estimateWork(expanded, { measure: options.timing !== false });
  const study = expanded.study;
  const folds = expanded.folds ? `, ${expanded.folds.length}-fold cross-validation (fold sizes ${expanded.folds.map((f) => f.length).join(', ')})` : '';
  console.log(`study ${study.name}: ${expanded.runs.length} runs${folds}; output ${study.outputDir}`);
  const nameWidth = Math.max(3, ...expanded.runs.map((r) => r.name.length));
  console.log(`${'run'.padEnd(nameWidth)}  basins  samples<=  steps/epoch  epochs  estimate`);
  for (const w of work.runs) {
    console.log(
      `${w.run.name.padEnd(nameWidth)}  ${String(w.trainBasins).padStart(6)}  ${String(w.samples).padStart(9)}  ${String(w.stepsPerEpoch).padStart(11)}  ${String(w.epochs).padStart(6)}  ${formatDuration(w.seconds)}`,
    );
  }
  console.log(
    `total: ${expanded.runs.length} runs, ${work.totalSampleEpochs.toExponential(3)} samples x epochs, ${work.totalSteps} training steps, ` +
      (Number.isFinite(work.totalSeconds)
        ? `about ${formatDuration(work.totalSeconds)} of training with ${study.threads} thread(s) per run (one run at a time)`
        : 'no time estimate (--no-timing)'),
  );
  const cores = availableParallelism();
  const jobs = Math.max(1, Math.floor(cores / study.threads));
  if (Number.isFinite(work.totalSeconds)) console.log(`on this machine with --jobs ${jobs}: about ${formatDuration(work.totalSeconds / jobs)} (${cores} cores)`);
  if (work.timing) console.log(`step time measured here: ${work.timing}; scaled linearly to each run's sequence length (samples<=: days with a missing target not subtracted)`);
  for (const m of missingInputs(expanded)) console.log(`note: ${m}`);
}

// ---------------------------------------------------------------------------------------------------------
// task: one run to its end (what every local child and Slurm array task runs)

/** Ends this process when its parent dies (a killed local runner must not leave its runs training). */
function exitWithParent(): void {
  const code = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData.ppid) process.kill(workerData.pid, 'SIGKILL'); }, 200);`;
  new Worker(code, { eval: true, workerData: { ppid: process.ppid, pid: process.pid } }).unref();
}

function taskRun(expanded: ExpandedStudy, options: { run?: string; tasks?: string; index?: number }): StudyRun {
  if (options.run) return selectRuns(expanded, [options.run])[0];
  if (options.tasks === undefined || options.index === undefined) throw new InputError('study task needs --run NAME or --tasks FILE --index I');
  const names = readTextLines(options.tasks, 'tasks file');
  const name = names[options.index];
  if (name === undefined) throw new InputError(`${options.tasks}: no line ${options.index + 1} (array task ${options.index}; the file lists ${names.length} runs)`);
  return selectRuns(expanded, [name])[0];
}

export async function taskCommand(
  file: string,
  options: StudyOptions & { run?: string; tasks?: string; index?: number; threads?: number; exitWithParent?: boolean },
): Promise<void> {
  if (options.exitWithParent) exitWithParent();
  const expanded = loadForWriting(file, options);
  const run = taskRun(expanded, options);
  if (expanded.folds) writeFoldFiles(expanded.foldsDir, expanded.folds);
  const threads = options.threads ?? expanded.study.threads;
  console.log(`study ${expanded.study.name}: run ${run.name} (${run.index + 1} of ${expanded.runs.length}) in ${run.dir}`);
  clearFailure(expanded, run);
  await waitForRunLock(run);
  try {
    if (trainedEpochs(run) < run.config.epochs) {
      if (shouldResume(run)) trainCommand({ resume: true, runDir: run.dir, threads });
      else trainCommand({ runDir: run.dir, threads }, run.config);
    }
    if (runState(expanded, run) !== 'done') evaluateCommand({ runDir: run.dir, period: STUDY_PERIOD });
  } catch (err) {
    recordFailure(expanded, run, err instanceof Error ? `${err.message}` : String(err));
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// run

interface RunOptions extends StudyOptions, SlurmOptions {
  executor: string;
  jobs?: number;
  dryRun?: boolean;
  wait?: boolean;
}

function progressLine(p: LocalProgress): string {
  const eta = Number.isNaN(p.etaSeconds) ? '' : `, ETA ${formatDuration(p.etaSeconds)}`;
  return `[${p.done} done, ${p.running} running, ${p.failed} failed, ${p.left} left${eta}]`;
}

async function runLocalCommand(file: string, expanded: ExpandedStudy, options: RunOptions): Promise<void> {
  const unfinished = expanded.runs.filter((r) => runState(expanded, r) !== 'done');
  const skipped = expanded.runs.length - unfinished.length;
  const jobs = options.jobs ?? Math.max(1, Math.floor(availableParallelism() / expanded.study.threads));
  checkJobs(jobs, expanded.study.threads);
  console.log(
    `study ${expanded.study.name}: ${expanded.runs.length} runs, ${skipped} already done, ${unfinished.length} to run with ${jobs} job(s) x ${expanded.study.threads} thread(s)`,
  );
  if (expanded.folds) writeFoldFiles(expanded.foldsDir, expanded.folds);
  const self = selfCommand();
  const args = studyArgs(file, expanded);
  const { failed } = await runLocal(expanded, unfinished, {
    jobs,
    command: (run) => ({
      file: self[0],
      args: [...self.slice(1), 'study', 'task', ...args, '--run', run.name, '--threads', String(expanded.study.threads), '--exit-with-parent'],
    }),
    onEvent: (e: LocalEvent) => {
      if (e.kind === 'start') {
        const how = runState(expanded, e.run) === 'pending' ? 'start' : `resume (${runState(expanded, e.run)}, ${trainedEpochs(e.run)} epoch(s) trained)`;
        console.log(`${progressLine(e.progress)} ${how} ${e.run.name}`);
      } else if (e.kind === 'done') console.log(`${progressLine(e.progress)} done ${e.run.name} (${formatDuration(e.seconds)})`);
      else console.log(`${progressLine(e.progress)} FAILED ${e.run.name}: ${e.error.split('\n')[0]}`);
    },
  });
  console.log(`study ${expanded.study.name}: ${failed.length === 0 ? 'all runs done' : `${failed.length} run(s) failed (see \`ealstm study status ${file}\`)`}; next: ealstm study collect ${file}`);
  if (failed.length > 0) process.exitCode = 1;
}

async function runSlurmCommand(file: string, expanded: ExpandedStudy, options: RunOptions): Promise<void> {
  const slurm: SlurmOptions = { ...expanded.study.slurm };
  for (const key of ['partition', 'account', 'time', 'cpus_per_task', 'mem', 'gres', 'max_parallel'] as const) {
    if (options[key] !== undefined) (slurm as Record<string, unknown>)[key] = options[key];
  }
  const queue = options.dryRun ? null : queueState(expanded);
  const todo = expanded.runs.filter((r) => runState(expanded, r) !== 'done' && !queue?.runs.has(r.name));
  const queued = queue?.runs.size ?? 0;
  console.log(`study ${expanded.study.name}: ${expanded.runs.length} runs, ${expanded.runs.length - todo.length - queued} done, ${queued} in the queue, ${todo.length} to submit`);
  if (todo.length === 0) return;
  if (expanded.folds) writeFoldFiles(expanded.foldsDir, expanded.folds);
  const scripts = writeSlurmScripts(expanded, todo, {
    slurm,
    threads: expanded.study.threads,
    ealstm: selfCommand(),
    studyArgs: studyArgs(file, expanded),
    workDir: process.cwd(),
  });
  console.log(`wrote ${scripts.array} (${todo.length} array tasks), ${scripts.collect} and ${scripts.tasks}`);
  if (options.dryRun) {
    console.log('--dry-run: not submitted; submit by hand with: sbatch array.sh, then sbatch --dependency=afterany:<array job id> collect.sh');
    return;
  }
  const submission = submit(expanded, scripts);
  console.log(`submitted array job ${submission.arrayJob} and collection job ${submission.collectJob} (after the array)`);
  if (options.wait) await waitForQueue(expanded);
}

/** Polls squeue until this study has no job left in the queue. */
async function waitForQueue(expanded: ExpandedStudy): Promise<void> {
  let last = '';
  for (;;) {
    const queue = queueState(expanded);
    if (!queue.available) throw new InputError('squeue failed while waiting for the study\'s jobs');
    if (queue.runs.size === 0 && queue.collectJobs.length === 0) break;
    const states = countStates([...queue.runs.values()]);
    const line = `waiting: ${Object.entries(states).map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ') || 'collection job'}`;
    if (line !== last) console.log(line);
    last = line;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  console.log('all jobs of the study have left the queue');
}

export async function runCommand(file: string, options: RunOptions): Promise<void> {
  const expanded = loadForWriting(file, options);
  if (options.executor === 'local') return runLocalCommand(file, expanded, options);
  if (options.executor === 'slurm') return runSlurmCommand(file, expanded, options);
  throw new InputError(`--executor must be local or slurm, got '${options.executor}'`);
}

// ---------------------------------------------------------------------------------------------------------
// status and collect

export function statusCommand(file: string, options: StudyOptions): void {
  const expanded = load(file, options);
  const queue = readSubmissions(expanded).length > 0 ? queueState(expanded) : null;
  const nameWidth = Math.max(3, ...expanded.runs.map((r) => r.name.length));
  for (const run of expanded.runs) {
    const state = runState(expanded, run);
    const slurm = queue?.runs.get(run.name);
    const epochs = `${trainedEpochs(run)}/${run.config.epochs} epochs`;
    const holder = busyHolder(run);
    const busy = holder ? `  (in progress: pid ${holder.pid} on ${holder.host}, ${holder.command})` : '';
    const error = state === 'failed' && !holder ? `  ${failureOf(expanded, run)?.split('\n')[0] ?? ''}` : '';
    console.log(`${run.name.padEnd(nameWidth)}  ${(slurm ? `${state} (slurm: ${slurm.toLowerCase()})` : state).padEnd(28)} ${epochs}${busy}${error}`);
  }
  const counts = countStates(expanded.runs.map((r) => runState(expanded, r)));
  console.log(`study ${expanded.study.name}: ${expanded.runs.length} runs: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}`);
  if (queue && !queue.available) console.log('note: squeue is not available; Slurm queue states not shown');
  else if (queue) console.log(`slurm: ${queue.runs.size} run(s) in the queue${queue.collectJobs.length > 0 ? `, collection job ${queue.collectJobs.join(', ')} waiting` : ''}`);
}

export async function collectCommand(file: string, options: StudyOptions & { runReports?: boolean }): Promise<void> {
  const expanded = loadForWriting(file, options);
  const result = await collectStudy(expanded, { runReports: options.runReports, onNote: (n) => console.log(`note: ${n}`) });
  if (result.evaluated.length > 0) console.log(`evaluated ${result.evaluated.length} trained run(s)`);
  for (const e of result.ensembles) console.log(`ensemble of ${e.members} seeds: ${e.setup} -> ${e.dir}`);
  if (result.comparison) console.log(`\n${result.comparison.markdown.split('\n## Sources')[0].trimEnd()}\n`);
  if (result.grid) {
    console.log(`\n${gridMarkdown(expanded, result.grid).trimEnd()}\n`);
  }
  const report = writeStudyReport(expanded, result);
  console.log(`wrote ${result.resultsDir}/ and ${report}`);
}
