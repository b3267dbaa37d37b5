import type { Command } from 'commander';
import { integerOption, positiveInteger } from './options.js';

/** `ealstm study plan|run|status|collect|task`; the actions live in study.ts, loaded when one runs. */
export function registerStudyCommands(program: Command): void {
  const study = program
    .command('study')
    .description('a whole experiment from a study file: variants x axes x folds x seeds, run locally or on Slurm, collected into tables');
  const outputOption = '--output <dir>';
  const outputHelp = "the study's output folder (default: output_dir of the study file, else studies-out/<name>)";

  study
    .command('plan')
    .description('list the runs of a study, their count and the work (samples x epochs, time estimate from a step timed here)')
    .argument('<file>', 'study file (YAML)')
    .option(outputOption, outputHelp)
    .option('--no-timing', 'do not time a training step (no time estimate)')
    .action(async (file, opts) => (await import('./study.js')).planCommand(file, opts));

  study
    .command('run')
    .description('run what is unfinished: locally with a pool of processes, or as a Slurm job array plus a collection job')
    .argument('<file>', 'study file (YAML)')
    .option('--executor <kind>', 'local or slurm', 'local')
    .option('--jobs <n>', 'local: runs in parallel (default: cores / threads)', positiveInteger)
    .option('--partition <p>', 'slurm: partition')
    .option('--account <a>', 'slurm: account')
    .option('--time <t>', 'slurm: time limit per task, e.g. 2-00:00:00')
    .option('--cpus-per-task <c>', 'slurm: CPUs per task (also the compute threads; default: the study\'s threads)', positiveInteger)
    .option('--mem <m>', 'slurm: memory per task, e.g. 8G')
    .option('--gres <g>', 'slurm: generic resources, e.g. gpu:1')
    .option('--max-parallel <k>', 'slurm: at most K array tasks at once (--array=0-N%K)', positiveInteger)
    .option('--dry-run', 'slurm: write the scripts, do not submit')
    .option('--wait', 'slurm: wait until the jobs have left the queue')
    .option(outputOption, outputHelp)
    .action(async (file, opts) => {
      const { runCommand } = await import('./study.js');
      await runCommand(file, { ...opts, cpus_per_task: opts.cpusPerTask, max_parallel: opts.maxParallel });
    });

  study
    .command('status')
    .description("each run's state from its directory (and squeue for a Slurm study)")
    .argument('<file>', 'study file (YAML)')
    .option(outputOption, outputHelp)
    .action(async (file, opts) => (await import('./study.js')).statusCommand(file, opts));

  study
    .command('collect')
    .description('evaluate trained runs, build ensembles, the comparison or grid table and <output>/report.html')
    .argument('<file>', 'study file (YAML)')
    .option('--no-run-reports', "do not write each run's report.html")
    .option(outputOption, outputHelp)
    .action(async (file, opts) => (await import('./study.js')).collectCommand(file, opts));

  study
    .command('task')
    .description('(used by the executors) train one run of a study, resuming it if started, and evaluate it')
    .argument('<file>', 'study file (YAML)')
    .option('--run <name>', 'the run, as listed by plan')
    .option('--tasks <file>', 'a tasks file of a Slurm submission (one run name a line)')
    .option('--index <i>', 'the 0-based line of --tasks (the array task id)', integerOption)
    .option('--threads <n>', 'compute threads', positiveInteger)
    .option('--exit-with-parent', 'end when the parent process dies (local executor)')
    .option(outputOption, outputHelp)
    .action(async (file, opts) => (await import('./study.js')).taskCommand(file, opts));
}
