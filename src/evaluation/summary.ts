/**
 * The one rule for summarising per-basin metrics, used by evaluate, ensemble, compare, signatures and the
 * report: a metric without a defined value (NaN; see calculateMetricsExplained) is missing, it is left out of
 * every mean, median and count, and every summary says over how many of how many basins it was taken and which
 * basins were left out, with their reasons:
 *   "median NSE 0.610 over 4 of 5 basins; 1 basin without a defined NSE: 01013500 (constant observed flow ...)"
 */
import { median } from '../util/numeric.js';
import type { BasinResult } from './results-files.js';

/** A basin left out of a summary, and why. */
export interface LeftOut {
  basin: string;
  reason: string;
}

/** The summary of one metric over a set of basins. */
export interface MetricSummary {
  metric: string;
  /** All basins considered. */
  total: number;
  /** The basins with a defined value: the statistics are over these. */
  used: string[];
  /** The basins without one, with the reason. */
  leftOut: LeftOut[];
  mean: number;
  median: number;
  /** Basins with a value ≤ 0 (for NSE: the paper's "failures"). */
  nonPositive: number;
}

/** A value counts when it is a finite number; NaN (and ±Infinity from elsewhere) is missing. */
export const isDefined = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

const meanOf = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);

/** Summarises `metric` over `results` (one per basin) by the rule above. */
export function summarizeMetric(results: readonly BasinResult[], metric: string): MetricSummary {
  const used: string[] = [];
  const values: number[] = [];
  const leftOut: LeftOut[] = [];
  for (const r of results) {
    const v = r.metrics[metric];
    if (isDefined(v)) {
      used.push(r.basin);
      values.push(v);
    } else leftOut.push({ basin: r.basin, reason: r.reasons[metric] ?? (v === undefined ? `no ${metric}` : 'no value') });
  }
  return { metric, total: results.length, used, leftOut, mean: meanOf(values), median: median(values), nonPositive: values.filter((v) => v <= 0).length };
}

/** A statistic for printing: 3 decimals, or n/a when there is no value. */
export const formatValue = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The basins left out, with reasons: "1 basin without a defined NSE: 01013500 (constant observed flow)";
 * '' when none. Up to `listed` basins are named, basins with the same reason grouped.
 */
export function describeLeftOut(leftOut: readonly LeftOut[], metric: string, listed = 10): string {
  if (leftOut.length === 0) return '';
  const byReason = new Map<string, string[]>();
  for (const { basin, reason } of leftOut.slice(0, listed)) byReason.set(reason, [...(byReason.get(reason) ?? []), basin]);
  const groups = [...byReason].map(([reason, basins]) => `${basins.join(', ')} (${reason})`);
  const more = leftOut.length > listed ? `; and ${leftOut.length - listed} more` : '';
  return `${plural(leftOut.length, 'basin')} without a defined ${metric}: ${groups.join('; ')}${more}`;
}

/** "over 4 of 5 basins" (or "over all 5 basins"). */
export function overBasins(s: Pick<MetricSummary, 'used' | 'total'>): string {
  return s.used.length === s.total ? `over all ${plural(s.total, 'basin')}` : `over ${s.used.length} of ${plural(s.total, 'basin')}`;
}

/**
 * The NSE summary line of evaluate and ensemble: "mean NSE 0.580, median NSE 0.610 over 4 of 5 basins, NSE <= 0
 * in 0; 1 basin without a defined NSE: 01013500 (constant observed flow ...)".
 */
export function describeNseSummary(s: MetricSummary): string {
  const head =
    `mean ${s.metric} ${formatValue(s.mean)}, median ${s.metric} ${formatValue(s.median)} ${overBasins(s)}, ` +
    `basins with ${s.metric} <= 0: ${s.nonPositive}`;
  const left = describeLeftOut(s.leftOut, s.metric);
  return left ? `${head}; ${left}` : head;
}
