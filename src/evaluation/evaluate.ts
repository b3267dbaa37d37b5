import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readBasinList } from '../data/basin-list.js';
import { loadPeriod, normalize, type Period } from '../data/dataset.js';
import { writeFileAtomic } from '../util/files.js';
import { CORE_METRIC_NAMES, calculateMetricsExplained } from './metrics.js';
import { loadRun } from '../run/load-run.js';
import { predictBasin } from './predict.js';
import { type BasinResult, metricsCsv, predictionsCsv } from './results-files.js';
import { type MetricSummary, summarizeMetric } from './summary.js';

export interface EvaluationSummary {
  period: Period;
  epoch: number;
  outputDir: string;
  results: BasinResult[];
  /** NSE by the summary rule (summary.ts): over the basins where it is defined, the others named with reasons. */
  nse: MetricSummary;
  meanNse: number;
  medianNse: number;
  failures: number;
}

/**
 * Evaluates a trained run on a period: predicts every day of every basin, de-normalises and clips at 0 (as the
 * paper), and writes <runDir>/<period>/metrics.csv and predictions/<basin>.csv. The folder is built under a
 * temporary name and moved into place at the end, so it is never left half-written.
 */
export function evaluateRun(runDir: string, options: { period?: Period; epoch?: number; onBasin?: (done: number, total: number) => void } = {}): EvaluationSummary {
  const period = options.period ?? 'test';
  const { config, scaler, epoch, model } = loadRun(runDir, { epoch: options.epoch });
  const basinFile = period === 'test' ? config.test_basin_file : config.train_basin_file;
  const basins = normalize(loadPeriod(config, readBasinList(basinFile), period), scaler);

  const outputDir = path.join(runDir, period);
  const staging = path.join(runDir, `.${period}.partial`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, 'predictions'), { recursive: true });
  const results: BasinResult[] = [];
  const evalBatch = Math.max(config.batch_size, 256);
  basins.forEach((basin, index) => {
    const pred = predictBasin(model, basin, config.seq_length, evalBatch);
    const days = pred.length;
    const obs = new Float64Array(days);
    const sim = new Float64Array(days);
    const dates = new Float64Array(days);
    for (let i = 0; i < days; i++) {
      const row = config.seq_length - 1 + i;
      obs[i] = basin.rawTarget[row];
      sim[i] = Math.max(pred[i] * scaler.target_std + scaler.target_mean, 0);
      dates[i] = basin.firstDay + row;
    }
    writeFileAtomic(path.join(staging, 'predictions', `${basin.basin}.csv`), predictionsCsv(dates, obs, sim));
    const { values, reasons } = calculateMetricsExplained(obs, sim, dates, CORE_METRIC_NAMES);
    results.push({ basin: basin.basin, metrics: values, reasons });
    options.onBasin?.(index + 1, basins.length);
  });
  writeFileAtomic(path.join(staging, 'metrics.csv'), metricsCsv(results, CORE_METRIC_NAMES));
  rmSync(outputDir, { recursive: true, force: true });
  renameSync(staging, outputDir);

  const nse = summarizeMetric(results, 'NSE');
  return { period, epoch, outputDir, results, nse, meanNse: nse.mean, medianNse: nse.median, failures: nse.nonPositive };
}
