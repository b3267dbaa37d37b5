import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readBasinList } from '../data/basin-list.js';
import { loadPeriod } from '../data/dataset.js';
import type { Period } from '../data/types.js';
import { normalize } from '../data/normalize.js';
import { writeFileAtomic } from '../util/files.js';
import { CORE_METRIC_NAMES, calculateMetricsExplained } from './metrics.js';
import { loadRun } from '../run/load-run.js';
import { withLock } from '../run/lock.js';
import { derivedOutputCommands, replaceResultsFolder, runDirArgs } from '../run/results-folder.js';
import { reportFile } from '../run/run-dir.js';
import { predictBasin, toDischarge } from './predict.js';
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
  /** What the user should know about the output: repaired interruptions, replaced results, stale derived files. */
  notes: string[];
}

/** evaluation.json, written with the results: marks the folder as evaluate's output and says what it holds. */
export const EVALUATION_FILE = 'evaluation.json';

interface EvaluationRecord {
  format: 'ealstm-evaluation';
  period: string;
  epoch: number;
  basins: number;
  written: string;
}

/** The entries evaluate writes into <run>/<period>/; any other entry there was made by another command. */
const EVALUATION_ENTRIES = ['metrics.csv', 'predictions', EVALUATION_FILE];

/** Whether a folder is evaluate's output: it has evaluation.json, or metrics.csv (written before evaluation.json existed). */
function isEvaluationOutput(folder: string): boolean {
  return existsSync(path.join(folder, EVALUATION_FILE)) || existsSync(path.join(folder, 'metrics.csv'));
}

/** "epoch 2, written <time>" for the notes about replaced results. */
function describeEvaluation(folder: string): string | null {
  try {
    const record = JSON.parse(readFileSync(path.join(folder, EVALUATION_FILE), 'utf8')) as EvaluationRecord;
    return `epoch ${record.epoch}, written ${record.written}`;
  } catch {
    return null;
  }
}

/**
 * Evaluates a trained run on a period: predicts every day of every basin, de-normalises and clips at 0 (as the
 * paper), and writes <runDir>/<period>/metrics.csv, predictions/<basin>.csv and evaluation.json. The folder is
 * built aside and swapped in atomically under the run directory's lock, so it is never half-written and a crash
 * leaves the previous or the new results (see run/results-folder.ts).
 */
export function evaluateRun(
  runDir: string,
  options: { period?: Period; epoch?: number; onBasin?: (done: number, total: number) => void; onNote?: (note: string) => void } = {},
): EvaluationSummary {
  const period = options.period ?? 'test';
  const { config, scaler, epoch, model } = loadRun(runDir, { epoch: options.epoch });
  const basinFile = period === 'test' ? config.test_basin_file : config.train_basin_file;
  const basins = normalize(loadPeriod(config, readBasinList(basinFile), period), scaler);

  const outputDir = path.join(runDir, period);
  const results: BasinResult[] = [];
  const evalBatch = Math.max(config.batch_size, 256);
  const writeResults = (staging: string) => {
    mkdirSync(path.join(staging, 'predictions'));
    basins.forEach((basin, index) => {
      const pred = predictBasin(model, basin, config.seq_length, evalBatch);
      const days = pred.length;
      const obs = new Float64Array(days);
      const sim = new Float64Array(days);
      const dates = new Float64Array(days);
      for (let i = 0; i < days; i++) {
        const row = config.seq_length - 1 + i;
        obs[i] = basin.rawTarget[row];
        sim[i] = toDischarge(pred[i], scaler);
        dates[i] = basin.firstDay + row;
      }
      writeFileAtomic(path.join(staging, 'predictions', `${basin.basin}.csv`), predictionsCsv(dates, obs, sim));
      const { values, reasons } = calculateMetricsExplained(obs, sim, dates, CORE_METRIC_NAMES);
      results.push({ basin: basin.basin, metrics: values, reasons });
      options.onBasin?.(index + 1, basins.length);
    });
    writeFileAtomic(path.join(staging, 'metrics.csv'), metricsCsv(results, CORE_METRIC_NAMES));
    const record: EvaluationRecord = { format: 'ealstm-evaluation', period, epoch, basins: results.length, written: new Date().toISOString() };
    writeFileAtomic(path.join(staging, EVALUATION_FILE), `${JSON.stringify(record, null, 2)}\n`);
  };
  // One writer per run directory; the folder is swapped in whole, and what other commands made from the
  // previous results is kept with them (see run/results-folder.ts).
  const { notes } = withLock(
    runDir,
    'evaluate',
    () =>
      replaceResultsFolder({
        target: outputDir,
        ownEntries: EVALUATION_ENTRIES,
        isOwnOutput: isEvaluationOutput,
        notOwnReason: 'was not written by `ealstm evaluate` (it has neither evaluation.json nor metrics.csv)',
        regenerate: derivedOutputCommands(runDir, period),
        report: { file: reportFile(runDir, period), regenerate: `ealstm report ${runDirArgs(runDir, period)}` },
        describeOld: describeEvaluation,
        write: writeResults,
      }),
    options.onNote,
  );
  for (const note of notes) options.onNote?.(note);

  const nse = summarizeMetric(results, 'NSE');
  return { period, epoch, outputDir, results, nse, meanNse: nse.mean, medianNse: nse.median, failures: nse.nonPositive, notes };
}
