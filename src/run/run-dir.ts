import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import { parseScaler, type Scaler } from '../data/scaler.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';

export const configFile = (runDir: string) => path.join(runDir, 'config.yml');
export const scalerFile = (runDir: string) => path.join(runDir, 'scaler.json');
export const trainLogFile = (runDir: string) => path.join(runDir, 'train_log.jsonl');

/** The report page of a period: report.html for test, report_<period>.html otherwise. */
export function reportFile(runDir: string, period = 'test'): string {
  return path.join(runDir, period === 'test' ? 'report.html' : `report_${period}.html`);
}

/** Names of the entries a run writes into its directory (files, folders, patterns); see runArtifacts. */
const RUN_ARTIFACTS: RegExp[] = [
  /^config\.yml$/,
  /^scaler\.json$/,
  /^run\.json$/,
  /^train_log\.jsonl$/,
  /^model_epoch\d+\.safetensors$/,
  /^optimizer_state_epoch\d+\.safetensors$/,
  /^(test|train)$/,
  /^report(_\w+)?\.html$/,
  /^analysis$/,
];

/**
 * The entries of `dir` that a run writes (config.yml, scaler.json, checkpoints, logs, results, reports), sorted;
 * empty when `dir` does not exist. A directory holding any of them must not receive a new run: its config.yml
 * may be the user's own, and leftover checkpoints would be taken for the new run's.
 */
export function runArtifacts(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => RUN_ARTIFACTS.some((re) => re.test(name)))
    .sort();
}

/** A fresh run directory name: <run_root>/<experiment_name>_seed<seed>_<DDMM_HHMMSS> (neuralhydrology style). */
export function newRunDir(config: RunConfig): string {
  const now = new Date();
  const two = (v: number) => String(v).padStart(2, '0');
  const stamp = `${two(now.getDate())}${two(now.getMonth() + 1)}_${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return path.join(config.run_root, `${config.experiment_name}_seed${config.seed}_${stamp}`);
}

/**
 * Creates a run (or output) directory and its parents and returns the first folder it created (undefined when
 * `dir` existed); a path through a file is an InputError naming it (other file-system errors, e.g. a read-only
 * disk, are reported as such by the CLI).
 */
export function createRunDirectory(dir: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new InputError(`cannot create directory ${dir}: it is a file, not a directory`);
    if (code === 'ENOTDIR') throw new InputError(`cannot create directory ${dir}: a part of its path is a file, not a directory`);
    throw err;
  }
}

export function writeRunConfig(runDir: string, config: RunConfig): void {
  createRunDirectory(runDir);
  writeFileAtomic(configFile(runDir), stringify(config));
}

/** The fully resolved config a run was made with. */
export function readRunConfig(runDir: string): RunConfig {
  const file = configFile(runDir);
  if (!existsSync(file)) throw new InputError(`run directory ${runDir}: no config.yml (is this a run directory?)`);
  return parseConfig(readFileSync(file, 'utf8'), file);
}

export function writeScaler(runDir: string, scaler: Scaler): void {
  writeFileAtomic(scalerFile(runDir), `${JSON.stringify(scaler, null, 2)}\n`);
}

export function readScaler(runDir: string): Scaler {
  const file = scalerFile(runDir);
  if (!existsSync(file)) throw new InputError(`run directory ${runDir}: no scaler.json`);
  return parseScaler(readFileSync(file, 'utf8'), file);
}

export interface EpochLog {
  epoch: number;
  loss: number;
  lr: number;
  seconds: number;
  samples: number;
}

export function readTrainLog(runDir: string): EpochLog[] {
  const file = trainLogFile(runDir);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochLog);
}

/** Rewrites the whole log atomically, so a crash never leaves a half line. */
export function writeTrainLog(runDir: string, entries: EpochLog[]): void {
  writeFileAtomic(trainLogFile(runDir), entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
}
