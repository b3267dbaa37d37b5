import { existsSync } from 'node:fs';
import path from 'node:path';
import { readBasinList } from '../data/basin-list.js';
import { readCsvTable } from '../util/csv-file.js';
import { InputError } from '../util/errors.js';
import type { Tensor } from '../util/safetensors.js';
import type { BundleInfo } from './bundle-info.js';
import { metricsSection, readBundleInfo, writeBundle } from './bundle.js';
import { loadRun } from './load-run.js';

/**
 * `ealstm export`: the weights of one epoch of a run directory (default: the last), its scaler and config, and a
 * model card (with the test metrics when <run>/test/metrics.csv exists) as a model bundle (bundle.ts).
 */
export function exportRun(runDir: string, output: string, epoch?: number): BundleInfo {
  if (readBundleInfo(runDir)) throw new InputError(`--run-dir ${runDir} is already a model bundle; copy the folder instead`);
  const resolvedOut = path.resolve(output);
  const resolvedRun = path.resolve(runDir);
  if (resolvedOut === resolvedRun || resolvedOut.startsWith(`${resolvedRun}${path.sep}`)) {
    throw new InputError(`--output ${output} is inside the run directory; choose a folder outside it`);
  }
  const run = loadRun(runDir, { epoch, backend: 'reference', threads: 1 });
  const tensors: Record<string, Tensor> = {};
  for (const p of run.model.layout) tensors[p.name] = { shape: p.shape, data: Float64Array.from(run.model.params.subarray(p.offset, p.offset + p.size)) };
  const metricsFile = path.join(runDir, 'test', 'metrics.csv');
  const cardSections: string[] = [];
  if (existsSync(metricsFile)) {
    const table = readCsvTable(metricsFile, 'basin,NSE,...');
    cardSections.push(...metricsSection({ header: table.header, rows: table.rows.map((r) => r.cells) }));
  }
  const basinFile = run.config.train_basin_file;
  return writeBundle(output, {
    trainBasins: existsSync(basinFile) ? readBasinList(basinFile) : [],
    config: run.config,
    scaler: run.scaler,
    tensors,
    source: { kind: 'run', path: resolvedRun, epoch: run.epoch },
    cardSections,
  });
}
