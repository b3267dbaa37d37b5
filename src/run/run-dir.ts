import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import type { Scaler } from '../data/scaler.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';

export const configFile = (runDir: string) => path.join(runDir, 'config.yml');
export const scalerFile = (runDir: string) => path.join(runDir, 'scaler.json');
export const trainLogFile = (runDir: string) => path.join(runDir, 'train_log.jsonl');

/** A fresh run directory name: <run_root>/<experiment_name>_seed<seed>_<DDMM_HHMMSS> (neuralhydrology style). */
export function newRunDir(config: RunConfig): string {
  const now = new Date();
  const two = (v: number) => String(v).padStart(2, '0');
  const stamp = `${two(now.getDate())}${two(now.getMonth() + 1)}_${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return path.join(config.run_root, `${config.experiment_name}_seed${config.seed}_${stamp}`);
}

export function writeRunConfig(runDir: string, config: RunConfig): void {
  mkdirSync(runDir, { recursive: true });
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
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Scaler;
  } catch {
    throw new InputError(`${file}: not valid JSON`);
  }
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
