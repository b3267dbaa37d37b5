/**
 * What a report shows, read from an evaluated run or ensemble directory: the period's metrics.csv (with the
 * reasons of undefined metrics), which basins have predictions, the settings, the training log and the basin
 * coordinates. The files are read by evaluation/results-files.ts, as every other command reads them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadAttributes } from '../data/cache.js';
import { dataSource } from '../data/dataset.js';
import type { Period } from '../data/types.js';
import { InputError } from '../util/errors.js';
import { configFile, type EpochLog, readRunConfig, readTrainLog } from '../run/run-dir.js';
import { isDirectory, type MetricsFile, readEnsembleInfo, readMetricsFile } from '../evaluation/results-files.js';

export interface RunResults {
  runDir: string;
  period: Period;
  periodDir: string;
  predictionsDir: string;
  /** metrics.csv: its metric columns and one row per basin (values, reasons of the missing ones). */
  metrics: MetricsFile;
  /** Basins of metrics.csv that have a predictions/<basin>.csv. */
  withPredictions: string[];
  trainLog: EpochLog[];
  /** The raw config.yml mapping (null if unreadable); for an ensemble directory, its first member's. */
  rawConfig: Record<string, unknown> | null;
  /** The member run directories when runDir is an ensemble directory (ensemble.json from `ealstm ensemble`). */
  ensembleMembers: string[] | null;
  /** Basin coordinates, or the reason why there are none. */
  coordinates: Map<string, { lat: number; lon: number }> | string;
}

export function checkPeriod(period: string): Period {
  if (period !== 'test' && period !== 'train') throw new InputError(`--period must be test or train, got '${period}'`);
  return period;
}

/** The model's name for titles: 'EA-LSTM', 'LSTM', or 'EA-LSTM ensemble of 8'. */
export function modelLabel(results: Pick<RunResults, 'rawConfig' | 'ensembleMembers'>): string {
  const m = results.rawConfig?.model;
  const name = m === 'ealstm' ? 'EA-LSTM' : m === 'lstm' ? 'LSTM' : typeof m === 'string' ? m : 'model';
  return results.ensembleMembers ? `${name} ensemble of ${results.ensembleMembers.length}` : name;
}

export const periodLabel = (period: Period): string => (period === 'test' ? 'test period' : 'training period');

/** The raw config.yml mapping, or null when it cannot be read or parsed (the report then says so). */
function readRawConfig(dir: string): Record<string, unknown> | null {
  try {
    const parsed = parseYaml(readFileSync(configFile(dir), 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Basin -> coordinates from the run's data, or the reason there is no map. */
function readCoordinates(configDir: string, basins: string[]): RunResults['coordinates'] {
  try {
    const config = readRunConfig(configDir);
    const table = loadAttributes(dataSource(config), basins, ['gauge_lat', 'gauge_lon']);
    return new Map(table.basins.map((b, i) => [b, { lat: table.values[i * 2], lon: table.values[i * 2 + 1] }]));
  } catch (err) {
    return `no map: the basin coordinates (gauge_lat, gauge_lon) could not be read (${(err as Error).message.split('\n')[0]})`;
  }
}

/**
 * Reads what a report needs from an evaluated run directory. Throws InputError when the run has no
 * <period>/metrics.csv (run `ealstm evaluate` first), no NSE column, or no predictions.
 */
export function readRunResults(runDir: string, periodName: string = 'test'): RunResults {
  const period = checkPeriod(periodName);
  if (!isDirectory(runDir)) throw new InputError(`run directory ${runDir} does not exist`);
  const ensembleMembers = readEnsembleInfo(runDir)?.members ?? null;
  // The settings (and basin coordinates) of an ensemble are those of its first member that still has them.
  const configDir = ensembleMembers ? ensembleMembers.find((m) => existsSync(configFile(m))) : runDir;
  if (!configDir || !existsSync(configFile(configDir))) {
    throw new InputError(
      ensembleMembers
        ? `ensemble directory ${runDir}: none of its members has a config.yml`
        : `run directory ${runDir}: no config.yml (is this a run directory?)`,
    );
  }
  const periodDir = path.join(runDir, period);
  const metricsFile = path.join(periodDir, 'metrics.csv');
  if (!existsSync(metricsFile)) {
    throw new InputError(`run directory ${runDir}: no ${period}/metrics.csv; run \`ealstm evaluate --run-dir ${runDir} --period ${period}\` first`);
  }
  const predictionsDir = path.join(periodDir, 'predictions');
  const predictionFiles = isDirectory(predictionsDir) ? readdirSync(predictionsDir).filter((f) => f.endsWith('.csv') && !f.startsWith('.')) : [];
  if (predictionFiles.length === 0) {
    throw new InputError(
      `run directory ${runDir}: no predictions in ${predictionsDir} (expected <basin>.csv files); run \`ealstm evaluate --run-dir ${runDir} --period ${period}\` again`,
    );
  }
  const metrics = readMetricsFile(metricsFile);
  if (!metrics.columns.includes('NSE')) throw new InputError(`${metricsFile}: no NSE column (header: basin,${metrics.columns.join(',')})`);
  const available = new Set(predictionFiles.map((f) => f.slice(0, -4)));
  const basins = metrics.rows.map((r) => r.basin);

  let trainLog: EpochLog[] = [];
  try {
    trainLog = ensembleMembers ? [] : readTrainLog(runDir);
  } catch {
    trainLog = [];
  }
  return {
    runDir,
    period,
    periodDir,
    predictionsDir,
    metrics,
    withPredictions: basins.filter((b) => available.has(b)),
    trainLog,
    rawConfig: readRawConfig(configDir),
    ensembleMembers,
    coordinates: readCoordinates(configDir, basins),
  };
}
