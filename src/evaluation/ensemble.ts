/**
 * Ensembles of trained runs, as the paper builds them: the members' simulations (already de-normalised and
 * clipped at 0 by `evaluate`) are averaged day by day, and the metrics are computed anew on that mean.
 *
 * Also the readers of a run's evaluation output that the analysis commands share:
 * `<dir>/<period>/predictions/<basin>.csv` (date,qobs,qsim) and the period folder lookup.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { isoDate, isValidDate, dayNumber } from '../util/dates.js';
import { readTextLines, writeFileAtomic } from '../util/files.js';
import { type BasinResult, metricsCsv, predictionsCsv } from './evaluate.js';
import { csvNumber } from '../util/csv.js';
import { median } from '../util/numeric.js';
import { CORE_METRIC_NAMES, calculateMetrics } from './metrics.js';

// ---------------------------------------------------------------------------------------------------------
// reading evaluation output

/** One basin's predictions file: consecutive or at least strictly ascending days. */
export interface Predictions {
  file: string;
  basin: string;
  /** Day numbers (days since 1970-01-01). */
  dates: Float64Array;
  qobs: Float64Array;
  qsim: Float64Array;
}

/** Marker file of an ensemble directory. */
export const ENSEMBLE_FILE = 'ensemble.json';

export interface EnsembleInfo {
  format: 'ealstm-ensemble';
  period: string;
  /** The member run directories, as absolute paths, in the order given. */
  members: string[];
  basins: number;
}

/**
 * The folder holding a directory's evaluation output for a period: `<dir>/<period>` when it exists, else `dir`
 * itself when it directly holds metrics.csv or predictions/ (the period folder was given); null otherwise.
 */
export function periodDir(dir: string, period: string): string | null {
  const sub = path.join(dir, period);
  if (isDirectory(sub)) return sub;
  if (existsSync(path.join(dir, 'metrics.csv')) || isDirectory(path.join(dir, 'predictions'))) return dir;
  return null;
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The predictions files of a run's (or ensemble's) period, basin -> file, sorted by basin id. Errors name the
 * directory when there are none (the run was not evaluated for that period).
 */
export function listPredictions(dir: string, period: string): Map<string, string> {
  const folder = periodDir(dir, period);
  const predictions = folder ? path.join(folder, 'predictions') : path.join(dir, period, 'predictions');
  const hint = `(run \`ealstm evaluate --run-dir ${dir} --period ${period}\` first)`;
  if (!isDirectory(predictions)) throw new InputError(`${dir}: no ${period} predictions: ${predictions} does not exist ${hint}`);
  const files = readdirSync(predictions)
    .filter((f) => f.endsWith('.csv') && !f.startsWith('.'))
    .sort();
  if (files.length === 0) throw new InputError(`${dir}: no ${period} predictions: ${predictions} holds no <basin>.csv ${hint}`);
  return new Map(files.map((f) => [f.slice(0, -4), path.join(predictions, f)]));
}

/** Splits one CSV line (RFC 4180 quotes allowed). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** A CSV field, quoted when it needs to be. */
export function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Parses a number cell: '' and nan/NaN are missing (NaN); anything else that is not a finite number is an error
 * naming the file, line and column.
 */
export function parseNumberCell(text: string, file: string, line: number, column: string): number {
  const t = text.trim();
  if (t === '' || /^[+-]?nan$/i.test(t)) return Number.NaN;
  const v = Number(t);
  if (!Number.isFinite(v) && !/^[+-]?inf(inity)?$/i.test(t)) {
    throw new InputError(`${file}:${line}: column ${column}: '${text}' is not a number`);
  }
  if (!Number.isFinite(v)) return t.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return v;
}

/** Parses an ISO YYYY-MM-DD date cell strictly (a real calendar date), naming file and line on error. */
export function parseDateCell(text: string, file: string, line: number): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
  if (!parts || !isValidDate(parts[0], parts[1], parts[2])) {
    throw new InputError(`${file}:${line}: column date: '${text}' is not a date (YYYY-MM-DD)`);
  }
  return dayNumber(parts[0], parts[1], parts[2]);
}

/** Reads `<basin>.csv` with columns date,qobs,qsim (any order, other columns ignored). */
export function readPredictions(file: string, basin = path.basename(file, '.csv')): Predictions {
  const lines = readTextLines(file);
  if (lines.length === 0) throw new InputError(`${file}: empty file (expected a header date,qobs,qsim)`);
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError(`${file}: no '${name}' column (header: ${header.join(',')}; expected date,qobs,qsim)`);
    return i;
  };
  const [cd, co, cs] = [col('date'), col('qobs'), col('qsim')];
  const n = lines.length - 1;
  const dates = new Float64Array(n);
  const qobs = new Float64Array(n);
  const qsim = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lineNo = i + 2;
    const cells = splitCsvLine(lines[i + 1]);
    if (cells.length !== header.length) {
      throw new InputError(`${file}:${lineNo}: ${cells.length} fields, the header has ${header.length}`);
    }
    dates[i] = parseDateCell(cells[cd], file, lineNo);
    if (i > 0 && dates[i] <= dates[i - 1]) {
      throw new InputError(`${file}:${lineNo}: date ${isoDate(dates[i])} does not follow ${isoDate(dates[i - 1])} (dates must ascend)`);
    }
    qobs[i] = parseNumberCell(cells[co], file, lineNo, 'qobs');
    qsim[i] = parseNumberCell(cells[cs], file, lineNo, 'qsim');
  }
  if (n === 0) throw new InputError(`${file}: no data rows`);
  return { file, basin, dates, qobs, qsim };
}


/** The ensemble.json of a directory, or null when it is not an ensemble directory. */
export function readEnsembleInfo(dir: string): EnsembleInfo | null {
  const file = path.join(dir, ENSEMBLE_FILE);
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as EnsembleInfo;
    if (!Array.isArray(info.members)) throw new Error('no members list');
    return info;
  } catch (err) {
    throw new InputError(`${file}: not a valid ensemble description (${(err as Error).message})`);
  }
}

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
}

export interface EnsembleSummary {
  period: string;
  outputDir: string;
  members: string[];
  /** Metrics of the ensemble mean, per basin. */
  results: BasinResult[];
  /** Metrics of each member (recomputed from its predictions), [member][basin]. */
  memberResults: BasinResult[][];
  meanNse: number;
  medianNse: number;
  failures: number;
  /** Mean NSE over basins of each member. */
  memberMeanNse: number[];
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
 * The period folder is built under a temporary name and moved into place at the end.
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

  const staging = path.join(out, `.${period}.partial`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, 'predictions'), { recursive: true });
  const results: BasinResult[] = [];
  const memberResults: BasinResult[][] = runDirs.map(() => []);
  const spreadLines = [SPREAD_HEADER.join(',')];
  try {
    basins.forEach((basin, index) => {
      const members = listings.map((l) => readPredictions(l.get(basin) as string, basin));
      const { mean, spread } = averageMembers(members);
      writeFileAtomic(path.join(staging, 'predictions', `${basin}.csv`), predictionsCsv(mean.dates, mean.qobs, mean.qsim));
      const metrics = calculateMetrics(mean.qobs, mean.qsim, mean.dates, CORE_METRIC_NAMES);
      results.push({ basin, metrics });
      const memberNse: number[] = [];
      members.forEach((m, i) => {
        const mm = calculateMetrics(m.qobs, m.qsim, m.dates, CORE_METRIC_NAMES);
        memberResults[i].push({ basin, metrics: mm });
        memberNse.push(mm.NSE);
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
    writeFileAtomic(path.join(staging, 'metrics.csv'), metricsCsv(results));
    writeFileAtomic(path.join(staging, 'spread.csv'), `${spreadLines.join('\n')}\n`);
    const memberHeader = ['basin', 'member', 'run', ...CORE_METRIC_NAMES].join(',');
    const memberLines = basins.flatMap((basin, b) =>
      memberResults.map((r, i) => [basin, String(i + 1), csvField(runDirs[i]), ...CORE_METRIC_NAMES.map((m) => csvNumber(r[b].metrics[m]))].join(',')),
    );
    writeFileAtomic(path.join(staging, 'member_metrics.csv'), `${[memberHeader, ...memberLines].join('\n')}\n`);
    const info: EnsembleInfo = { format: 'ealstm-ensemble', period, members: resolved, basins: basins.length };
    writeFileAtomic(path.join(out, ENSEMBLE_FILE), `${JSON.stringify(info, null, 2)}\n`);
    const target = path.join(out, period);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }

  const nses = results.map((r) => r.metrics.NSE).filter((v) => !Number.isNaN(v));
  const memberMeanNse = memberResults.map((rs) => {
    const v = rs.map((r) => r.metrics.NSE).filter((x) => !Number.isNaN(x));
    return v.reduce((a, b) => a + b, 0) / v.length;
  });
  return {
    period,
    outputDir: path.join(out, period),
    members: resolved,
    results,
    memberResults,
    meanNse: nses.reduce((a, b) => a + b, 0) / nses.length,
    medianNse: median(nses),
    failures: nses.filter((v) => v <= 0).length,
    memberMeanNse,
  };
}
