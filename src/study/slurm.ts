/**
 * The Slurm executor: one job-array script per submission (one array task per unfinished run, each running the
 * same `ealstm study task` command as the local executor) and a collection job that depends on it. What was
 * submitted is recorded in <study>/slurm/submissions.jsonl; the queue is read with squeue (accounting may be off).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { readTextFile, readTextLines, writeFileAtomic } from '../util/files.js';
import type { ExpandedStudy, StudyRun } from './expand.js';
import type { SlurmOptions } from './study-file.js';
import { shellQuote } from '../util/shell.js';

export interface Submission {
  /** submit-001, submit-002, ... */
  id: string;
  arrayJob: string;
  collectJob: string;
  /** The tasks file: line i+1 is the run of array task i. */
  tasks: string;
  submitted: string;
}

export interface SlurmScripts {
  dir: string;
  tasks: string;
  array: string;
  collect: string;
  arrayText: string;
}

export const slurmDir = (expanded: ExpandedStudy) => path.join(expanded.study.outputDir, 'slurm');
const submissionsFile = (expanded: ExpandedStudy) => path.join(slurmDir(expanded), 'submissions.jsonl');
export const jobName = (expanded: ExpandedStudy) => `ealstm-${expanded.study.name}`;


const sbatchLines = (options: SlurmOptions): string[] => {
  const lines: string[] = [];
  if (options.partition) lines.push(`#SBATCH --partition=${options.partition}`);
  if (options.account) lines.push(`#SBATCH --account=${options.account}`);
  if (options.time) lines.push(`#SBATCH --time=${options.time}`);
  if (options.mem) lines.push(`#SBATCH --mem=${options.mem}`);
  if (options.gres) lines.push(`#SBATCH --gres=${options.gres}`);
  return lines;
};

/** The next free submit-NNN folder. */
function nextSubmissionDir(expanded: ExpandedStudy): string {
  const dir = slurmDir(expanded);
  const taken = existsSync(dir) ? readdirSync(dir).filter((n) => /^submit-\d+$/.test(n)).map((n) => Number(n.slice(7))) : [];
  return path.join(dir, `submit-${String(Math.max(0, ...taken) + 1).padStart(3, '0')}`);
}

/**
 * Writes the scripts of one submission: tasks.txt (one run name a line), array.sh (one array task per line,
 * `--array=0-N%K`) and collect.sh (`ealstm study collect`, submitted to run after the array).
 * `ealstm` is the command line that starts this program (e.g. `node /path/to/dist/src/cli/main.js`).
 */
export function writeSlurmScripts(
  expanded: ExpandedStudy,
  runs: StudyRun[],
  options: { slurm: SlurmOptions; threads: number; ealstm: string[]; studyArgs: string[]; workDir: string },
): SlurmScripts {
  if (runs.length === 0) throw new InputError('no runs to submit');
  const dir = nextSubmissionDir(expanded);
  const logs = path.join(slurmDir(expanded), 'logs');
  mkdirSync(dir, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const tasks = path.join(dir, 'tasks.txt');
  writeFileAtomic(tasks, `${runs.map((r) => r.name).join('\n')}\n`);
  const ealstm = options.ealstm.map(shellQuote).join(' ');
  const study = options.studyArgs.map(shellQuote).join(' ');
  const cpus = options.slurm.cpus_per_task ?? options.threads;
  const limit = options.slurm.max_parallel ? `%${options.slurm.max_parallel}` : '';
  const header = (name: string, log: string) => [
    '#!/bin/bash',
    `#SBATCH --job-name=${name}`,
    `#SBATCH --chdir=${shellQuote(options.workDir)}`,
    `#SBATCH --output=${shellQuote(path.join(logs, log))}`,
    ...sbatchLines(options.slurm),
  ];
  const arrayText = [
    ...header(jobName(expanded), '%A_%a.out'),
    `#SBATCH --array=0-${runs.length - 1}${limit}`,
    `#SBATCH --cpus-per-task=${cpus}`,
    `#SBATCH --ntasks=1`,
    '',
    `# Study ${expanded.study.name}: ${runs.length} run(s), one array task each; task i runs line i+1 of`,
    `# ${tasks}.`,
    '# The task trains the run (continuing from its last complete epoch if an earlier attempt was killed) and',
    '# evaluates it; an error is recorded in the study\'s failures/ folder. Edit and resubmit by hand if you like.',
    'set -euo pipefail',
    `exec ${ealstm} study task ${study} --tasks ${shellQuote(tasks)} --index "$SLURM_ARRAY_TASK_ID" --threads ${cpus}`,
    '',
  ].join('\n');
  const collectText = [
    ...header(`${jobName(expanded)}-collect`, 'collect_%j.out'),
    '#SBATCH --cpus-per-task=1',
    '#SBATCH --ntasks=1',
    '',
    '# Runs after the array above, whatever its tasks\' outcome: evaluates what is trained and not evaluated,',
    '# builds the ensembles, tables and the study report from the runs that are done.',
    'set -euo pipefail',
    `exec ${ealstm} study collect ${study}`,
    '',
  ].join('\n');
  const array = path.join(dir, 'array.sh');
  const collect = path.join(dir, 'collect.sh');
  writeFileAtomic(array, arrayText);
  writeFileAtomic(collect, collectText);
  return { dir, tasks, array, collect, arrayText };
}

function sbatch(args: string[]): string {
  try {
    return execFileSync('sbatch', ['--parsable', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split(';')[0];
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new InputError('sbatch not found: the Slurm executor needs the Slurm client tools (or use --dry-run to write the scripts only)');
    throw new InputError(`sbatch ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Submits the array, then the collection job with --dependency=afterany on it; records both. */
export function submit(expanded: ExpandedStudy, scripts: SlurmScripts): Submission {
  const arrayJob = sbatch([scripts.array]);
  const collectJob = sbatch([`--dependency=afterany:${arrayJob}`, scripts.collect]);
  const submission: Submission = { id: path.basename(scripts.dir), arrayJob, collectJob, tasks: scripts.tasks, submitted: new Date().toISOString() };
  const previous = existsSync(submissionsFile(expanded)) ? readTextFile(submissionsFile(expanded)) : '';
  writeFileAtomic(submissionsFile(expanded), `${previous}${JSON.stringify(submission)}\n`);
  return submission;
}

export function readSubmissions(expanded: ExpandedStudy): Submission[] {
  const file = submissionsFile(expanded);
  if (!existsSync(file)) return [];
  return readTextLines(file)
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Submission);
}

export interface QueueState {
  /** Run name -> squeue state (PENDING, RUNNING, ...) of its array task. */
  runs: Map<string, string>;
  /** Collection jobs still in the queue. */
  collectJobs: string[];
  /** Whether squeue could be asked. */
  available: boolean;
}

/**
 * This study's jobs in the queue, mapped to run names through the submissions' task files. `squeue -r` lists a
 * pending array one task a line (`123_4`).
 */
export function queueState(expanded: ExpandedStudy): QueueState {
  const submissions = readSubmissions(expanded);
  const state: QueueState = { runs: new Map(), collectJobs: [], available: true };
  if (submissions.length === 0) return state;
  let out: string;
  try {
    out = execFileSync('squeue', ['-h', '-r', '-o', '%i|%T', '-n', `${jobName(expanded)},${jobName(expanded)}-collect`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch {
    return { ...state, available: false };
  }
  const byArray = new Map(submissions.map((s) => [s.arrayJob, s]));
  const collect = new Set(submissions.map((s) => s.collectJob));
  const taskLists = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const [id, status] = line.trim().split('|');
    if (!id || !status) continue;
    if (collect.has(id)) {
      state.collectJobs.push(id);
      continue;
    }
    const m = /^(\d+)_(\d+)$/.exec(id);
    const submission = m ? byArray.get(m[1]) : undefined;
    if (!m || !submission) continue;
    let names = taskLists.get(submission.tasks);
    if (!names) {
      names = existsSync(submission.tasks) ? readTextLines(submission.tasks) : [];
      taskLists.set(submission.tasks, names);
    }
    const name = names[Number(m[2])];
    if (name) state.runs.set(name, status);
  }
  return state;
}
