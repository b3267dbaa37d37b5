import type { Period } from '../data/types.js';
import { type EvaluationSummary, evaluateRun } from '../evaluation/evaluate.js';
import { describeNseSummary, formatValue } from '../evaluation/summary.js';

/** `ealstm evaluate`: writes metrics and predictions, prints the summary; notes (what was replaced or is stale) go to stderr. */
export function evaluateCommand(options: { runDir: string; period?: Period; epoch?: number }, perBasin = false): EvaluationSummary {
  const period = options.period ?? 'test';
  const summary = evaluateRun(options.runDir, { period, epoch: options.epoch, onNote: (note) => console.error(`note: ${note}`) });
  if (perBasin) {
    for (const r of summary.results) console.log(`  ${r.basin}  NSE ${formatValue(r.metrics.NSE)}  KGE ${formatValue(r.metrics.KGE)}`);
  }
  console.log(`${period} period, epoch ${summary.epoch}, ${summary.results.length} basins: ${describeNseSummary(summary.nse)}`);
  console.log(`wrote ${summary.outputDir}/metrics.csv and predictions/`);
  return summary;
}
