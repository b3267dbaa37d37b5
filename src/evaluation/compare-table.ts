/**
 * The statistics and tables of a model comparison, as the paper's Tables 2 and 3 and its significance tests
 * (kratzert/ealstm_regional_modeling, notebooks/performance.ipynb), with the summary rule of summary.ts:
 * - every statistic of a metric is taken over the same basins for all models: those that all runs of all
 *   models share and where every run that provides the metric has a defined value; the others are named with
 *   their reasons in table.md;
 * - per run: mean and median NSE, the number of basins with NSE <= 0 and the median of every other metric;
 *   a multi-run model shows the mean ± population std (np.std) of these over its runs;
 * - pairwise two-sided Wilcoxon signed-rank tests (scipy defaults) and Cohen's d on the per-basin NSE, for a
 *   multi-run model on the per-basin mean over its runs.
 */
import { InputError } from '../util/errors.js';
import { csvField } from '../util/csv.js';
import { median } from '../util/numeric.js';
import { DEFAULT_COMPARE_METRICS, type ModelMetrics, type RunMetrics } from './compare-sources.js';
import type { MetricName } from './metrics.js';
import { cohensD, wilcoxon } from './statistics.js';
import { describeLeftOut, isDefined, type LeftOut } from './summary.js';

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

/** The basins one metric's statistics are taken over, and the shared basins left out for it, with reasons. */
export interface Coverage {
  metric: string;
  /** How many basins all runs share. */
  shared: number;
  used: string[];
  /** Reasons name the model (and run) without a value: 'LSTM: constant observed flow (...)'. */
  leftOut: LeftOut[];
}

/**
 * The shared basins where every run of every model that provides `metric` has a defined value: all models'
 * statistics of the metric are over these same basins.
 */
export function metricCoverage(models: ModelMetrics[], shared: string[], metric: string): Coverage {
  const runs = models.flatMap((m) =>
    m.runs
      .map((run) => ({ run, label: m.runs.length > 1 ? `${m.name} (${run.source})` : m.name }))
      .filter(({ run }) => run.available.includes(metric as MetricName)),
  );
  const used: string[] = [];
  const leftOut: LeftOut[] = [];
  for (const basin of shared) {
    const missing = runs.find(({ run }) => !isDefined(run.values.get(basin)?.[metric]));
    if (!missing) used.push(basin);
    else leftOut.push({ basin, reason: `${missing.label}: ${missing.run.reasons.get(basin)?.[metric] ?? 'no value'}` });
  }
  return { metric, shared: shared.length, used, leftOut };
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
  /** The basins of the NSE statistics (those of the other metrics: their Coverage). */
  basins: number;
  /** Keys NSE_mean, NSE_median, NSE_failures, <metric>_median; null when a run lacks the metric. */
  stats: Record<string, Statistic | null>;
}

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

/** The coverage of each metric (NSE first) on the shared basins. */
export function coverages(models: ModelMetrics[], shared: string[], metrics: readonly string[]): Map<string, Coverage> {
  return new Map(['NSE', ...metrics.filter((m) => m !== 'NSE')].map((m) => [m, metricCoverage(models, shared, m)]));
}

/** Table 2/3 rows; each metric's statistics over its coverage of the shared basins (the same for all models). */
export function tableRows(models: ModelMetrics[], shared: string[], metrics: readonly string[] = DEFAULT_COMPARE_METRICS): TableRow[] {
  const coverage = coverages(models, shared, metrics);
  return models.map((model) => {
    const stats: Record<string, Statistic | null> = {};
    const perRun = (metric: string, reduce: (v: number[]) => number): Statistic | null => {
      if (!model.runs.every((r) => r.available.includes(metric as MetricName))) return null;
      const basins = coverage.get(metric)?.used ?? [];
      return statistic(model.runs.map((r) => reduce(runColumn(r, basins, metric))));
    };
    stats.NSE_mean = perRun('NSE', meanOf);
    stats.NSE_median = perRun('NSE', median);
    stats.NSE_failures = perRun('NSE', (v) => v.filter((x) => x <= 0).length);
    for (const m of metrics) if (m !== 'NSE') stats[`${m}_median`] = perRun(m, median);
    return { model: model.name, runs: model.runs.length, basins: coverage.get('NSE')?.used.length ?? 0, stats };
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
  if (Number.isNaN(s.value)) return 'n/a';
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
  /** Each metric's basins (NSE first), from coverages(). */
  coverage: Map<string, Coverage>;
  /** Per model, the sources of its runs and how many basins each model had before the intersection. */
  sources: { model: string; sources: string[]; basins: number }[];
}

export function tableMarkdown(rows: TableRow[], metrics: readonly string[], tests: PairTest[], info: TableInfo): string {
  const keys = statKeys(metrics);
  const nse = info.coverage.get('NSE');
  const n = nse?.used.length ?? 0;
  const out: string[] = [];
  out.push(`# Model comparison (${info.period} period, ${n} basins)`, '');
  out.push(
    `Statistics over the ${n} basins that all models share and where every run has a defined NSE` +
      `${nse && nse.leftOut.length > 0 ? ` (${nse.shared} shared; ${describeLeftOut(nse.leftOut, 'NSE')})` : ''}. ` +
      'A model with several runs (seeds) shows the mean ± std (population, over runs) of each run\'s statistic; medians are over basins.',
    '',
  );
  // a metric whose basins differ from NSE's says over which basins its medians are
  const nseBasins = (nse?.used ?? []).join(',');
  for (const c of info.coverage.values()) {
    if (c.metric === 'NSE' || c.used.join(',') === nseBasins) continue;
    out.push(
      c.leftOut.length === 0
        ? `${c.metric} medians over all ${c.shared} shared basins.`
        : `${c.metric} medians over ${c.used.length} of the ${c.shared} shared basins; ${describeLeftOut(c.leftOut, c.metric)}.`,
      '',
    );
  }
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

