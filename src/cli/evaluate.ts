import type { Period } from '../data/dataset.js';
import { type EvaluationSummary, evaluateRun } from '../evaluation/evaluate.js';

/** `ealstm evaluate`: writes metrics and predictions, prints the summary. */
export function evaluateCommand(options: { runDir: string; period?: Period; epoch?: number }, perBasin = false): EvaluationSummary {
  const period = options.period ?? 'test';
  const summary = evaluateRun(options.runDir, { period, epoch: options.epoch });
  if (perBasin) {
    for (const r of summary.results) console.log(`  ${r.basin}  NSE ${r.metrics.NSE.toFixed(3)}  KGE ${r.metrics.KGE.toFixed(3)}`);
  }
  console.log(
    `${period} period, epoch ${summary.epoch}, ${summary.results.length} basins: mean NSE ${summary.meanNse.toFixed(3)}, ` +
      `median NSE ${summary.medianNse.toFixed(3)}, basins with NSE <= 0: ${summary.failures}`,
  );
  console.log(`wrote ${summary.outputDir}/metrics.csv and predictions/`);
  return summary;
}
