import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expandStudy } from '../../src/study/expand.js';
import { loadStudy } from '../../src/study/study-file.js';

/** run name -> metrics.csv text of every run of a study output folder. */
export function runMetrics(out: string, file = 'studies/demo.yml'): Map<string, string> {
  const expanded = expandStudy(loadStudy(file, { outputDir: out }));
  return new Map(expanded.runs.map((r) => [r.name, readFileSync(path.join(r.dir, 'test', 'metrics.csv'), 'utf8')]));
}

/** The collected tables of studies/demo.yml that must not depend on how the runs were run (no paths in them). */
export function collectedTables(out: string): Record<string, string> {
  const files = ['results/runs.csv', 'results/comparison/table.csv', 'results/comparison/wilcoxon.csv', 'results/comparison/per_basin_nse.csv'];
  for (const setup of ['lstm_no_static', 'ealstm']) files.push(`results/ensembles/${setup}/test/metrics.csv`, `results/ensembles/${setup}/test/spread.csv`);
  return Object.fromEntries(files.map((f) => [f, readFileSync(path.join(out, f), 'utf8')]));
}
