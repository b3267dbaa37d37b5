/**
 * The 13 hydrological signatures of neuralhydrology's `evaluation/signatures.py` (v1.11, @76d0850), computed
 * as its code does (the quirks are listed in test/fixtures/README.md, section signatures_golden.json):
 * - high/low_q_freq count days per *calendar* year, hfd_mean and stream_elas work per *water* year (Oct 1);
 *   only windows that end strictly before the last date count, so a record ending on Dec 31 loses its last
 *   calendar year.
 * - low_q_* use 0.2 × the MEAN flow (the docstring says median).
 * - slope_fdc sorts descending with NaNs first (xarray sortby), which shifts its positions when q has NaNs.
 * - baseflow_index runs a 3-pass Lyne–Hollick filter on every NaN-free run longer than the 30-step warm-up.
 *
 * Inputs: discharge `q` and precipitation `prcp` (mm/day), aligned with `dates` (day numbers since
 * 1970-01-01 or ISO `YYYY-MM-DD` strings, daily, ascending). NaN marks a missing value.
 */
import { dateParts, dayNumber } from '../util/dates.js';
import { type DateSeries, toDayNumbers } from './metrics.js';
import { nanQuantileLinear, type NumArray, roundHalfEven, sortDescending } from '../util/numeric.js';
import { computeByName } from '../util/by-name.js';

/** Signature names, in neuralhydrology's order (`get_available_signatures`). */
export const SIGNATURE_NAMES = [
  'high_q_freq',
  'high_q_dur',
  'low_q_freq',
  'low_q_dur',
  'zero_q_freq',
  'q95',
  'q5',
  'q_mean',
  'hfd_mean',
  'baseflow_index',
  'slope_fdc',
  'stream_elas',
  'runoff_ratio',
] as const;

export type SignatureName = (typeof SIGNATURE_NAMES)[number];

// ---------------------------------------------------------------------------------------------------------
// NaN-skipping reductions (xarray's skipna defaults)

function nanValues(x: NumArray): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i])) out.push(x[i]);
  return out;
}

function nanSum(x: NumArray): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i])) s += x[i];
  return s;
}

/** Mean of the non-NaN values; NaN if there are none. */
function nanMean(x: NumArray): number {
  const v = nanValues(x);
  return nanSum(v) / v.length;
}

/** Median of the non-NaN values (mean of the two middle ones for an even count); NaN if none. */
function nanMedian(x: NumArray): number {
  const v = Float64Array.from(nanValues(x)).sort();
  const n = v.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/** Lengths of the runs of consecutive indices in an ascending index list (numba `_split_list`). */
function runs(indices: readonly number[], minLength = 0): number[][] {
  const out: number[][] = [];
  let start = 0;
  for (let k = 0; k < indices.length; k++) {
    const last = k === indices.length - 1;
    if (last || indices[k + 1] > indices[k] + 1) {
      if (k + 1 - start >= minLength) out.push(indices.slice(start, k + 1));
      start = k + 1;
    }
  }
  return out;
}

/** Mean run length of the steps where `test` holds (a NaN never passes, so it breaks a run); NaN if none. */
function meanRunLength(q: NumArray, test: (v: number) => boolean): number {
  const idx: number[] = [];
  for (let i = 0; i < q.length; i++) if (test(q[i])) idx.push(i);
  if (idx.length === 0) return Number.NaN;
  const lengths = runs(idx).map((r) => r.length);
  return lengths.reduce((a, b) => a + b, 0) / lengths.length;
}

/**
 * neuralhydrology's year windows: the first starts on the first `month`/1 on or after the first date (for
 * January the first date itself only if it is Jan 1; for October "after" means strictly after Oct 1 of its
 * year), each spans one year minus one second, and a window is used only while its end is strictly before
 * the last timestamp (00:00 of the last day). Returns [startDay, nextStartDay) pairs.
 */
function yearWindows(days: Float64Array, month: 1 | 10): [number, number][] {
  if (days.length === 0) return [];
  const first = days[0];
  const last = days[days.length - 1];
  const { year } = dateParts(first);
  const thisYear = dayNumber(year, month, 1);
  let start = first > thisYear ? dayNumber(year + 1, month, 1) : thisYear;
  const windows: [number, number][] = [];
  for (;;) {
    const next = dayNumber(dateParts(start).year + 1, month, 1);
    // end = next − 1 s; "end < last" at whole days means next <= last
    if (!(next <= last)) break;
    windows.push([start, next]);
    start = next;
  }
  return windows;
}

/** Positions i with start <= days[i] < end (xarray's label slice on a sorted date index). */
function positionsIn(days: Float64Array, [start, end]: [number, number]): number[] {
  const out: number[] = [];
  for (let i = 0; i < days.length; i++) if (days[i] >= start && days[i] < end) out.push(i);
  return out;
}

/** Mean over the year windows of the number of days where `test` holds; NaN without a full year. */
function meanDaysPerYear(q: NumArray, days: Float64Array, month: 1 | 10, test: (v: number) => boolean): number {
  const counts = yearWindows(days, month).map((w) => positionsIn(days, w).filter((i) => test(q[i])).length);
  return counts.length === 0 ? Number.NaN : counts.reduce((a, b) => a + b, 0) / counts.length;
}

// ---------------------------------------------------------------------------------------------------------
// the signatures

/** Days per calendar year with q > threshold × median(q) (median over the whole record). */
export function highQFreq(q: NumArray, dates: DateSeries, threshold = 9): number {
  const limit = threshold * nanMedian(q);
  return meanDaysPerYear(q, toDayNumbers(dates, q.length), 1, (v) => v > limit);
}

/** Mean length of runs of consecutive steps with q > threshold × median(q). NaN if there are none. */
export function highQDur(q: NumArray, threshold = 9): number {
  const limit = threshold * nanMedian(q);
  return meanRunLength(q, (v) => v > limit);
}

/** Days per calendar year with q < threshold × MEAN(q) (the code uses the mean, the docstring the median). */
export function lowQFreq(q: NumArray, dates: DateSeries, threshold = 0.2): number {
  const limit = threshold * nanMean(q);
  return meanDaysPerYear(q, toDayNumbers(dates, q.length), 1, (v) => v < limit);
}

/** Mean length of runs of consecutive steps with q < threshold × MEAN(q). NaN if there are none. */
export function lowQDur(q: NumArray, threshold = 0.2): number {
  const limit = threshold * nanMean(q);
  return meanRunLength(q, (v) => v < limit);
}

/** Fraction of all steps (NaNs included in the denominator) with q exactly 0. */
export function zeroQFreq(q: NumArray): number {
  let zeros = 0;
  for (let i = 0; i < q.length; i++) if (q[i] === 0) zeros++;
  return zeros / q.length;
}

/** 95th percentile of q (numpy linear quantile, NaNs skipped). */
export function q95(q: NumArray): number {
  return nanQuantileLinear(q, 0.95);
}

/** 5th percentile of q (numpy linear quantile, NaNs skipped). */
export function q5(q: NumArray): number {
  return nanQuantileLinear(q, 0.05);
}

/** Mean discharge (NaNs skipped). */
export function qMean(q: NumArray): number {
  return nanMean(q);
}

/**
 * Mean half-flow date: per water year (Oct 1), the 0-based position of the first day whose cumulative
 * (NaN-skipping) sum strictly exceeds half of the year's sum; years where no day does are left out.
 */
export function hfdMean(q: NumArray, dates: DateSeries): number {
  const days = toDayNumbers(dates, q.length);
  const doys: number[] = [];
  for (const w of yearWindows(days, 10)) {
    const pos = positionsIn(days, w);
    const half = nanSum(pos.map((i) => q[i])) / 2;
    let cum = 0;
    for (let k = 0; k < pos.length; k++) {
      if (!Number.isNaN(q[pos[k]])) cum += q[pos[k]];
      if (cum > half) {
        doys.push(k);
        break;
      }
    }
  }
  return doys.length === 0 ? Number.NaN : doys.reduce((a, b) => a + b, 0) / doys.length;
}

/** Options of {@link baseflowIndex}. */
export interface BaseflowOptions {
  /** Filter parameter (default 0.98). */
  alpha?: number;
  /** Steps mirrored at both ends of each run; runs need more than this many values (default 30). */
  warmup?: number;
  /** Alternating forward/backward passes; neuralhydrology infers 3 for daily data (default 3). */
  nPasses?: number;
}

/**
 * Baseflow index with the Lyne–Hollick filter, as neuralhydrology's numba code: each NaN-free run of more
 * than `warmup` values is mirrored `warmup` steps at both ends (`x[1:w+1][::-1]` before, `x[-w-1:-1][::-1]`
 * after) and filtered in alternating passes; each pass starts with quickflow = b[0] and writes 0 at
 * position 0, then the output is flipped. BFI = Σbaseflow / Σq over the runs.
 * @returns the index and the baseflow series (NaN where no baseflow was computed).
 */
export function baseflowIndex(q: NumArray, options: BaseflowOptions = {}): { index: number; baseflow: Float64Array } {
  const alpha = options.alpha ?? 0.98;
  const warmup = options.warmup ?? 30;
  const nPasses = options.nPasses ?? 3;
  const overall = new Float64Array(q.length).fill(Number.NaN);
  const valid: number[] = [];
  for (let i = 0; i < q.length; i++) if (!Number.isNaN(q[i])) valid.push(i);
  const segments = runs(valid, warmup + 1);
  if (segments.length === 0) return { index: Number.NaN, baseflow: overall };

  let qSum = 0;
  for (const seg of segments) {
    const run = seg.map((i) => q[i]);
    const len = run.length;
    let b = new Float64Array(len + 2 * warmup);
    b.set(run, warmup);
    for (let k = 0; k < warmup; k++) {
      b[k] = run[warmup - k]; // run[1:warmup+1] reversed
      b[warmup + len + k] = run[len - 2 - k]; // run[-warmup-1:-1] reversed
    }
    for (let pass = 0; pass < nPasses; pass++) {
      const next = new Float64Array(b.length);
      let quickflow = b[0];
      for (let i = 1; i < b.length; i++) {
        quickflow = alpha * quickflow + ((1 + alpha) * (b[i] - b[i - 1])) / 2;
        next[i] = quickflow > 0 ? b[i] - quickflow : b[i];
      }
      b = next.reverse();
    }
    seg.forEach((i, k) => {
      overall[i] = b[warmup + k];
    });
    qSum += run.reduce((a, v) => a + v, 0);
  }
  return { index: nanSum(overall) / qSum, baseflow: overall };
}

/**
 * Slope of the FDC between the 33% and 66% positions: (ln(q_l + 1e-8) − ln(q_u + 1e-8)) / (0.66 − 0.33),
 * positions round(p·n) (half to even) on the descending FDC with NaNs sorted FIRST, as xarray's sortby does.
 */
export function slopeFdc(q: NumArray, lowerQuantile = 0.33, upperQuantile = 0.66): number {
  // ascending sort puts NaN last, so its reverse is xarray's descending order with NaN first
  const fdc = sortDescending(q);
  const at = (i: number): number => (i < fdc.length ? fdc[i] : Number.NaN);
  const lower = at(roundHalfEven(lowerQuantile * fdc.length));
  const upper = at(roundHalfEven(upperQuantile * fdc.length));
  return (Math.log(lower + 1e-8) - Math.log(upper + 1e-8)) / (upperQuantile - lowerQuantile);
}

/** Runoff ratio: mean(q)/mean(prcp) over the same steps (NaNs skipped in each). */
export function runoffRatio(q: NumArray, prcp: NumArray): number {
  if (prcp.length !== q.length) throw new RangeError('q and prcp must have the same length');
  return nanMean(q) / nanMean(prcp);
}

/**
 * Streamflow elasticity: median over water years of ((q̄_y − q̄)/(p̄_y − p̄))·(p̄/q̄), after dropping the days
 * with q < 0 or NaN (from both series). The water years come from the unfiltered dates.
 */
export function streamElas(q: NumArray, prcp: NumArray, dates: DateSeries): number {
  if (prcp.length !== q.length) throw new RangeError('q and prcp must have the same length');
  const allDays = toDayNumbers(dates, q.length);
  const windows = yearWindows(allDays, 10);
  const keep: number[] = [];
  for (let i = 0; i < q.length; i++) if (q[i] >= 0) keep.push(i); // NaN >= 0 is false
  const qs = keep.map((i) => q[i]);
  const ps = keep.map((i) => prcp[i]);
  const days = Float64Array.from(keep, (i) => allDays[i]);
  const qTotal = nanMean(qs);
  const pTotal = nanMean(ps);
  const values = windows.map((w) => {
    const pos = positionsIn(days, w);
    const qy = nanMean(pos.map((k) => qs[k]));
    const py = nanMean(pos.map((k) => ps[k]));
    return ((qy - qTotal) / (py - pTotal)) * (pTotal / qTotal);
  });
  return median(values);
}

/** np.median: NaN if empty or if any value is NaN; mean of the two middle values for an even count. */
function median(values: number[]): number {
  if (values.length === 0 || values.some(Number.isNaN)) return Number.NaN;
  return nanMedian(values);
}

/** All (or the named) signatures with neuralhydrology's default arguments. */
export function calculateSignatures<N extends SignatureName = SignatureName>(
  q: NumArray,
  prcp: NumArray,
  dates: DateSeries,
  names: readonly N[] = SIGNATURE_NAMES as readonly SignatureName[] as readonly N[],
): Record<N, number> {
  const compute: Record<SignatureName, () => number> = {
    high_q_freq: () => highQFreq(q, dates),
    high_q_dur: () => highQDur(q),
    low_q_freq: () => lowQFreq(q, dates),
    low_q_dur: () => lowQDur(q),
    zero_q_freq: () => zeroQFreq(q),
    q95: () => q95(q),
    q5: () => q5(q),
    q_mean: () => qMean(q),
    hfd_mean: () => hfdMean(q, dates),
    baseflow_index: () => baseflowIndex(q).index,
    slope_fdc: () => slopeFdc(q),
    stream_elas: () => streamElas(q, prcp, dates),
    runoff_ratio: () => runoffRatio(q, prcp),
  };
  return computeByName(compute, names, 'signature');
}
