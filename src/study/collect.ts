/**
 * Collecting a study: evaluate what is trained but not evaluated, then build from the runs that are done the
 * ensembles of seeds per setup, the paper's comparison table (Table 2 style) and, for a k-fold study, the grid
 * search table; finally the study report. Everything is rebuilt from the run directories each time, so a
 * collect after more runs finished simply gives the fuller result.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type CompareResult, runCompare } from '../evaluation/compare.js';
import { buildEnsemble } from '../evaluation/ensemble.js';
import { evaluateRun } from '../evaluation/evaluate.js';
import { writeReport } from '../report/html.js';
import { readMetricsFile } from '../evaluation/results-files.js';
import { summarizeMetric } from '../evaluation/summary.js';
import { csvField, csvNumber } from '../util/csv.js';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { median } from '../util/numeric.js';
import type { ExpandedStudy, StudyRun } from './expand.js';
import { busyHolder, clearFailure, metricsFileOf, type RunState, recordFailure, runState, STUDY_PERIOD } from './state.js';

export interface GridRow {
  setup: string;
  values: Record<string, string | number | boolean>;
  variant?: string;
  /** Runs done of the setting's runs (folds x seeds). */
  runsDone: number;
  runs: number;
  /** Held-out basins with an NSE (each basin's NSE is the mean over the seeds of the fold that holds it out). */
  basins: number;
  medianNse: number;
  meanNse: number;
  failures: number;
  rank: number;
}

export interface CollectResult {
  resultsDir: string;
  states: Map<StudyRun, RunState>;
  evaluated: StudyRun[];
  ensembles: { setup: string; dir: string; members: number }[];
  comparison: CompareResult | null;
  grid: GridRow[] | null;
  notes: string[];
}

export const resultsDirOf = (expanded: ExpandedStudy) => path.join(expanded.study.outputDir, 'results');
const flat = (name: string) => name.replaceAll('/', '__');

/** Groups runs by setup, in study order. */
function bySetup(runs: StudyRun[]): Map<string, StudyRun[]> {
  const groups = new Map<string, StudyRun[]>();
  for (const r of runs) groups.set(r.setup, [...(groups.get(r.setup) ?? []), r]);
  return groups;
}

export interface CollectOptions {
  /** Write each done run's HTML report (`ealstm report`) where it has none yet (default true). */
  runReports?: boolean;
  onNote?: (note: string) => void;
}

export async function collectStudy(expanded: ExpandedStudy, options: CollectOptions = {}): Promise<CollectResult> {
  const notes: string[] = [];
  const note = (text: string) => {
    notes.push(text);
    options.onNote?.(text);
  };
  const evaluated: StudyRun[] = [];
  const states = new Map<StudyRun, RunState>();
  for (const run of expanded.runs) {
    let state = runState(expanded, run);
    const holder = state === 'trained' ? busyHolder(run) : null;
    if (holder) note(`${run.name} is being worked on by pid ${holder.pid} on ${holder.host}; not evaluated now`);
    else if (state === 'trained') {
      try {
        evaluateRun(run.dir, { period: STUDY_PERIOD });
        clearFailure(expanded, run);
        evaluated.push(run);
        state = 'done';
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        recordFailure(expanded, run, `evaluate: ${err.message}`);
        state = 'failed';
      }
    }
    states.set(run, state);
  }
  const done = expanded.runs.filter((r) => states.get(r) === 'done');
  const missing = expanded.runs.length - done.length;
  if (missing > 0) note(`${missing} of ${expanded.runs.length} runs are not done; the results below use the ${done.length} that are`);

  if (options.runReports !== false) {
    for (const run of done.filter((r) => !hasRunReport(r))) writeReport(run.dir, { period: STUDY_PERIOD });
  }

  const resultsDir = resultsDirOf(expanded);
  mkdirSync(resultsDir, { recursive: true });
  writeFileAtomic(path.join(resultsDir, 'runs.csv'), runsCsv(expanded, states));

  const ensembles: CollectResult['ensembles'] = [];
  let comparison: CompareResult | null = null;
  let grid: GridRow[] | null = null;
  if (expanded.folds) {
    grid = gridTable(expanded, done);
    writeFileAtomic(path.join(resultsDir, 'grid.csv'), gridCsv(expanded, grid));
    writeFileAtomic(path.join(resultsDir, 'grid.md'), gridMarkdown(expanded, grid));
  } else if (done.length > 0) {
    const models: { name: string; paths: string[] }[] = [];
    const ensemblesDir = path.join(resultsDir, 'ensembles');
    for (const [setup, runs] of bySetup(done)) {
      models.push({ name: setup, paths: runs.map((r) => r.dir) });
      const dir = path.join(ensemblesDir, flat(setup));
      if (runs.length >= 2) {
        buildEnsemble({ runDirs: runs.map((r) => r.dir), output: dir, period: STUDY_PERIOD });
        ensembles.push({ setup, dir, members: runs.length });
        models.push({ name: `${setup} (ensemble of ${runs.length})`, paths: [dir] });
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    comparison = await runCompare({ models, output: path.join(resultsDir, 'comparison'), period: STUDY_PERIOD });
  }
  return { resultsDir, states, evaluated, ensembles, comparison, grid, notes };
}

/** runs.csv: every run with its axis values, state and summary of its evaluation. */
function runsCsv(expanded: ExpandedStudy, states: Map<StudyRun, RunState>): string {
  const axes = expanded.study.axes.map((a) => a.key).filter((k) => k !== 'seed');
  const header = ['run', 'variant', ...axes, 'fold', 'seed', 'state', 'basins', 'NSE_mean', 'NSE_median', 'NSE_failures'];
  const lines = expanded.runs.map((run) => {
    const state = states.get(run) ?? 'pending';
    // the summary rule (evaluation/summary.ts): statistics over the basins with an NSE, `basins` counts those
    const nse = state === 'done' ? summarizeMetric(readMetricsFile(metricsFileOf(run)).rows, 'NSE') : null;
    return [
      csvField(run.name),
      csvField(run.variant ?? ''),
      ...axes.map((k) => csvField(String(run.values[k]))),
      run.fold ?? '',
      run.seed,
      state,
      nse ? nse.used.length : '',
      nse ? csvNumber(nse.mean) : '',
      nse ? csvNumber(nse.median) : '',
      nse ? nse.nonPositive : '',
    ].join(',');
  });
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** Basin -> NSE from a run's metrics.csv (written by evaluate). */
function nsePerBasin(run: StudyRun): Map<string, number> {
  const table = readMetricsFile(metricsFileOf(run));
  if (!table.columns.includes('NSE')) throw new InputError(`${table.file}: no NSE column`);
  return new Map(table.rows.map((r) => [r.basin, r.metrics.NSE]));
}

/**
 * Appendix B's selection: for every setting (all axes but fold and seed), the NSE of each held-out basin (the mean
 * over seeds of the fold that holds it out), and their median over all basins; ranked by that median, best first.
 * A setting with runs not done is ranked on what it has and marked incomplete.
 */
export function gridTable(expanded: ExpandedStudy, done: StudyRun[]): GridRow[] {
  const doneSet = new Set(done);
  const rows: GridRow[] = [];
  for (const [setup, runs] of bySetup(expanded.runs)) {
    const perBasin = new Map<string, number[]>();
    for (const run of runs.filter((r) => doneSet.has(r))) {
      for (const [basin, nse] of nsePerBasin(run)) perBasin.set(basin, [...(perBasin.get(basin) ?? []), nse]);
    }
    const nse = [...perBasin.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length).filter((v) => !Number.isNaN(v));
    rows.push({
      setup,
      values: runs[0].values,
      variant: runs[0].variant,
      runsDone: runs.filter((r) => doneSet.has(r)).length,
      runs: runs.length,
      basins: nse.length,
      medianNse: nse.length > 0 ? median(nse) : Number.NaN,
      meanNse: nse.length > 0 ? nse.reduce((a, b) => a + b, 0) / nse.length : Number.NaN,
      failures: nse.filter((v) => v <= 0).length,
      rank: 0,
    });
  }
  const score = (r: GridRow) => (Number.isNaN(r.medianNse) ? Number.NEGATIVE_INFINITY : r.medianNse);
  rows.sort((a, b) => score(b) - score(a) || a.setup.localeCompare(b.setup));
  rows.forEach((r, i) => {
    r.rank = i + 1;
  });
  return rows;
}

function gridColumns(expanded: ExpandedStudy): string[] {
  return [...(expanded.study.variants.length > 0 ? ['variant'] : []), ...expanded.study.axes.map((a) => a.key).filter((k) => k !== 'seed')];
}

function gridCsv(expanded: ExpandedStudy, rows: GridRow[]): string {
  const columns = gridColumns(expanded);
  const header = ['rank', ...columns, 'runs_done', 'runs', 'basins', 'NSE_median', 'NSE_mean', 'NSE_failures'];
  const lines = rows.map((r) =>
    [
      r.rank,
      ...columns.map((c) => csvField(c === 'variant' ? (r.variant ?? '') : String(r.values[c]))),
      r.runsDone,
      r.runs,
      r.basins,
      csvNumber(r.medianNse),
      csvNumber(r.meanNse),
      r.failures,
    ].join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

export function gridMarkdown(expanded: ExpandedStudy, rows: GridRow[]): string {
  const columns = gridColumns(expanded);
  const k = expanded.study.folds?.k;
  const out = [
    `# Grid search of ${expanded.study.name} (${k}-fold cross-validation)`,
    '',
    `Each setting is trained ${k} times, each time on ${(k ?? 1) - 1} of the ${k} folds of the basins, and scored on the held-out fold's ` +
      `${expanded.study.folds?.period === 'calibration' ? 'calibration (train) period' : 'test period'}; ` +
      'NSE median and mean over all held-out basins (a basin\'s NSE is the mean over seeds). Ranked by the median NSE.',
    '',
    `| Rank | ${columns.join(' | ')} | Runs done | Basins | NSE median | NSE mean | Basins with NSE ≤ 0 |`,
    `|---:|${columns.map(() => '---').join('|')}|---:|---:|---:|---:|---:|`,
  ];
  for (const r of rows) {
    const cells = columns.map((c) => (c === 'variant' ? (r.variant ?? '') : String(r.values[c])));
    const fmt = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(3));
    out.push(`| ${r.rank} | ${cells.join(' | ')} | ${r.runsDone}/${r.runs} | ${r.basins} | ${fmt(r.medianNse)} | ${fmt(r.meanNse)} | ${r.failures} |`);
  }
  const best = rows[0];
  if (best && !Number.isNaN(best.medianNse)) {
    const incomplete = best.runsDone < best.runs ? ' (incomplete: not all of its runs are done)' : '';
    out.push('', `Winning setting: ${best.setup}, median NSE ${best.medianNse.toFixed(3)}${incomplete}.`);
  }
  return `${out.join('\n')}\n`;
}

/** Whether a run has its own HTML report (written by `ealstm report`, or by collect --run-reports). */
export const hasRunReport = (run: StudyRun) => existsSync(path.join(run.dir, 'report.html'));
