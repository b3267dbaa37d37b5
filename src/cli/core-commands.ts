import type { Command } from 'commander';
import { checkExistingDir, checkWritableDir } from '../util/files.js';
import { integerOption, periodOption } from './options.js';

/** train, finetune, evaluate, demo. */
export function registerCoreCommands(program: Command): void {
  program
    .command('train')
    .description('train a model; writes a run directory with config, scaler, weights per epoch and a training log')
    .option('--config <file>', 'YAML config (neuralhydrology key names)')
    .option('--run-dir <dir>', 'run directory (default: <run_root>/<experiment_name>_seed<seed>_<time>)')
    .option('--seed <n>', 'random seed (overrides the config)', integerOption)
    .option('--resume', 'continue the run in --run-dir from its last complete epoch')
    .option('--threads <n>', 'compute threads (overrides num_workers; 0: all cores)', integerOption)
    .action(async (opts) => {
      if (opts.runDir) {
        if (opts.resume) checkExistingDir(opts.runDir, '--run-dir');
        checkWritableDir(opts.runDir, '--run-dir');
      }
      const { trainCommand } = await import('./train.js');
      trainCommand({ config: opts.config, runDir: opts.runDir, seed: opts.seed, resume: opts.resume, threads: opts.threads });
    });

  program
    .command('finetune')
    .description('train a new run that starts from a trained run\'s weights and scaler (config: the keys that change)')
    .requiredOption('--from <dir>', 'the trained run to start from')
    .requiredOption('--config <file>', 'YAML with the keys that change: basins, periods, epochs, learning_rate, finetune_modules, ...')
    .option('--run-dir <dir>', 'run directory (default: <run_root>/<experiment_name>_seed<seed>_<time>)')
    .option('--epoch <n>', 'epoch of the base run\'s weights (default: its last)', integerOption)
    .option('--seed <n>', 'random seed (default: the base run\'s)', integerOption)
    .option('--threads <n>', 'compute threads (overrides num_workers; 0: all cores)', integerOption)
    .action(async (opts) => {
      checkExistingDir(opts.from, '--from');
      if (opts.runDir) checkWritableDir(opts.runDir, '--run-dir');
      const { finetuneCommand } = await import('./finetune.js');
      finetuneCommand({ from: opts.from, config: opts.config, runDir: opts.runDir, epoch: opts.epoch, seed: opts.seed, threads: opts.threads });
    });

  program
    .command('evaluate')
    .description('predict a period and write <run-dir>/<period>/metrics.csv and predictions/<basin>.csv')
    .requiredOption('--run-dir <dir>', 'run directory made by train')
    .option('--period <period>', 'test or train', periodOption, 'test')
    .option('--epoch <n>', 'epoch whose weights to use (default: the last)', integerOption)
    .action(async (opts) => {
      checkExistingDir(opts.runDir, '--run-dir');
      checkWritableDir(opts.runDir, '--run-dir');
      const { evaluateCommand } = await import('./evaluate.js');
      evaluateCommand({ runDir: opts.runDir, period: opts.period, epoch: opts.epoch });
    });

  program
    .command('demo')
    .description('train an EA-LSTM on the bundled CAMELS-US basins, evaluate it and write report.html')
    .option('--run-dir <dir>', 'where to write the run (default: runs/demo_<time>)')
    .action(async (opts) => {
      const { demoCommand } = await import('./demo.js');
      await demoCommand(opts);
    });
}
