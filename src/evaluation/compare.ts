/**
 * Comparison of models on per-basin metrics, as the paper's Tables 2 and 3 and its significance tests
 * (kratzert/ealstm_regional_modeling, notebooks/performance.ipynb):
 * - a model is one or several runs (seeds) of one setup; each run gives per-basin metrics from a run or
 *   ensemble directory, a CSV of per-basin metrics, or a benchmark's simulations (SAC-SMA model output);
 * - everything is restricted to the basins that all runs of all models share;
 * - per run: mean and median NSE, the number of basins with NSE <= 0 and the median of every other metric;
 *   a multi-run model shows the mean ± population std (np.std) of these over its runs;
 * - pairwise two-sided Wilcoxon signed-rank tests (scipy defaults) and Cohen's d on the per-basin NSE, for a
 *   multi-run model on the per-basin mean over its runs.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { readTextLines, writeFileAtomic } from '../util/files.js';
import { median } from '../util/numeric.js';
import { csvField, isDirectory, listPredictions, type Predictions, parseNumberCell, periodDir, readPredictions, splitCsvLine } from './ensemble.js';
import { calculateMetrics, type FdcVariant, METRIC_NAMES, type MetricName } from './metrics.js';
import { findModelOutputFiles, scoreModelOutput } from './model-output.js';
import { cohensD, wilcoxon } from './statistics.js';

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

// ---------------------------------------------------------------------------------------------------------
// model specs, globs, basin ids

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

function globToRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const hasGlob = (s: string): boolean => /[*?[]/.test(s);

/**
 * Expands a path pattern with `*`, `?` and `[...]` in any of its segments (no `**`), sorted; names starting
 * with '.' only match a segment that starts with '.'. A path without glob characters is returned as is.
 */
export function expandGlob(pattern: string): string[] {
  if (!hasGlob(pattern)) return [pattern];
  const absolute = path.isAbsolute(pattern);
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let current = [absolute ? '/' : ''];
  for (const segment of absolute ? segments.slice(1) : segments) {
    const next: string[] = [];
    if (!hasGlob(segment)) {
      for (const base of current) {
        const p = base ? path.join(base, segment) : segment;
        if (existsSync(p)) next.push(p);
      }
    } else {
      const re = globToRegExp(segment);
      for (const base of current) {
        const dir = base || '.';
        if (!isDirectory(dir)) continue;
        for (const name of readdirSync(dir).sort()) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (re.test(name)) next.push(base ? path.join(base, name) : name);
        }
      }
    }
    current = next;
    if (current.length === 0) break;
  }
  return current.sort();
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

// ---------------------------------------------------------------------------------------------------------
// loading per-basin metrics

/** Header name -> metric: exact first, then case-insensitive (so a published `nse` column counts as NSE). */
function metricOfColumn(name: string): MetricName | null {
  const exact = METRIC_NAMES.find((m) => m === name);
  if (exact) return exact;
  return METRIC_NAMES.find((m) => m.toLowerCase() === name.toLowerCase()) ?? null;
}

/**
 * Reads a CSV of per-basin metrics: a `basin` (or `gauge_id`) column and metric columns named as in
 * METRIC_NAMES (case-insensitive); other columns (a pandas index, extra statistics) are ignored. Empty cells and
 * nan are missing values; anything else unparseable is an error naming the file, line and column.
 */
export function readMetricsCsv(file: string): RunMetrics {
  const lines = readTextLines(file);
  if (lines.length === 0) throw new InputError(`${file}: empty file (expected a header with a basin column and metric columns)`);
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  const basinCol = header.findIndex((h) => h.toLowerCase() === 'basin' || h.toLowerCase() === 'gauge_id');
  if (basinCol < 0) throw new InputError(`${file}: no 'basin' column (header: ${header.join(',')})`);
  const metricCols: [number, MetricName][] = [];
  const taken = new Set<MetricName>();
  // exact names claim their metric before case-insensitive ones
  for (const pass of [true, false]) {
    header.forEach((h, i) => {
      const m = metricOfColumn(h);
      if (!m || taken.has(m) || (pass && m !== h) || (!pass && m === h)) return;
      taken.add(m);
      metricCols.push([i, m]);
    });
  }
  if (metricCols.length === 0) {
    throw new InputError(`${file}: no metric columns (header: ${header.join(',')}; known metrics: ${METRIC_NAMES.join(', ')})`);
  }
  const values = new Map<string, Record<string, number>>();
  const original = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const lineNo = i + 1;
    const cells = splitCsvLine(lines[i]);
    if (cells.length !== header.length) throw new InputError(`${file}:${lineNo}: ${cells.length} fields, the header has ${header.length}`);
    const id = cells[basinCol].trim();
    if (!id) throw new InputError(`${file}:${lineNo}: empty basin id`);
    const key = basinKey(id);
    if (values.has(key)) throw new InputError(`${file}:${lineNo}: basin ${id} appears twice (also as ${original.get(key)})`);
    const record: Record<string, number> = {};
    for (const [c, m] of metricCols) record[m] = parseNumberCell(cells[c], file, lineNo, header[c]);
    values.set(key, record);
    original.set(key, id);
  }
  if (values.size === 0) throw new InputError(`${file}: no basins (only a header)`);
  return { source: file, values, available: metricCols.map(([, m]) => m) };
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
  const values = new Map<string, Record<string, number>>();
  for (const [key, p] of readAllPredictions(dir, period)) {
    values.set(key, calculateMetrics(p.qobs, p.qsim, p.dates, metrics, { fdcVariant: fdc }));
  }
  return { source: dir, values, available: [...metrics] };
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

/** Per-basin metrics of one source: a directory, a metrics CSV, or sacsma:DIR[#SEED]. */
export function loadSource(source: string, options: LoadOptions = {}): RunMetrics {
  if (source.startsWith(SACSMA_PREFIX)) {
    const { dir, seed } = parseSacSmaSource(source);
    if (!options.observations) {
      throw new InputError(
        `${source}: SAC-SMA output is scored against observations from a run: give --obs-from RUN_DIR, or list a run or ensemble directory as a model`,
      );
    }
    const files = new Map<string, string[]>();
    for (const [basin, list] of findModelOutputFiles(dir, seed)) files.set(basinKey(basin), list);
    const metrics = options.metrics ?? DEFAULT_COMPARE_METRICS;
    const values = scoreModelOutput(files, options.observations, metrics, { fdcVariant: options.fdcVariant });
    if (values.size === 0) {
      throw new InputError(
        `${source}: none of its ${files.size} basins (${[...files.keys()].slice(0, 5).join(', ')}${files.size > 5 ? ', ...' : ''}) ` +
          `has observations in the reference run (${[...options.observations.keys()].slice(0, 5).join(', ')}${options.observations.size > 5 ? ', ...' : ''})`,
      );
    }
    return { source, values, available: [...metrics] };
  }
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(source);
  } catch {
    throw new InputError(`${source}: no such file or directory`);
  }
  if (stats.isDirectory()) return loadDirectoryMetrics(source, options);
  return readMetricsCsv(source);
}

/** Expands a spec's globs (an unmatched glob is an error) and loads every run. */
export function loadModel(spec: ModelSpec, options: LoadOptions = {}): ModelMetrics {
  const sources = expandSpecPaths(spec);
  return { name: spec.name, runs: sources.map((s) => loadSource(s, options)) };
}

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

// ---------------------------------------------------------------------------------------------------------
// statistics

/** The basins every run of every model has, sorted; an error listing the models' basins when there are none. */
export function sharedBasins(models: ModelMetrics[]): string[] {
  const runs = models.flatMap((m) => m.runs.map((r) => ({ model: m.name, run: r })));
  if (runs.length === 0) throw new InputError('no models to compare');
  let shared = new Set(runs[0].run.values.keys());
  for (const { run } of runs.slice(1)) shared = new Set([...shared].filter((b) => run.values.has(b)));
  if (shared.size === 0) {
    const lines = runs.map(({ model, run }) => {
      const ids = [...run.values.keys()];
      return `  ${model}: ${run.source}: ${ids.length} basins (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', ...' : ''})`;
    });
    throw new InputError(`the models have no basins in common:\n${lines.join('\n')}`);
  }
  return [...shared].sort();
}

/** A table cell: the statistic of a single run, or the mean and population std over a model's runs. */
export interface Statistic {
  value: number;
  /** null for a single run. */
  std: number | null;
  perRun: number[];
}

export interface TableRow {
  model: string;
  runs: number;
  basins: number;
  /** Keys NSE_mean, NSE_median, NSE_failures, <metric>_median; null when a run lacks the metric. */
  stats: Record<string, Statistic | null>;
}

const finite = (v: number[]): number[] => v.filter((x) => !Number.isNaN(x));
const meanOf = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);
const popStd = (v: number[]): number => {
  const m = meanOf(v);
  return Math.sqrt(meanOf(v.map((x) => (x - m) ** 2)));
};

function runColumn(run: RunMetrics, basins: string[], metric: string): number[] {
  return basins.map((b) => {
    const v = run.values.get(b)?.[metric];
    return v === undefined ? Number.NaN : v;
  });
}

function statistic(perRun: number[]): Statistic {
  if (perRun.length === 1) return { value: perRun[0], std: null, perRun };
  return { value: meanOf(perRun), std: popStd(perRun), perRun };
}

/** The table's column keys for a metric list (NSE first). */
export function statKeys(metrics: readonly string[]): string[] {
  return ['NSE_mean', 'NSE_median', 'NSE_failures', ...metrics.filter((m) => m !== 'NSE').map((m) => `${m}_median`)];
}

/** Table 2/3 rows on the shared basins. NaN values are left out of means, medians and counts. */
export function tableRows(models: ModelMetrics[], basins: string[], metrics: readonly string[] = DEFAULT_COMPARE_METRICS): TableRow[] {
  return models.map((model) => {
    const stats: Record<string, Statistic | null> = {};
    const perRun = (metric: string, reduce: (v: number[]) => number): Statistic | null => {
      if (!model.runs.every((r) => r.available.includes(metric as MetricName))) return null;
      return statistic(model.runs.map((r) => reduce(runColumn(r, basins, metric))));
    };
    stats.NSE_mean = perRun('NSE', (v) => meanOf(finite(v)));
    stats.NSE_median = perRun('NSE', (v) => median(finite(v)));
    stats.NSE_failures = perRun('NSE', (v) => v.filter((x) => x <= 0).length);
    for (const m of metrics) if (m !== 'NSE') stats[`${m}_median`] = perRun(m, (v) => median(finite(v)));
    return { model: model.name, runs: model.runs.length, basins: basins.length, stats };
  });
}

/** Per-basin values of a metric: the run's, or the mean over a multi-run model's runs (NaN if any is NaN). */
export function perBasinValues(model: ModelMetrics, basins: string[], metric = 'NSE'): number[] {
  const columns = model.runs.map((r) => runColumn(r, basins, metric));
  return basins.map((_, i) => meanOf(columns.map((c) => c[i])));
}

export interface PairTest {
  modelA: string;
  modelB: string;
  /** Two-sided paired Wilcoxon signed-rank p-value (NaN when undefined, e.g. identical values). */
  pValue: number;
  /** The normal approximation's z (when it was used): the evidence that remains readable when p underflows to 0. */
  z: number;
  cohensD: number;
  /** Basins used (those where both values are defined). */
  n: number;
}

/** Every pair of models (in the given order), on the per-basin values of `metric`. */
export function pairwiseTests(models: ModelMetrics[], basins: string[], metric = 'NSE'): PairTest[] {
  const values = models.map((m) => perBasinValues(m, basins, metric));
  const tests: PairTest[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      const keep = basins.map((_, k) => k).filter((k) => !Number.isNaN(values[i][k]) && !Number.isNaN(values[j][k]));
      const a = keep.map((k) => values[i][k]);
      const b = keep.map((k) => values[j][k]);
      let pValue = Number.NaN;
      let z = Number.NaN;
      if (keep.length > 0) {
        try {
          const result = wilcoxon(a, b);
          pValue = result.pvalue;
          z = result.zstatistic ?? Number.NaN;
        } catch (err) {
          if (!(err instanceof RangeError)) throw err; // all differences zero
        }
      }
      tests.push({ modelA: models[i].name, modelB: models[j].name, pValue, z, cohensD: keep.length > 1 ? cohensD(a, b) : Number.NaN, n: keep.length });
    }
  }
  return tests;
}

// ---------------------------------------------------------------------------------------------------------
// formatting

const LABELS: Record<string, string> = {
  NSE_mean: 'NSE mean',
  NSE_median: 'NSE median',
  NSE_failures: 'Basins with NSE ≤ 0',
  alpha_nse_median: 'α-NSE median',
  beta_nse_median: 'β-NSE median',
};

/** Decimals of a table cell: 3 (as the paper's NSE), 1 for the percentage metrics, 2 for failure counts. */
function decimals(key: string): number {
  if (/^(FHV|FMS|FLV|peak_mape)_/.test(key)) return 1;
  return 3;
}

export function formatStatistic(key: string, s: Statistic | null): string {
  if (!s) return 'n/a';
  if (key === 'NSE_failures') return s.std === null ? String(s.value) : `${s.value.toFixed(2)} ± ${s.std.toFixed(2)}`;
  if (Number.isNaN(s.value)) return 'NaN';
  const d = decimals(key);
  return s.std === null ? s.value.toFixed(d) : `${s.value.toFixed(d)} ± ${s.std.toFixed(d)}`;
}

export function formatPValue(p: number, z = Number.NaN): string {
  if (Number.isNaN(p)) return 'n/a';
  // Below ~1e-308 the p-value underflows to 0; z still tells how far out it is.
  if (p === 0) return Number.isNaN(z) ? '< 1e-308' : `< 1e-308 (z = ${z.toFixed(1)})`;
  return p < 1e-3 ? p.toExponential(2) : p.toPrecision(3);
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|');

export interface TableInfo {
  period: string;
  /** Per model, the sources of its runs and how many basins each model had before the intersection. */
  sources: { model: string; sources: string[]; basins: number }[];
}

export function tableMarkdown(rows: TableRow[], metrics: readonly string[], tests: PairTest[], info: TableInfo): string {
  const keys = statKeys(metrics);
  const n = rows[0]?.basins ?? 0;
  const out: string[] = [];
  out.push(`# Model comparison (${info.period} period, ${n} basins)`, '');
  out.push(
    `Statistics over the ${n} basins that all models share. A model with several runs (seeds) shows the mean ± std ` +
      '(population, over runs) of each run\'s statistic; medians are over basins.',
    '',
  );
  out.push(`| Model | Runs | ${keys.map((k) => LABELS[k] ?? k.replace(/_median$/, ' median')).join(' | ')} |`);
  out.push(`|---|---:|${keys.map(() => '---:').join('|')}|`);
  for (const r of rows) out.push(`| ${mdCell(r.model)} | ${r.runs} | ${keys.map((k) => formatStatistic(k, r.stats[k])).join(' | ')} |`);
  out.push('', '## Paired Wilcoxon signed-rank tests (NSE)', '');
  out.push(
    'Two-sided, on the per-basin NSE (for a model with several runs, the per-basin mean over its runs, as the paper); ' +
      "Cohen's d with the paper's pooled population variances.",
    '',
  );
  out.push("| Model A | Model B | Basins | p-value | Cohen's d |", '|---|---|---:|---:|---:|');
  for (const t of tests) {
    out.push(`| ${mdCell(t.modelA)} | ${mdCell(t.modelB)} | ${t.n} | ${formatPValue(t.pValue, t.z)} | ${Number.isNaN(t.cohensD) ? 'n/a' : t.cohensD.toFixed(3)} |`);
  }
  out.push('', '## Sources', '');
  for (const s of info.sources) {
    out.push(`- ${s.model} (${s.basins} basins before the intersection): ${s.sources.map((p) => `\`${p}\``).join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

const num = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? '' : String(v));

/** table.csv: model,runs,basins, then per statistic its value and `<key>_std` (empty for single runs). */
export function tableCsv(rows: TableRow[], metrics: readonly string[]): string {
  const keys = statKeys(metrics);
  const header = ['model', 'runs', 'basins', ...keys.flatMap((k) => [k, `${k}_std`])];
  const lines = rows.map((r) =>
    [csvField(r.model), String(r.runs), String(r.basins), ...keys.flatMap((k) => [num(r.stats[k]?.value), num(r.stats[k]?.std)])].join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** wilcoxon.csv: model_a,model_b,p_value,cohens_d. */
export function wilcoxonCsv(tests: PairTest[]): string {
  const lines = tests.map((t) => [csvField(t.modelA), csvField(t.modelB), num(t.pValue), num(t.cohensD)].join(','));
  return `${['model_a,model_b,p_value,cohens_d', ...lines].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// the compare command

export interface CompareOptions {
  /** `NAME=PATH[,PATH...]` texts or parsed specs, in table order. */
  models: (string | ModelSpec)[];
  output: string;
  metrics?: readonly string[];
  period?: string;
  fdcVariant?: FdcVariant;
  /** Run or ensemble directory whose observations score `sacsma:` sources (default: the first directory given). */
  obsFrom?: string;
  /** Left edge of the ECDF's x axis (default 0). */
  ecdfMin?: number;
  /** Write the ECDF figure (default true). */
  figure?: boolean;
}

export interface CompareResult {
  models: ModelMetrics[];
  basins: string[];
  rows: TableRow[];
  tests: PairTest[];
  markdown: string;
  files: string[];
}

/** Validates a --metrics list: known names, no repeats; NSE is always included (first). */
export function parseMetricList(list: readonly string[] | undefined): MetricName[] {
  if (!list) return [...DEFAULT_COMPARE_METRICS];
  const out: MetricName[] = ['NSE'];
  for (const raw of list) {
    const name = raw.trim();
    if (!name) continue;
    const m = metricOfColumn(name);
    if (!m) throw new InputError(`--metrics: unknown metric '${name}' (known: ${METRIC_NAMES.join(', ')})`);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

/**
 * Loads the models, restricts them to their shared basins, writes table.md/csv, wilcoxon.csv and the ECDF.
 * Asynchronous only because the figure module (vega, resvg: ~2 s to load) is imported when a figure is drawn.
 */
export async function runCompare(options: CompareOptions): Promise<CompareResult> {
  const period = options.period ?? 'test';
  const metrics = parseMetricList(options.metrics);
  const specs = options.models.map((m) => (typeof m === 'string' ? parseModelSpec(m) : m));
  if (specs.length === 0) throw new InputError('compare needs at least one --model NAME=PATH');
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new InputError(`--model ${s.name} is given twice; model names must differ`);
    names.add(s.name);
  }
  const expanded = specs.map((s) => ({ name: s.name, paths: expandSpecPaths(s) }));
  let observations: Map<string, Predictions> | undefined;
  if (expanded.some((s) => s.paths.some((p) => p.startsWith(SACSMA_PREFIX)))) {
    const obsDir = options.obsFrom ?? expanded.flatMap((s) => s.paths).find((p) => !p.startsWith(SACSMA_PREFIX) && isDirectory(p));
    if (obsDir) observations = readAllPredictions(obsDir, period);
  }
  const load: LoadOptions = { period, metrics, fdcVariant: options.fdcVariant, observations };
  const models = expanded.map((s) => ({ name: s.name, runs: s.paths.map((p) => loadSource(p, load)) }));
  const basins = sharedBasins(models);
  const rows = tableRows(models, basins, metrics);
  const tests = pairwiseTests(models, basins, 'NSE');
  const info: TableInfo = {
    period,
    sources: models.map((m) => ({
      model: m.name,
      sources: m.runs.map((r) => r.source),
      basins: new Set(m.runs.flatMap((r) => [...r.values.keys()])).size,
    })),
  };
  const markdown = tableMarkdown(rows, metrics, tests, info);

  const out = options.output;
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, text: string): void => {
    const file = path.join(out, name);
    writeFileAtomic(file, text);
    files.push(file);
  };
  write('table.md', markdown);
  write('table.csv', tableCsv(rows, metrics));
  write('wilcoxon.csv', wilcoxonCsv(tests));
  const perBasin = models.map((m) => perBasinValues(m, basins, 'NSE'));
  write(
    'per_basin_nse.csv',
    `${['basin', ...models.map((m) => csvField(m.name))].join(',')}\n${basins.map((b, i) => [b, ...perBasin.map((v) => num(v[i]))].join(',')).join('\n')}\n`,
  );
  write('basins.txt', `${basins.join('\n')}\n`);
  if (options.figure !== false) {
    const series = models.map((m) => ({
      name: m.runs.length > 1 ? `${m.name} (run 1 of ${m.runs.length})` : m.name,
      values: runColumn(m.runs[0], basins, 'NSE'),
    }));
    const { ecdfFigure, writeFigure } = await import('../render/figures.js');
    const spec = ecdfFigure(series, { metric: 'NSE', xMin: options.ecdfMin ?? 0, title: `ECDF of NSE, ${basins.length} basins (${period} period)` });
    const fig = writeFigure(spec, path.join(out, 'ecdf_nse'));
    files.push(fig.svg, fig.png);
  }
  return { models, basins, rows, tests, markdown, files };
}
