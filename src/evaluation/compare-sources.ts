/**
 * The models of a comparison and where their per-basin metrics come from: a model is one or several runs
 * (seeds) of one setup, `NAME=PATH[,PATH...]` with globs; each run is a run or ensemble directory, a CSV of
 * per-basin metrics (read by results-files.ts), or a benchmark's simulations (`sacsma:DIR[#SEED]`).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { expandGlob } from '../util/glob.js';
import { calculateMetricsExplained, type FdcVariant, type MetricName } from './metrics.js';
import { findModelOutputFiles, modelOutputOnObservationDays } from './model-output.js';
import { isDirectory, listPredictions, type Predictions, periodDir, readMetricsFile, readPredictions } from './results-files.js';

/** The paper's Table 3 metrics (NSE first: it is always compared). */
export const DEFAULT_COMPARE_METRICS: readonly MetricName[] = ['NSE', 'alpha_nse', 'beta_nse', 'FHV', 'FMS', 'FLV'];

/** Prefix of a source that is a directory of SAC-SMA `_model_output.txt` files. */
export const SACSMA_PREFIX = 'sacsma:';

/** Per-basin metrics of one run (one seed). */
export interface RunMetrics {
  /** The file or directory it came from. */
  source: string;
  /** Canonical basin id -> metric name -> value (NaN = missing). */
  values: Map<string, Record<string, number>>;
  /** Canonical basin id -> metric name -> why it is missing (for the NaN values). */
  reasons: Map<string, Partial<Record<string, string>>>;
  /** The metrics this source provides. */
  available: MetricName[];
}

/** A model: one or several runs of one setup (seeds). */
export interface ModelMetrics {
  name: string;
  runs: RunMetrics[];
}

export interface ModelSpec {
  name: string;
  /** As given (globs not yet expanded). */
  paths: string[];
}

/** Parses `NAME=PATH[,PATH...]`. */
export function parseModelSpec(text: string): ModelSpec {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : '';
  const paths = eq > 0 ? text.slice(eq + 1).split(',').map((p) => p.trim()).filter((p) => p.length > 0) : [];
  if (!name || paths.length === 0) {
    throw new InputError(`--model '${text}': expected NAME=PATH[,PATH...] (a run or ensemble directory, a metrics CSV, a glob, or sacsma:DIR[#SEED])`);
  }
  return { name, paths };
}

/**
 * The id basins are matched by: a Caravan id `camels_<gauge>` counts as the CAMELS gauge id, and an all-digit
 * 7-character id gets back the leading zero that spreadsheet tools drop from 8-digit USGS gauge ids.
 */
export function basinKey(id: string): string {
  let key = id.trim().replace(/^camels_/, '');
  if (/^\d{7}$/.test(key)) key = `0${key}`;
  return key;
}

/** Per-basin metrics of a CSV (metrics.csv or a published file), keyed by canonical basin id. */
export function readMetricsCsv(file: string): RunMetrics {
  const table = readMetricsFile(file);
  const values = new Map<string, Record<string, number>>();
  const reasons = new Map<string, Partial<Record<string, string>>>();
  const original = new Map<string, string>();
  for (const row of table.rows) {
    const key = basinKey(row.basin);
    if (values.has(key)) throw new InputError(`${file}:${row.line}: basin ${row.basin} appears twice (also as ${original.get(key)})`);
    values.set(key, row.metrics);
    reasons.set(key, row.reasons);
    original.set(key, row.basin);
  }
  return { source: file, values, reasons, available: table.columns };
}

/** Reads all predictions of a directory's period, keyed by canonical basin id. */
export function readAllPredictions(dir: string, period: string): Map<string, Predictions> {
  const out = new Map<string, Predictions>();
  for (const [basin, file] of listPredictions(dir, period)) {
    const key = basinKey(basin);
    if (out.has(key)) throw new InputError(`${file}: basin ${basin} is also in ${out.get(key)?.file}`);
    out.set(key, readPredictions(file, basin));
  }
  return out;
}

export interface LoadOptions {
  /** Period folder of run and ensemble directories (default 'test'). */
  period?: string;
  /** Metrics to load; directories are scored anew from predictions when metrics.csv lacks one. */
  metrics?: readonly MetricName[];
  /** FHV/FMS/FLV definitions for metrics computed here; 'paper' recomputes directories from predictions. */
  fdcVariant?: FdcVariant;
  /** Observations for `sacsma:` sources: a run or ensemble directory with predictions. */
  observations?: Map<string, Predictions>;
}

/** Scores predictions (basin -> series) with the undefined-metric rule: values and reasons per basin. */
function scorePredictions(source: string, predictions: Map<string, Predictions>, metrics: readonly MetricName[], fdcVariant: FdcVariant): RunMetrics {
  const values = new Map<string, Record<string, number>>();
  const reasons = new Map<string, Partial<Record<string, string>>>();
  for (const [key, p] of predictions) {
    const scored = calculateMetricsExplained(p.qobs, p.qsim, p.dates, metrics, { fdcVariant });
    values.set(key, scored.values);
    reasons.set(key, scored.reasons);
  }
  return { source, values, reasons, available: [...metrics] };
}

/** Per-basin metrics of a run or ensemble directory (or a period folder of one). */
export function loadDirectoryMetrics(dir: string, options: LoadOptions = {}): RunMetrics {
  const period = options.period ?? 'test';
  const metrics = options.metrics ?? DEFAULT_COMPARE_METRICS;
  const fdc = options.fdcVariant ?? 'nh';
  const folder = periodDir(dir, period);
  if (!folder) {
    throw new InputError(
      `${dir}: no ${period} results: neither ${path.join(dir, period, 'metrics.csv')} nor ${path.join(dir, period, 'predictions')}/ ` +
        `exists (run \`ealstm evaluate --run-dir ${dir} --period ${period}\` first)`,
    );
  }
  const csv = path.join(folder, 'metrics.csv');
  let why = `${csv} does not exist`;
  if (existsSync(csv)) {
    const fromCsv = readMetricsCsv(csv);
    const missing = metrics.filter((m) => !fromCsv.available.includes(m));
    if (fdc === 'nh' && missing.length === 0) return { ...fromCsv, source: dir };
    why = fdc === 'nh' ? `${csv} has no ${missing.join(', ')}` : 'the paper FDC variant needs them recomputed';
  }
  if (!isDirectory(path.join(folder, 'predictions'))) {
    throw new InputError(
      `${dir}: no ${period} predictions (${path.join(folder, 'predictions')}/) to compute the metrics from (${why}); ` +
        `run \`ealstm evaluate --run-dir ${dir} --period ${period}\` first`,
    );
  }
  return scorePredictions(dir, readAllPredictions(dir, period), metrics, fdc);
}

/** Parses `sacsma:DIR[#SEED]`. */
export function parseSacSmaSource(source: string): { dir: string; seed?: string } {
  const body = source.slice(SACSMA_PREFIX.length);
  const hash = body.lastIndexOf('#');
  if (hash < 0) return { dir: body };
  const seed = body.slice(hash + 1);
  if (!/^\d+$/.test(seed)) throw new InputError(`${source}: the seed after '#' must be a number, got '${seed}'`);
  return { dir: body.slice(0, hash), seed };
}

/** Per-basin metrics of SAC-SMA output, scored on the observation days of a run. */
function loadSacSma(source: string, options: LoadOptions): RunMetrics {
  const { dir, seed } = parseSacSmaSource(source);
  if (!options.observations) {
    throw new InputError(
      `${source}: SAC-SMA output is scored against observations from a run: give --obs-from RUN_DIR, or list a run or ensemble directory as a model`,
    );
  }
  const files = new Map<string, string[]>();
  for (const [basin, list] of findModelOutputFiles(dir, seed)) files.set(basinKey(basin), list);
  const simulations = modelOutputOnObservationDays(files, options.observations);
  if (simulations.size === 0) {
    const some = (keys: string[]) => `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''}`;
    throw new InputError(
      `${source}: none of its ${files.size} basins (${some([...files.keys()])}) has observations in the reference run (${some([...options.observations.keys()])})`,
    );
  }
  return scorePredictions(source, simulations, options.metrics ?? DEFAULT_COMPARE_METRICS, options.fdcVariant ?? 'nh');
}

/** Per-basin metrics of one source: a directory, a metrics CSV, or sacsma:DIR[#SEED]. */
export function loadSource(source: string, options: LoadOptions = {}): RunMetrics {
  if (source.startsWith(SACSMA_PREFIX)) return loadSacSma(source, options);
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(source);
  } catch {
    throw new InputError(`${source}: no such file or directory`);
  }
  if (stats.isDirectory()) return loadDirectoryMetrics(source, options);
  return readMetricsCsv(source);
}

/** The sources of a spec: globs expanded (an unmatched glob is an error), each source once. */
export function expandSpecPaths(spec: ModelSpec): string[] {
  const sources: string[] = [];
  for (const p of spec.paths) {
    if (p.startsWith(SACSMA_PREFIX)) {
      sources.push(p);
      continue;
    }
    const matched = expandGlob(p);
    if (matched.length === 0) throw new InputError(`model ${spec.name}: the pattern ${p} matches no file or directory`);
    sources.push(...matched);
  }
  const seen = new Set<string>();
  for (const s of sources) {
    const key = s.startsWith(SACSMA_PREFIX) ? s : path.resolve(s);
    if (seen.has(key)) throw new InputError(`model ${spec.name}: ${s} is given twice`);
    seen.add(key);
  }
  return sources;
}

/** Expands a spec's globs and loads every run. */
export function loadModel(spec: ModelSpec, options: LoadOptions = {}): ModelMetrics {
  return { name: spec.name, runs: expandSpecPaths(spec).map((s) => loadSource(s, options)) };
}
