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
import { readRunConfig } from '../run/run-dir.js';
import { isoDate } from '../util/dates.js';
import { writeFileAtomic } from '../util/files.js';
import { csvNumber } from '../util/csv.js';
import { listPredictions, periodDir, readEnsembleInfo, readPredictions } from './results-files.js';
import { calculateSignatures, SIGNATURE_NAMES, type SignatureName } from './signatures.js';

export interface BasinSignatures {
  basin: string;
  obs: Record<SignatureName, number>;
  sim: Record<SignatureName, number>;
}

export interface SignatureRunOptions {
  /** A run directory, or an ensemble directory (its first member's config gives the data source). */
  runDir: string;
  /** Default 'test'. */
  period?: string;
  /** Precipitation column of the data (default: the first dynamic input, then data column, named like prcp/precip). */
  precipColumn?: string;
  onBasin?: (done: number, total: number) => void;
}

export interface SignatureRunResult {
  file: string;
  precipColumn: string;
  results: BasinSignatures[];
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
    results.push({ basin, obs: calculateSignatures(p.qobs, prcp, p.dates), sim: calculateSignatures(p.qsim, prcp, p.dates) });
    options.onBasin?.(++index, predictions.size);
  }
  const folder = periodDir(options.runDir, period) as string;
  const file = path.join(folder, 'signatures.csv');
  writeFileAtomic(file, signaturesCsv(results));
  return { file, precipColumn, results };
}

export function signaturesCsv(results: BasinSignatures[]): string {
  const header = ['basin', ...SIGNATURE_NAMES.flatMap((s) => [`${s}_obs`, `${s}_sim`])];
  const rows = results.map((r) => [r.basin, ...SIGNATURE_NAMES.flatMap((s) => [csvNumber(r.obs[s]), csvNumber(r.sim[s])])].join(','));
  return `${[header.join(','), ...rows].join('\n')}\n`;
}
