/**
 * The files an evaluation writes and every later command reads (ensemble, compare, signatures, report,
 * analyses): `<dir>/<period>/metrics.csv` and `<dir>/<period>/predictions/<basin>.csv`, and the ensemble
 * marker `ensemble.json`. One writer and one reader for each, in the CSV dialect of util/csv.ts.
 *
 * metrics.csv: `basin,<metric>...,note`. A metric without a defined value (see calculateMetricsExplained) is an
 * empty cell, and the `note` cell says why, per metric: `NSE, alpha_nse: constant observed flow (...); FHV: ...`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { interruptedPublish } from '../run/publish.js';
import { dayNumber, isoDate, isValidDate } from '../util/dates.js';
import { csvField, csvNumber, isMissingCell, parseNumberCell } from '../util/csv.js';
import { readCsvTable } from '../util/csv-file.js';
import { METRIC_NAMES, type MetricName } from './metrics.js';

// ---------------------------------------------------------------------------------------------------------
// metrics.csv

/** One basin's metrics; `reasons` holds, for each metric without a value (NaN), why it has none. */
export interface BasinResult {
  basin: string;
  metrics: Record<string, number>;
  reasons: Partial<Record<string, string>>;
}

/** The name of metrics.csv's reasons column. */
export const NOTE_COLUMN = 'note';

/** The note cell of a basin: its reasons, metrics with the same reason grouped (`NSE, KGE: why; FHV: why`). */
export function formatNote(reasons: Partial<Record<string, string>>): string {
  const byReason = new Map<string, string[]>();
  for (const [metric, reason] of Object.entries(reasons)) {
    if (!reason) continue;
    byReason.set(reason, [...(byReason.get(reason) ?? []), metric]);
  }
  return [...byReason].map(([reason, metrics]) => `${metrics.join(', ')}: ${reason}`).join('; ');
}

/** The reasons of a note cell (the inverse of formatNote); a note in another form counts for every metric. */
export function parseNote(note: string, metrics: readonly string[]): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  const text = note.trim();
  if (!text) return out;
  for (const part of text.split('; ')) {
    const colon = part.indexOf(': ');
    const names = colon > 0 ? part.slice(0, colon).split(', ') : [];
    if (names.length > 0 && names.every((n) => metrics.includes(n))) {
      for (const n of names) out[n] = part.slice(colon + 2);
    } else {
      for (const m of metrics) out[m] ??= text;
    }
  }
  return out;
}

export function metricsCsv(results: BasinResult[], metrics: readonly string[]): string {
  const header = ['basin', ...metrics, NOTE_COLUMN];
  const rows = results.map((r) => [r.basin, ...metrics.map((m) => csvNumber(r.metrics[m])), csvField(formatNote(r.reasons))].join(','));
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

/** A metrics file as read: the metric columns it has, and one BasinResult per row (with its line number). */
export interface MetricsFile {
  file: string;
  /** Metric columns, in the file's order. */
  columns: MetricName[];
  rows: (BasinResult & { line: number })[];
}

/** Header name -> metric: exact first, then case-insensitive (so a published `nse` column counts as NSE). */
export function metricOfName(name: string): MetricName | null {
  const exact = METRIC_NAMES.find((m) => m === name);
  if (exact) return exact;
  return METRIC_NAMES.find((m) => m.toLowerCase() === name.toLowerCase()) ?? null;
}

/**
 * Reads a CSV of per-basin metrics: ours (metrics.csv) or a published one. A `basin` (or `gauge_id`) column and
 * metric columns named as in METRIC_NAMES (case-insensitive); a `note` column gives the reasons of missing
 * values; other columns (a pandas index, extra statistics) are ignored. Missing values follow util/csv.ts, and
 * an infinite metric (numpy's NSE of constant observations) is missing too. A missing value without a reason
 * in the note gets 'no value in <file>'. Every problem is an error naming the file, line and column.
 */
export function readMetricsFile(file: string): MetricsFile {
  const table = readCsvTable(file, 'with a basin column and metric columns');
  const header = table.header;
  const basinCol = header.findIndex((h) => h.toLowerCase() === 'basin' || h.toLowerCase() === 'gauge_id');
  if (basinCol < 0) throw new InputError(`${file}: no 'basin' column (header: ${header.join(',')})`);
  const noteCol = header.findIndex((h) => h.toLowerCase() === NOTE_COLUMN);
  const metricCols: [number, MetricName][] = [];
  const taken = new Set<MetricName>();
  // exact names claim their metric before case-insensitive ones
  for (const exactPass of [true, false]) {
    header.forEach((h, i) => {
      const m = metricOfName(h);
      if (!m || taken.has(m) || exactPass !== (m === h)) return;
      taken.add(m);
      metricCols.push([i, m]);
    });
  }
  metricCols.sort((a, b) => a[0] - b[0]);
  if (metricCols.length === 0) {
    throw new InputError(`${file}: no metric columns (header: ${header.join(',')}; known metrics: ${METRIC_NAMES.join(', ')})`);
  }
  const columns = metricCols.map(([, m]) => m);
  const seen = new Map<string, number>();
  const rows = table.rows.map(({ line, cells }) => {
    const basin = cells[basinCol].trim();
    if (!basin) throw new InputError(`${file}:${line}: empty basin id`);
    if (seen.has(basin)) throw new InputError(`${file}:${line}: basin ${basin} appears twice (also on line ${seen.get(basin)})`);
    seen.set(basin, line);
    const reasons = noteCol >= 0 ? parseNote(cells[noteCol], columns) : {};
    const metrics: Record<string, number> = {};
    for (const [c, m] of metricCols) {
      metrics[m] = parseNumberCell(cells[c], file, line, header[c], { infinite: 'missing' });
      if (!Number.isNaN(metrics[m])) delete reasons[m];
      else if (!reasons[m]) reasons[m] = isMissingCell(cells[c]) ? `no value in ${file}` : `'${cells[c].trim()}' in ${file}`;
    }
    return { basin, line, metrics, reasons };
  });
  if (rows.length === 0) throw new InputError(`${file}: no basins (only a header)`);
  return { file, columns, rows };
}

// ---------------------------------------------------------------------------------------------------------
// predictions/<basin>.csv

/** One basin's predictions file: strictly ascending days. */
export interface Predictions {
  file: string;
  basin: string;
  /** Day numbers (days since 1970-01-01). */
  dates: Float64Array;
  qobs: Float64Array;
  qsim: Float64Array;
}

/** A predictions file: date,qobs,qsim in mm/day. */
export function predictionsCsv(dates: ArrayLike<number>, qobs: ArrayLike<number>, qsim: ArrayLike<number>): string {
  const lines = ['date,qobs,qsim'];
  for (let i = 0; i < dates.length; i++) lines.push(`${isoDate(dates[i])},${csvNumber(qobs[i])},${csvNumber(qsim[i])}`);
  return `${lines.join('\n')}\n`;
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
  const table = readCsvTable(file, 'date,qobs,qsim');
  const col = (name: string): number => {
    const i = table.header.indexOf(name);
    if (i < 0) throw new InputError(`${file}: no '${name}' column (header: ${table.header.join(',')}; expected date,qobs,qsim)`);
    return i;
  };
  const [cd, co, cs] = [col('date'), col('qobs'), col('qsim')];
  const n = table.rows.length;
  if (n === 0) throw new InputError(`${file}: no data rows`);
  const dates = new Float64Array(n);
  const qobs = new Float64Array(n);
  const qsim = new Float64Array(n);
  table.rows.forEach(({ line, cells }, i) => {
    dates[i] = parseDateCell(cells[cd], file, line);
    if (i > 0 && dates[i] <= dates[i - 1]) {
      throw new InputError(`${file}:${line}: date ${isoDate(dates[i])} does not follow ${isoDate(dates[i - 1])} (dates must ascend)`);
    }
    qobs[i] = parseNumberCell(cells[co], file, line, 'qobs');
    qsim[i] = parseNumberCell(cells[cs], file, line, 'qsim');
  });
  return { file, basin, dates, qobs, qsim };
}

// ---------------------------------------------------------------------------------------------------------
// folders

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
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

/**
 * The predictions files of a run's (or ensemble's) period, basin -> file, sorted by basin id. Errors name the
 * directory when there are none (the run was not evaluated for that period).
 */
export function listPredictions(dir: string, period: string): Map<string, string> {
  const folder = periodDir(dir, period);
  const predictions = folder ? path.join(folder, 'predictions') : path.join(dir, period, 'predictions');
  const aside = interruptedPublish(path.join(dir, period));
  const hint = aside
    ? `(an interrupted command left the previous results in ${aside}: the next \`ealstm evaluate\` or \`ealstm ensemble\` there puts them back first, or rename it to ${period})`
    : `(run \`ealstm evaluate --run-dir ${dir} --period ${period}\` first)`;
  if (!isDirectory(predictions)) throw new InputError(`${dir}: no ${period} predictions: ${predictions} does not exist ${hint}`);
  const files = readdirSync(predictions)
    .filter((f) => f.endsWith('.csv') && !f.startsWith('.'))
    .sort();
  if (files.length === 0) throw new InputError(`${dir}: no ${period} predictions: ${predictions} holds no <basin>.csv ${hint}`);
  return new Map(files.map((f) => [f.slice(0, -4), path.join(predictions, f)]));
}

// ---------------------------------------------------------------------------------------------------------
// ensemble.json

/** Marker file of an ensemble directory. */
export const ENSEMBLE_FILE = 'ensemble.json';

export interface EnsembleInfo {
  format: 'ealstm-ensemble';
  period: string;
  /** The member run directories, as absolute paths, in the order given. */
  members: string[];
  basins: number;
}

/** The ensemble.json of a directory (members resolved against it), or null when it is not an ensemble directory. */
export function readEnsembleInfo(dir: string): EnsembleInfo | null {
  const file = path.join(dir, ENSEMBLE_FILE);
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as EnsembleInfo;
    if (!Array.isArray(info.members) || info.members.length === 0) throw new Error('no members list');
    return { ...info, members: info.members.map((m) => path.resolve(dir, String(m))) };
  } catch (err) {
    throw new InputError(`${file}: not a valid ensemble description (${(err as Error).message})`);
  }
}
