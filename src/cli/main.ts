#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerComparisonCommands } from './analysis-commands.js';
import { registerAnalyzeCommands } from './analyze-commands.js';
import { registerBenchCommands } from './bench-commands.js';
import { registerStudyCommands } from './study-commands.js';
import { registerCoreCommands } from './core-commands.js';
import { registerModelCommands } from './model-commands.js';
import { registerPredictCommand } from './predict.js';
import { exitWithError } from './error-report.js';
import { registerReportCommands } from './report-commands.js';
import { registerServeCommand } from './serve.js';

const program = new Command('ealstm')
  .description('Regional rainfall-runoff modelling with LSTM and EA-LSTM (Kratzert et al., HESS 2019)')
  .option('--debug', 'print the stack trace of an error (also: EALSTM_DEBUG=1)')
  // Usage errors end like every other error (one `error:` line, exit code 2): commander throws instead of
  // printing and exiting; the commands registered below inherit both settings.
  .exitOverride()
  .configureOutput({ outputError: () => {} });

// Each command group registers itself; add new groups here. The command files load the library lazily, in
// their actions, so that a usage error or --help does not wait for vega, zod and the compute backends.
registerCoreCommands(program);
registerPredictCommand(program);
registerModelCommands(program);
registerReportCommands(program);
registerComparisonCommands(program);
registerAnalyzeCommands(program);
registerBenchCommands(program);
registerStudyCommands(program);
registerServeCommand(program);

/** `ealstm analyze robustness --help`: the help of the command named in the arguments, for usage errors. */
function helpHint(argv: readonly string[]): string {
  let command = program;
  const names = ['ealstm'];
  for (const token of argv) {
    if (token.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (!sub) break;
    command = sub;
    names.push(sub.name());
  }
  return `${names.join(' ')} --help`;
}

// Errors that escape the awaited chain (a callback, a worker event) end the same way.
process.on('uncaughtException', (err) => exitWithError(err));
process.on('unhandledRejection', (err) => exitWithError(err));
// `ealstm compare ... | head`: the reader has gone; nothing is wrong.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  exitWithError(err);
});

try {
  await program.parseAsync();
} catch (err) {
  // --help and --version "fail" with exit code 0.
  if (err instanceof CommanderError && err.exitCode === 0) process.exit(0);
  exitWithError(err, helpHint(process.argv.slice(2)));
}
