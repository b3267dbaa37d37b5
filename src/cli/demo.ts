import path from 'node:path';
import { parseConfig } from '../config/load.js';
import { checkWritableDir, readTextFile } from '../util/files.js';
import { packageRoot } from '../util/package-root.js';
import { evaluateCommand } from './evaluate.js';
import { reportCommand } from './report-commands.js';
import { trainCommand } from './train.js';

/**
 * `ealstm demo`: trains an EA-LSTM on the bundled CAMELS-US basins, evaluates it on the test period and writes the
 * report (<run-dir>/report.html), whose path it prints last.
 */
export async function demoCommand(options: { runDir?: string }): Promise<void> {
  const root = packageRoot();
  const runDir = options.runDir ?? path.join(root, 'runs', `demo_${Date.now()}`);
  checkWritableDir(runDir, options.runDir ? '--run-dir' : 'the demo run directory');
  const file = path.join(root, 'configs', 'demo.yml');
  const config = parseConfig(readTextFile(file, 'config'), file, root);
  const started = performance.now();
  trainCommand({ runDir }, config);
  evaluateCommand({ runDir }, true);
  const report = await reportCommand({ runDir, quiet: true });
  console.log(`demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(`report: ${path.resolve(report)}`);
}
