import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../config/load.js';
import { packageRoot } from '../util/package-root.js';
import { evaluateCommand } from './evaluate.js';
import { reportCommand } from './report-commands.js';
import { trainCommand } from './train.js';

/**
 * `ealstm demo`: trains an EA-LSTM on the bundled CAMELS-US basins, evaluates it on the test period and writes the
 * report (<run-dir>/report.html), whose path it prints last.
 */
export function demoCommand(options: { runDir?: string }): void {
  const root = packageRoot();
  const file = path.join(root, 'configs', 'demo.yml');
  const config = parseConfig(readFileSync(file, 'utf8'), file, root);
  const started = performance.now();
  const runDir = trainCommand({ runDir: options.runDir ?? path.join(root, 'runs', `demo_${Date.now()}`) }, config);
  evaluateCommand({ runDir }, true);
  const report = reportCommand({ runDir, quiet: true });
  console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`report: ${path.resolve(report)}`);
}
