/**
 * The 13 hydrological signatures (neuralhydrology's definitions, src/evaluation/signatures.ts) of the observed
 * and the simulated discharge of an evaluated run or ensemble, per basin, with the run's precipitation for
 * runoff_ratio and stream_elas.
 */
import path from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { loadBasinCached } from '../data/cache.js';
import { dataSource } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import { type DirectoryLock, withLock } from '../run/lock.js';
import { readRunConfig } from '../run/run-dir.js';
import { dateParts, dayNumber, isoDate } from '../util/dates.js';
import { writeFileAtomic } from '../util/files.js';
import { csvField, csvNumber } from '../util/csv.js';
import { formatNote, listPredictions, NOTE_COLUMN, periodDir, readEnsembleInfo, readPredictions } from './results-files.js';
import { calculateSignatures, SIGNATURE_NAMES, type SignatureName } from './signatures.js';
import { describeLeftOut } from './summary.js';

export interface BasinSignatures {
  basin: string;
  obs: Record<SignatureName, number>;
  sim: Record<SignatureName, number>;
  /** Column (`<signature>_obs` or `_sim`) -> why it has no value, for each signature without one. */
  reasons: Partial<Record<string, string>>;
}

export interface SignatureRunOptions {
  /** A run directory, or an ensemble directory (its first member's config gives the data source). */
  runDir: string;
  /** Default 'test'. */
  period?: string;
  /** Precipitation column of the data (default: the first dynamic input, then data column, named like prcp/precip). */
  precipColumn?: string;
  onBasin?: (done: number, total: number) => void;
  /** Notes for the user (a stale lock taken over). */
  onNote?: (note: string) => void;
  /** The lock of `runDir` when the caller already holds it; otherwise it is taken here. */
  lock?: DirectoryLock;
}

export interface SignatureRunResult {
  file: string;
  precipColumn: string;
  results: BasinSignatures[];
  /** What was computed, by the summary rule: 'signatures of 5 basins; 2 basins without a defined value of some signature: ...'. */
  summary: string;
}

/** The run's config; for an ensemble directory, its first member's. */
export function configOfRunOrEnsemble(dir: string): RunConfig {
  const ensemble = readEnsembleInfo(dir);
  if (ensemble) {
    if (ensemble.members.length === 0) throw new InputError(`${path.join(dir, 'ensemble.json')}: no members`);
    return readRunConfig(ensemble.members[0]);
  }
  return readRunConfig(dir);
}

const PRECIP_PATTERN = /prcp|precip/i;

/** Picks the precipitation column: the requested one (must exist), else a dynamic input, else any data column like prcp/precip. */
export function choosePrecipColumn(variables: string[], dynamicInputs: string[], requested: string | undefined, basin: string): string {
  if (requested !== undefined) {
    if (!variables.includes(requested)) {
      throw new InputError(`basin ${basin}: precipitation column '${requested}' is not in the data (available: ${variables.join(', ')})`);
    }
    return requested;
  }
  const found = dynamicInputs.find((v) => PRECIP_PATTERN.test(v) && variables.includes(v)) ?? variables.find((v) => PRECIP_PATTERN.test(v));
  if (!found) {
    throw new InputError(`basin ${basin}: no precipitation column in the data (available: ${variables.join(', ')}); name one with --precip`);
  }
  return found;
}

/**
 * Computes the signatures of qobs and qsim of every basin of the run's period and writes
 * `<run>/<period>/signatures.csv`: basin, then `<signature>_obs,<signature>_sim` for the 13 signatures.
 * The series are taken as they are in the predictions files (qobs with its gaps, qsim complete).
 */
export function runSignatures(options: SignatureRunOptions): SignatureRunResult {
  // Under the directory's lock: evaluate (or ensemble) swapping the predictions in while they are read would give
  // signatures of half old, half new results.
  return withLock(options.runDir, 'signatures', () => signaturesOfRun(options), options.onNote, options.lock);
}

function signaturesOfRun(options: SignatureRunOptions): SignatureRunResult {
  const period = options.period ?? 'test';
  const predictions = listPredictions(options.runDir, period);
  const config = configOfRunOrEnsemble(options.runDir);
  const source = dataSource(config);
  const results: BasinSignatures[] = [];
  let precipColumn = options.precipColumn ?? '';
  let index = 0;
  for (const [basin, file] of predictions) {
    const p = readPredictions(file, basin);
    const series = loadBasinCached(source, basin);
    const column = choosePrecipColumn(series.variables, config.dynamic_inputs, options.precipColumn, basin);
    precipColumn = column;
    const c = series.variables.indexOf(column);
    const width = series.variables.length;
    const prcp = new Float64Array(p.dates.length);
    for (let i = 0; i < p.dates.length; i++) {
      const row = p.dates[i] - series.startDay;
      if (row < 0 || row >= series.length) {
        throw new InputError(
          `${file}: date ${isoDate(p.dates[i])} is outside the data of basin ${basin} (${isoDate(series.startDay)}..${isoDate(series.startDay + series.length - 1)})`,
        );
      }
      prcp[i] = series.values[row * width + c];
    }
    const obs = calculateSignatures(p.qobs, prcp, p.dates);
    const sim = calculateSignatures(p.qsim, prcp, p.dates);
    const reasons: Partial<Record<string, string>> = {};
    for (const [suffix, values, q] of [['obs', obs, p.qobs], ['sim', sim, p.qsim]] as const) {
      for (const name of SIGNATURE_NAMES) {
        if (Number.isFinite(values[name])) continue;
        values[name] = Number.NaN; // no value: an empty cell, never ±Infinity
        reasons[`${name}_${suffix}`] = signatureReason(name, q, prcp, p.dates);
      }
    }
    results.push({ basin, obs, sim, reasons });
    options.onBasin?.(++index, predictions.size);
  }
  const folder = periodDir(options.runDir, period) as string;
  const file = path.join(folder, 'signatures.csv');
  writeFileAtomic(file, signaturesCsv(results));
  return { file, precipColumn, results, summary: describeSignatures(results) };
}

/** signatures.csv: basin, `<signature>_obs,<signature>_sim` for the 13 signatures, and the note of missing values. */
export function signaturesCsv(results: BasinSignatures[]): string {
  const header = ['basin', ...SIGNATURE_NAMES.flatMap((s) => [`${s}_obs`, `${s}_sim`]), NOTE_COLUMN];
  const rows = results.map((r) =>
    [r.basin, ...SIGNATURE_NAMES.flatMap((s) => [csvNumber(r.obs[s]), csvNumber(r.sim[s])]), csvField(formatNote(r.reasons))].join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

/** 'signatures of 3 basins' and, by the summary rule, the basins where some signature has no value, with reasons. */
export function describeSignatures(results: BasinSignatures[]): string {
  const gaps = results.filter((r) => Object.keys(r.reasons).length > 0).map((r) => ({ basin: r.basin, reason: formatNote(r.reasons) }));
  const head = `signatures of ${results.length} basin${results.length === 1 ? '' : 's'}`;
  return gaps.length > 0 ? `${head}; ${describeLeftOut(gaps, 'value of some signature', 3)}` : head;
}

/** Whether [first, last] holds a whole year starting on `month`/1 that ends before `last` (neuralhydrology's windows). */
function hasWholeYear(first: number, last: number, month: 1 | 10): boolean {
  const { year } = dateParts(first);
  const start = first > dayNumber(year, month, 1) ? dayNumber(year + 1, month, 1) : dayNumber(year, month, 1);
  return dayNumber(dateParts(start).year + 1, month, 1) <= last;
}

/** Why a signature of `q` has no value (it was NaN or infinite), in words. */
function signatureReason(name: SignatureName, q: Float64Array, prcp: Float64Array, days: Float64Array): string {
  const values = Array.from(q).filter((v) => !Number.isNaN(v));
  if (values.length === 0) return 'no flow value';
  const [first, last] = [days[0], days[days.length - 1]];
  switch (name) {
    case 'high_q_freq':
    case 'low_q_freq':
      return hasWholeYear(first, last, 1) ? 'not defined for this series' : 'no whole calendar year before the last day';
    case 'hfd_mean':
    case 'stream_elas':
      return hasWholeYear(first, last, 10) ? 'not defined for this series (e.g. no flow in a water year)' : 'no whole water year (from October 1) before the last day';
    case 'high_q_dur':
      return 'no day above 9 times the median flow';
    case 'low_q_dur':
      return 'no day below 0.2 times the mean flow';
    case 'baseflow_index':
      return 'no stretch of more than 30 days without a missing value, or no flow';
    case 'runoff_ratio':
      return prcp.every((v) => Number.isNaN(v) || v === 0) ? 'no precipitation' : 'not defined for this series';
    default:
      return 'not defined for this series';
  }
}
