/**
 * `ealstm compare`: models (runs, seeds, published metrics, SAC-SMA output; compare-sources.ts) compared on the
 * basins they share, as the paper's Tables 2 and 3 (compare-table.ts): table.md/csv, wilcoxon.csv,
 * per_basin_nse.csv (with the reason where a model has no NSE), basins.txt and the ECDF of NSE.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { csvField, csvNumber } from '../util/csv.js';
import { writeFileAtomic } from '../util/files.js';
import { DEFAULT_COMPARE_METRICS, expandSpecPaths, type LoadOptions, loadSource, type ModelMetrics, type ModelSpec, parseModelSpec, readAllPredictions, SACSMA_PREFIX } from './compare-sources.js';
import { coverages, type PairTest, tableRows, pairwiseTests, perBasinValues, sharedBasins, type TableInfo, type TableRow, tableCsv, tableMarkdown, wilcoxonCsv } from './compare-table.js';
import { type FdcVariant, METRIC_NAMES, type MetricName } from './metrics.js';
import { isDirectory, metricOfName, type Predictions } from './results-files.js';

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
  /** The basins all runs share (NSE statistics: those of them where every run has an NSE, coverage.get('NSE')). */
  basins: string[];
  coverage: TableInfo['coverage'];
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
    const m = metricOfName(name);
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
  const coverage = coverages(models, basins, metrics);
  const nseBasins = coverage.get('NSE')?.used ?? [];
  const rows = tableRows(models, basins, metrics);
  const tests = pairwiseTests(models, nseBasins, 'NSE');
  const info: TableInfo = {
    period,
    coverage,
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
  // every shared basin, with the reason where a model has no NSE (those are left out of the statistics)
  const why = new Map((coverage.get('NSE')?.leftOut ?? []).map((l) => [l.basin, l.reason]));
  const perBasinLines = basins.map((b, i) => [b, ...perBasin.map((v) => csvNumber(v[i])), csvField(why.get(b) ?? '')].join(','));
  write('per_basin_nse.csv', `${['basin', ...models.map((m) => csvField(m.name)), 'note'].join(',')}\n${perBasinLines.join('\n')}\n`);
  write('basins.txt', `${basins.join('\n')}\n`);
  if (options.figure !== false) {
    const series = models.map((m) => ({
      name: m.runs.length > 1 ? `${m.name} (run 1 of ${m.runs.length})` : m.name,
      values: nseBasins.map((b) => m.runs[0].values.get(b)?.NSE ?? Number.NaN),
    }));
    const { ecdfFigure, writeFigure } = await import('../render/figures.js');
    const spec = ecdfFigure(series, { metric: 'NSE', xMin: options.ecdfMin ?? 0, title: `ECDF of NSE, ${nseBasins.length} basins (${period} period)` });
    const fig = writeFigure(spec, path.join(out, 'ecdf_nse'));
    files.push(fig.svg, fig.png);
  }
  return { models, basins, coverage, rows, tests, markdown, files };
}
