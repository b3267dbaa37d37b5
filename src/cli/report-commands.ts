import path from 'node:path';
import type { Command } from 'commander';
import { checkExistingDir, checkWritableDir } from '../util/files.js';
import { periodOption } from './options.js';

/** Progress on stderr: one line per figure (renders take ~1 s each for long hydrographs). */
function figureProgress(): (name: string, done: number, total: number) => void {
  const tty = Boolean(process.stderr.isTTY);
  return (name, done, total) => {
    if (name === 'done') {
      if (tty) process.stderr.write('\r\x1b[K');
      return;
    }
    const text = `figure ${done + 1}/${total}: ${name}`;
    process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
  };
}

/** The run directory must exist and be writable (report.html and <period>/figures/ go into it). */
function checkRunDir(runDir: string): void {
  checkExistingDir(runDir, '--run-dir');
  checkWritableDir(runDir, '--run-dir');
}

/** `ealstm report` and `ealstm figures`. */
export async function reportCommand(options: { runDir: string; period?: string; quiet?: boolean }): Promise<string> {
  checkRunDir(options.runDir);
  const { writeReport } = await import('../report/html.js');
  const { report, figures } = writeReport(options.runDir, {
    period: (options.period ?? 'test') as 'test' | 'train',
    onFigure: options.quiet ? undefined : figureProgress(),
    onNote: (note: string) => console.error(`note: ${note}`),
  });
  console.log(`wrote ${path.resolve(report)}`);
  console.log(`figures (SVG and PNG) in ${path.resolve(figures.figuresDir)}`);
  return report;
}

export async function figuresCommand(options: { runDir: string; period?: string }): Promise<void> {
  checkRunDir(options.runDir);
  const { writeFigures } = await import('../report/html.js');
  const figures = writeFigures(options.runDir, { period: (options.period ?? 'test') as 'test' | 'train', onFigure: figureProgress(), onNote: (note: string) => console.error(`note: ${note}`) });
  const count = 1 + (figures.map ? 1 : 0) + (figures.loss ? 1 : 0) + figures.hydrographs.length;
  console.log(`wrote ${count} figures (SVG and PNG) to ${path.resolve(figures.figuresDir)}`);
  if (figures.mapNote) console.log(figures.mapNote);
  console.log(`hydrographs: ${figures.hydrographNote}`);
}

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description(
      'write <run-dir>/report.html: one self-contained page with settings, training log, metrics, NSE ECDF and map, ' +
        'a sortable per-basin table and hydrographs (needs `ealstm evaluate` first); also writes the figures',
    )
    .requiredOption('--run-dir <dir>', 'an evaluated run directory')
    .option('--period <period>', 'test or train (train writes report_train.html)', periodOption, 'test')
    .action(async (opts) => {
      await reportCommand({ runDir: opts.runDir, period: opts.period });
    });

  program
    .command('figures')
    .description('write the figures of an evaluated run (SVG and PNG) to <run-dir>/<period>/figures/')
    .requiredOption('--run-dir <dir>', 'an evaluated run directory')
    .option('--period <period>', 'test or train', periodOption, 'test')
    .action((opts) => figuresCommand({ runDir: opts.runDir, period: opts.period }));
}
