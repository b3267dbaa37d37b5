/**
 * Ensembles of trained runs, as the paper builds them: the members' simulations (already de-normalised and
 * clipped at 0 by `evaluate`) are averaged day by day, and the metrics are computed anew on that mean.
 * The files read and written are those of results-files.ts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { isoDate } from '../util/dates.js';
import { removeEmptyFolders, writeFileAtomic } from '../util/files.js';
import { csvField, csvNumber } from '../util/csv.js';
import { CORE_METRIC_NAMES, calculateMetricsExplained } from './metrics.js';
import {
  type BasinResult,
  ENSEMBLE_FILE,
  type EnsembleInfo,
  formatNote,
  listPredictions,
  metricsCsv,
  type Predictions,
  predictionsCsv,
  readEnsembleInfo,
  readPredictions,
} from './results-files.js';
import { withLock } from '../run/lock.js';
import { derivedOutputCommands, replaceResultsFolder } from '../run/results-folder.js';
import { createRunDirectory } from '../run/run-dir.js';
import { type MetricSummary, summarizeMetric } from './summary.js';

// ---------------------------------------------------------------------------------------------------------
// averaging

/** Two observation values agree if both are missing or they match to the 10 digits the files carry. */
function sameObservation(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Day-by-day mean of the members' simulations of one basin. The members must have the same dates and the same
 * observations (runs of one setup on one period); a NaN simulation of any member makes the day's mean NaN.
 * Also returns, per day, the members' population standard deviation (the spread of the simulation).
 */
export function averageMembers(members: Predictions[]): { mean: Predictions; spread: Float64Array } {
  if (members.length === 0) throw new RangeError('averageMembers needs at least one member');
  const first = members[0];
  const n = first.dates.length;
  for (const m of members.slice(1)) {
    if (m.dates.length !== n || m.dates[0] !== first.dates[0] || m.dates[n - 1] !== first.dates[n - 1]) {
      throw new InputError(
        `${m.file}: dates ${isoDate(m.dates[0])}..${isoDate(m.dates[m.dates.length - 1])} (${m.dates.length} days) differ from ` +
          `${first.file}: ${isoDate(first.dates[0])}..${isoDate(first.dates[n - 1])} (${n} days); ensemble members must cover the same days`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (m.dates[i] !== first.dates[i]) {
        throw new InputError(`${m.file}: row ${i + 2} is ${isoDate(m.dates[i])}, but ${first.file} has ${isoDate(first.dates[i])} there`);
      }
      if (!sameObservation(m.qobs[i], first.qobs[i])) {
        throw new InputError(
          `${m.file}: qobs on ${isoDate(m.dates[i])} is ${csvNumber(m.qobs[i]) || 'missing'}, but ${first.file} has ` +
            `${csvNumber(first.qobs[i]) || 'missing'}; ensemble members must share the observations (same data and period)`,
        );
      }
    }
  }
  const k = members.length;
  const qsim = new Float64Array(n);
  const spread = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const m of members) s += m.qsim[i];
    const mean = s / k;
    let ss = 0;
    for (const m of members) ss += (m.qsim[i] - mean) ** 2;
    qsim[i] = Number(mean.toPrecision(10)); // as written, so metrics.csv can be recomputed from the file
    spread[i] = Math.sqrt(ss / k);
  }
  return { mean: { file: '', basin: first.basin, dates: first.dates, qobs: first.qobs, qsim }, spread };
}

// ---------------------------------------------------------------------------------------------------------
// the ensemble command

export interface EnsembleOptions {
  runDirs: string[];
  output: string;
  /** Default 'test'. */
  period?: string;
  onBasin?: (done: number, total: number) => void;
  /** Things the user should know that are not errors (see EnsembleSummary.notes, a stale lock taken over). */
  onNote?: (note: string) => void;
}

export interface EnsembleSummary {
  period: string;
  outputDir: string;
  members: string[];
  /** Metrics of the ensemble mean, per basin. */
  results: BasinResult[];
  /** Metrics of each member (recomputed from its predictions), [member][basin]. */
  memberResults: BasinResult[][];
  /** NSE of the ensemble mean, by the summary rule (summary.ts). */
  nse: MetricSummary;
  meanNse: number;
  medianNse: number;
  failures: number;
  /** Mean NSE over basins of each member (over the basins where it is defined). */
  memberMeanNse: number[];
  /** What the user should know about the output: repaired interruptions, replaced results, stale derived files. */
  notes: string[];
}

/** The entries ensemble writes into <output>/<period>/; any other entry there was made by another command. */
const ENSEMBLE_ENTRIES = ['metrics.csv', 'predictions', 'spread.csv', 'member_metrics.csv', ENSEMBLE_FILE];

/**
 * Whether `folder` (<output>/<period>) is an ensemble output: it has its own ensemble.json, or (as written before
 * that copy existed) <output> has one and the folder has metrics.csv.
 */
function isEnsembleOutput(output: string, folder: string): boolean {
  if (existsSync(path.join(folder, ENSEMBLE_FILE))) return true;
  return existsSync(path.join(folder, 'metrics.csv')) && readEnsembleInfo(output) !== null;
}

const SPREAD_HEADER = ['basin', 'members', 'NSE_ensemble', 'NSE_member_mean', 'NSE_member_std', 'NSE_member_min', 'NSE_member_max', 'qsim_std_mean'];

/**
 * Builds an ensemble of evaluated runs: for every basin, the members' predictions of the period are averaged
 * day by day and scored with the evaluation's metrics. Writes, under `output`:
 * - ensemble.json (members, period),
 * - <period>/metrics.csv and <period>/predictions/<basin>.csv, the same files as `evaluate`,
 * - <period>/member_metrics.csv (basin,member,run,<metrics>: each member's metrics on the same days),
 * - <period>/spread.csv (per basin: the members' NSE mean, std (ddof 0), min and max, and the mean over days of
 *   the members' daily standard deviation of qsim).
 * The period folder (with a copy of ensemble.json) is built aside and swapped in atomically under the output
 * folder's lock; an existing <output>/<period> that is not an ensemble output is never replaced.
 */
export function buildEnsemble(options: EnsembleOptions): EnsembleSummary {
  const period = options.period ?? 'test';
  const runDirs = options.runDirs;
  if (runDirs.length < 2) throw new InputError(`an ensemble needs at least 2 run directories, got ${runDirs.length}`);
  const resolved = runDirs.map((d) => path.resolve(d));
  const out = path.resolve(options.output);
  if (existsSync(path.join(out, 'config.yml'))) {
    throw new InputError(`--output ${options.output} is a run directory (it has config.yml); choose a new folder for the ensemble`);
  }
  if (resolved.includes(out)) throw new InputError(`--output ${options.output} is one of the members`);
  const seen = new Set<string>();
  resolved.forEach((d, i) => {
    if (seen.has(d)) throw new InputError(`run directory ${runDirs[i]} is given twice`);
    seen.add(d);
  });

  const listings = runDirs.map((d) => listPredictions(d, period));
  const basins = [...listings[0].keys()];
  listings.forEach((l, i) => {
    for (const b of basins) {
      if (!l.has(b)) throw new InputError(`${runDirs[i]}: no ${period} predictions for basin ${b}, which ${runDirs[0]} has`);
    }
    for (const b of l.keys()) {
      if (!listings[0].has(b)) throw new InputError(`${runDirs[0]}: no ${period} predictions for basin ${b}, which ${runDirs[i]} has`);
    }
  });

  const results: BasinResult[] = [];
  const memberResults: BasinResult[][] = runDirs.map(() => []);
  const info: EnsembleInfo = { format: 'ealstm-ensemble', period, members: resolved, basins: basins.length };
  const infoJson = `${JSON.stringify(info, null, 2)}\n`;
  const writeResults = (staging: string) => {
    mkdirSync(path.join(staging, 'predictions'));
    const spreadLines = [SPREAD_HEADER.join(',')];
    basins.forEach((basin, index) => {
      const members = listings.map((l) => readPredictions(l.get(basin) as string, basin));
      const { mean, spread } = averageMembers(members);
      writeFileAtomic(path.join(staging, 'predictions', `${basin}.csv`), predictionsCsv(mean.dates, mean.qobs, mean.qsim));
      const { values: metrics, reasons } = calculateMetricsExplained(mean.qobs, mean.qsim, mean.dates, CORE_METRIC_NAMES);
      results.push({ basin, metrics, reasons });
      const memberNse: number[] = [];
      members.forEach((m, i) => {
        const mm = calculateMetricsExplained(m.qobs, m.qsim, m.dates, CORE_METRIC_NAMES);
        memberResults[i].push({ basin, metrics: mm.values, reasons: mm.reasons });
        memberNse.push(mm.values.NSE);
      });
      const nseMean = memberNse.reduce((a, b) => a + b, 0) / memberNse.length;
      const nseStd = Math.sqrt(memberNse.reduce((a, b) => a + (b - nseMean) ** 2, 0) / memberNse.length);
      const validSpread = Array.from(spread).filter((v) => !Number.isNaN(v));
      const spreadMean = validSpread.reduce((a, b) => a + b, 0) / validSpread.length;
      spreadLines.push(
        [basin, String(members.length), ...[metrics.NSE, nseMean, nseStd, Math.min(...memberNse), Math.max(...memberNse), spreadMean].map((v) => csvNumber(v))].join(','),
      );
      options.onBasin?.(index + 1, basins.length);
    });
    writeFileAtomic(path.join(staging, 'metrics.csv'), metricsCsv(results, CORE_METRIC_NAMES));
    writeFileAtomic(path.join(staging, 'spread.csv'), `${spreadLines.join('\n')}\n`);
    const memberHeader = ['basin', 'member', 'run', ...CORE_METRIC_NAMES, 'note'].join(',');
    const memberLines = basins.flatMap((basin, b) =>
      memberResults.map((r, i) =>
        [basin, String(i + 1), csvField(runDirs[i]), ...CORE_METRIC_NAMES.map((m) => csvNumber(r[b].metrics[m])), csvField(formatNote(r[b].reasons))].join(','),
      ),
    );
    writeFileAtomic(path.join(staging, 'member_metrics.csv'), `${[memberHeader, ...memberLines].join('\n')}\n`);
    // A copy inside the period folder travels with the results it describes, and marks the folder as ours.
    writeFileAtomic(path.join(staging, ENSEMBLE_FILE), infoJson);
  };

  // One writer per ensemble directory; the period folder is swapped in whole, never replacing a folder that is
  // not an ensemble output, and what other commands made from the previous results is kept with them.
  const firstCreated = createRunDirectory(out);
  let notes: string[];
  try {
    notes = withLock(
      out,
      'ensemble',
      () => {
        const outcome = replaceResultsFolder({
          target: path.join(out, period),
          ownEntries: ENSEMBLE_ENTRIES,
          isOwnOutput: (folder) => isEnsembleOutput(out, folder),
          notOwnReason: `is not an ensemble output of ealstm (neither it nor ${options.output} has ${ENSEMBLE_FILE})`,
          regenerate: derivedOutputCommands(out, period),
          write: writeResults,
        });
        writeFileAtomic(path.join(out, ENSEMBLE_FILE), infoJson);
        return outcome.notes;
      },
      options.onNote,
    );
  } catch (err) {
    // The folders this call made (--output and missing parents), if they stayed empty: never anything else.
    if (firstCreated) removeEmptyFolders(out, firstCreated);
    throw err;
  }
  for (const note of notes) options.onNote?.(note);

  const nse = summarizeMetric(results, 'NSE');
  return {
    period,
    outputDir: path.join(out, period),
    members: resolved,
    results,
    memberResults,
    nse,
    meanNse: nse.mean,
    medianNse: nse.median,
    failures: nse.nonPositive,
    memberMeanNse: memberResults.map((rs) => summarizeMetric(rs, 'NSE').mean),
    notes,
  };
}
