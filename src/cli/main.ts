#!/usr/bin/env node
import { Command } from 'commander';
import { InputError } from '../util/errors.js';
import { registerCoreCommands } from './core-commands.js';
import { registerReportCommands } from './report-commands.js';
import { registerComparisonCommands } from './analysis-commands.js';
import { registerAnalyzeCommands } from './analyze-commands.js';
import { registerBenchCommands } from './bench-commands.js';

const program = new Command('ealstm')
  .description('Regional rainfall-runoff modelling with LSTM and EA-LSTM (Kratzert et al., HESS 2019)')
  .showHelpAfterError();

// Each command group registers itself; add new groups here.
registerCoreCommands(program);
registerReportCommands(program);
registerComparisonCommands(program);
registerAnalyzeCommands(program);
registerBenchCommands(program);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof InputError) {
    console.error(`error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
