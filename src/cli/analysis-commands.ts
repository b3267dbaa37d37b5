import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { InputError } from '../util/errors.js';
import { checkExistingDir, checkWritableDir } from '../util/files.js';
import { periodOption } from './options.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function numberOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** ensemble, compare, signatures. */
export function registerComparisonCommands(program: Command): void {
  program
    .command('ensemble')
    .description('average evaluated runs day by day (as the paper) and score the mean; writes <output>/<period>/metrics.csv, predictions/, spread.csv')
    .requiredOption('--run-dirs <dirs...>', 'the member run directories (each evaluated for the period)')
    .requiredOption('--output <dir>', 'the ensemble directory to write')
    .option('--period <period>', 'test or train', periodOption, 'test')
    .action(async (opts: { runDirs: string[]; output: string; period: string }) => {
      for (const dir of opts.runDirs) checkExistingDir(dir, '--run-dirs');
      checkWritableDir(opts.output, '--output');
      const { buildEnsemble } = await import('../evaluation/ensemble.js');
      const s = buildEnsemble({ runDirs: opts.runDirs, output: opts.output, period: opts.period, onNote: (note) => console.error(`note: ${note}`) });
      const { describeNseSummary, formatValue } = await import('../evaluation/summary.js');
      const m = s.memberMeanNse;
      const mean = m.reduce((a, b) => a + b, 0) / m.length;
      const std = Math.sqrt(m.reduce((a, b) => a + (b - mean) ** 2, 0) / m.length);
      console.log(`ensemble of ${s.members.length} runs, ${s.period} period, ${s.results.length} basins: ${describeNseSummary(s.nse)}`);
      console.log(`members: mean NSE ${formatValue(mean)} ± ${formatValue(std)} (${m.map((v) => formatValue(v)).join(', ')})`);
      console.log(`wrote ${s.outputDir}/metrics.csv, predictions/, member_metrics.csv and spread.csv`);
    });

  program
    .command('compare')
    .description("compare models on their shared basins: table.md/csv like the paper's Tables 2-3, wilcoxon.csv, ECDF of NSE")
    .requiredOption(
      '--model <NAME=PATH[,PATH...]>',
      'a model (repeatable): run or ensemble directories, per-basin metric CSVs, globs, or sacsma:DIR[#SEED]; several paths = runs (seeds) of one setup',
      collect,
    )
    .requiredOption('--output <dir>', 'folder for table.md, table.csv, wilcoxon.csv, per_basin_nse.csv, basins.txt, ecdf_nse.svg/png')
    .option('--metrics <list>', 'comma-separated metrics for the table (NSE is always included)', 'NSE,alpha_nse,beta_nse,FHV,FMS,FLV')
    .option('--period <period>', 'period folder of run and ensemble directories', periodOption, 'test')
    .option('--fdc <variant>', "FHV/FMS/FLV of metrics computed from predictions: 'nh' (as evaluate) or 'paper'", 'nh')
    .option('--obs-from <dir>', 'run or ensemble directory whose observations score sacsma: models (default: the first directory given)')
    .option('--ecdf-min <x>', 'left edge of the ECDF x axis', numberOption, 0)
    .option('--no-figure', 'skip the ECDF figure')
    .action(
      async (opts: { model: string[]; output: string; metrics: string; period: string; fdc: string; obsFrom?: string; ecdfMin: number; figure: boolean }) => {
        if (opts.fdc !== 'nh' && opts.fdc !== 'paper') throw new InputError(`--fdc must be nh or paper, got '${opts.fdc}'`);
        checkWritableDir(opts.output, '--output');
        const { runCompare } = await import('../evaluation/compare.js');
        const result = await runCompare({
          models: opts.model,
          output: opts.output,
          metrics: opts.metrics.split(','),
          period: opts.period,
          fdcVariant: opts.fdc,
          obsFrom: opts.obsFrom,
          ecdfMin: opts.ecdfMin,
          figure: opts.figure,
        });
        process.stdout.write(result.markdown);
        console.log(`\nwrote ${result.files.join(', ')}`);
      },
    );

  program
    .command('signatures')
    .description('the 13 hydrological signatures of observed and simulated discharge; writes <run-dir>/<period>/signatures.csv')
    .requiredOption('--run-dir <dir>', 'an evaluated run directory or an ensemble directory')
    .option('--period <period>', 'test or train', periodOption, 'test')
    .option('--precip <column>', 'precipitation column of the data (default: the run\'s prcp/precip input)')
    .action(async (opts: { runDir: string; period: string; precip?: string }) => {
      checkExistingDir(opts.runDir, '--run-dir');
      checkWritableDir(path.join(opts.runDir, opts.period), '--run-dir');
      const { runSignatures } = await import('../evaluation/signature-run.js');
      const r = runSignatures({ runDir: opts.runDir, period: opts.period, precipColumn: opts.precip, onNote: (note: string) => console.error(`note: ${note}`) });
      console.log(`${r.summary} (precipitation: ${r.precipColumn}); wrote ${r.file}`);
    });
}
