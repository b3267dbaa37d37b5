import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../util/errors.js';
import { checkExistingDir, checkWritableDir, checkWritableFile } from '../util/files.js';
import { integerOption } from './options.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `ealstm predict`: simulate discharge with trained runs on any basins and days (see evaluation/simulate-run.ts). */
export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description(
      'simulate discharge with one or several trained runs (ensemble mean and spread) for basins with forcing and attributes, observed or not; writes <output>/<basin>.csv and summary.csv',
    )
    .requiredOption('--run-dir <dir>', 'a run directory made by train (repeatable: several runs give the ensemble mean and spread)', collect)
    .requiredOption('--basins <file|list>', 'a basin file (one id a line) or a comma-separated list of basin ids')
    .requiredOption('--start <DD/MM/YYYY>', 'first day to simulate')
    .requiredOption('--end <DD/MM/YYYY>', 'last day to simulate')
    .requiredOption('--output <dir>', 'the folder to write (replaced only if predict wrote it)')
    .option('--data-dir <dir>', 'data folder to read (default: the run config data_dir)')
    .option('--dataset <name>', 'dataset layout of --data-dir (default: the run config dataset)')
    .option('--epoch <n>', 'epoch whose weights to use (default: the last of each run)', integerOption)
    .option('--continuous', 'carry the LSTM state from day to day through the period instead of one seq_length window per day')
    .option('--state-in <file>', 'continue a continuous simulation from the state file of the period before (hot start; implies --continuous)')
    .option('--state-out <file>', "write each basin's LSTM state on the last day, to continue with --state-in (implies --continuous)")
    .action(async (opts) => {
      for (const dir of opts.runDir as string[]) checkExistingDir(dir, '--run-dir');
      if (opts.dataDir) checkExistingDir(opts.dataDir, '--data-dir');
      checkWritableDir(opts.output, '--output');
      if (opts.stateIn && !existsSync(opts.stateIn)) throw new InputError(`--state-in ${opts.stateIn}: no such file`);
      if (opts.stateOut) checkWritableFile(opts.stateOut, '--state-out');
      const [{ runPredict }, { parseDdMmYyyy }, { readBasinList }] = await Promise.all([
        import('../evaluation/simulate-run.js'),
        import('../util/dates.js'),
        import('../data/basin-list.js'),
      ]);
      const basins = basinArgument(opts.basins, readBasinList);
      const summary = runPredict({
        runDirs: opts.runDir,
        basins,
        start: parseDdMmYyyy(opts.start, '--start'),
        end: parseDdMmYyyy(opts.end, '--end'),
        dataDir: opts.dataDir,
        dataset: opts.dataset,
        epoch: opts.epoch,
        output: opts.output,
        continuous: opts.continuous,
        stateIn: opts.stateIn,
        stateOut: opts.stateOut,
        onNote: (note) => console.error(`note: ${note}`),
      });
      const total = (key: 'days' | 'predicted' | 'warmUp' | 'missingForcing') => summary.basins.reduce((s, b) => s + b[key], 0);
      const members = summary.members.length === 1 ? `run ${summary.members[0].run} (epoch ${summary.members[0].epoch})` : `ensemble of ${summary.members.length} runs`;
      console.log(`${summary.basins.length} basin(s), ${opts.start}-${opts.end}, ${members}, ${summary.mode}:`);
      for (const b of summary.basins) {
        console.log(
          `  ${b.basin}  ${b.predicted}/${b.days} days predicted, ${b.warmUp} warm-up, ${b.missingForcing} missing forcing, ${b.observed > 0 ? `${b.observed} observed${scores(b)}` : 'no observations'}`,
        );
      }
      console.log(`${total('predicted')} of ${total('days')} basin-days predicted (${total('warmUp')} warm-up, ${total('missingForcing')} missing forcing)`);
      console.log(`wrote ${summary.outputDir}/<basin>.csv and summary.csv${opts.stateOut ? `; state on the last day in ${path.resolve(opts.stateOut)}` : ''}`);
    });
}

/** ', NSE 0.712, KGE 0.650' for a basin with observations (a score that is undefined is left out). */
function scores(b: { nse: number; kge: number }): string {
  return [`NSE ${b.nse.toFixed(3)}`, `KGE ${b.kge.toFixed(3)}`].filter((_, i) => Number.isFinite(i === 0 ? b.nse : b.kge)).map((t) => `, ${t}`).join('');
}

/** --basins: an existing file is a basin list; anything else a comma-separated list of ids. */
function basinArgument(value: string, readBasinList: (file: string) => string[]): string[] {
  if (existsSync(value) && statSync(value).isFile()) return readBasinList(value);
  return value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}
