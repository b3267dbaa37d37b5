import { loadConfig } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import { InputError } from '../util/errors.js';
import { checkWritableDir } from '../util/files.js';
import { train } from '../training/trainer.js';
import { epochProgress } from './progress.js';

export interface TrainCliOptions {
  config?: string;
  runDir?: string;
  seed?: number;
  resume?: boolean;
  threads?: number;
}

/** `ealstm train`: trains and reports each epoch; returns the run directory. */
export function trainCommand(options: TrainCliOptions, preloaded?: RunConfig): string {
  let config: RunConfig | null = null;
  if (options.resume) {
    // A resumed run keeps the config and seed it was created with; options that would change them are errors,
    // not silently ignored.
    const ignored = [options.config !== undefined && '--config', options.seed !== undefined && '--seed'].filter(Boolean);
    if (ignored.length > 0) {
      throw new InputError(
        `${ignored.join(' and ')} cannot be combined with --resume: a resumed run keeps the config.yml and seed of its run directory ` +
          '(train a new run to change them)',
      );
    }
  } else {
    if (!preloaded && !options.config) throw new InputError('train needs --config FILE (or --resume --run-dir DIR)');
    config = preloaded ?? loadConfig(options.config as string);
    if (options.seed !== undefined) config = { ...config, seed: options.seed };
    if (options.threads !== undefined) config = { ...config, num_workers: options.threads };
    // Without --run-dir the run goes below run_root: find out now that it cannot, not after loading the data.
    if (!options.runDir) checkWritableDir(config.run_root, `run_root (${options.config ?? 'config'})`);
  }
  const progress = epochProgress();
  const result = train(config, {
    runDir: options.runDir,
    resume: options.resume,
    threads: options.threads,
    onStart: ({ runDir: dir, samples, batches, startEpoch, backend }) => {
      const from = startEpoch > 1 ? `, resuming at epoch ${startEpoch}` : '';
      console.log(`run directory ${dir}: ${samples} training samples, ${batches} batches per epoch, backend ${backend}${from}`);
    },
    onBatch: (p) => progress.update(p.epoch, p.batch, p.batches, p.runningLoss, p.samplesPerSecond),
    onEpoch: (e) => {
      progress.end();
      console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(5)}, lr ${e.lr}, ${e.seconds.toFixed(1)} s`);
    },
    onNote: (note) => console.error(`note: ${note}`),
  });
  if (result.alreadyComplete) {
    console.log(`run directory ${result.runDir} is already complete (${result.config.epochs} epochs trained); nothing to do`);
  }
  return result.runDir;
}
