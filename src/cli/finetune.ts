import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { readRunConfig } from '../run/run-dir.js';
import { trainCommand } from './train.js';

export interface FinetuneCliOptions {
  from: string;
  config: string;
  runDir?: string;
  epoch?: number;
  seed?: number;
  threads?: number;
}

/**
 * `ealstm finetune`: a new run that starts from the weights of run `from` (and normalises with its scaler unless
 * the config sets refit_scaler). The config lists what changes (basins, periods, schedule, finetune_modules); every
 * other key comes from the base run's config.yml. Returns the new run directory.
 */
export function finetuneCommand(options: FinetuneCliOptions): string {
  const baseRunDir = path.resolve(options.from);
  const { base_run_dir: _, base_epoch: __, finetune_modules: ___, ...base } = readRunConfig(baseRunDir);
  const config = {
    ...loadConfig(options.config, { ...base, finetune_modules: [], refit_scaler: false }),
    base_run_dir: baseRunDir,
    base_epoch: options.epoch,
  };
  return trainCommand({ runDir: options.runDir, seed: options.seed, threads: options.threads }, config);
}
