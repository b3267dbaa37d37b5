/**
 * Hydrological performance metrics, as neuralhydrology's `evaluation/metrics.py` (v1.11, @76d0850) computes
 * them, plus the paper code's variants (`papercode/metrics.py` of kratzert/ealstm_regional_modeling).
 *
 * The code of both projects, not their docstrings, is the reference; every quirk is listed in
 * test/fixtures/README.md and checked against golden values produced by running the Python code.
 *
 * Conventions:
 * - Inputs are plain number arrays or Float64Arrays of equal length (obs first, sim second), in float64.
 * - neuralhydrology functions first drop every pair where obs or sim is NaN; all positions (FDC indices,
 *   peak indices) refer to the compacted series.
 * - Undefined results come out as NaN (never 0, never ±Infinity, never an exception), e.g. FHV with an empty
 *   top set. Where neuralhydrology would crash on a degenerate input (an IndexError on an empty or one-element
 *   series, np.percentile of an empty array), we return NaN instead. Where it divides by zero or by one of its
 *   1e-6 guards (constant observations: NSE -inf, FMS ~1e8, FLV ~-1e11; see test/fixtures/README.md), the
 *   metric is undefined and we return NaN too. {@link calculateMetricsExplained} says why, per metric.
 * - Dates for the peak metrics are day numbers (days since 1970-01-01, as in src/util/dates.ts) or ISO
 *   `YYYY-MM-DD` strings, one per time step, daily resolution. They are only used to detect windows that
 *   span missing days; without dates the input's steps are taken to be consecutive days (so gaps left by
 *   NaN pairs are still detected, but a series that arrives already compacted needs its dates).
 */
import { parseIsoDate } from '../util/dates.js';
import {
  findPeaks,
  type NumArray,
  mean,
  percentileLinear,
  roundHalfEven,
  sortDescending,
  stdPopulation,
  sum,
} from '../util/numeric.js';
import { computeByName } from '../util/by-name.js';

/** One date per time step: day numbers since 1970-01-01 or ISO `YYYY-MM-DD` strings. */
export type DateSeries = ArrayLike<number> | readonly string[];

/** The output names of {@link calculateMetrics}, in neuralhydrology's order of metrics.py. */
export const METRIC_NAMES = [
  'NSE',
  'MSE',
  'RMSE',
  'alpha_nse',
  'beta_nse',
  'beta_kge',
  'KGE',
  'pearson_r',
  'FHV',
  'FMS',
  'FLV',
  'peak_timing',
  'missed_peaks',
  'peak_mape',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** The metrics the core project's evaluation reports (the paper's table), neuralhydrology definitions. */
export const CORE_METRIC_NAMES: readonly MetricName[] = ['NSE', 'alpha_nse', 'beta_nse', 'FHV', 'FMS', 'FLV', 'KGE'];

/** Which FDC definitions FHV/FMS/FLV use: neuralhydrology's (default) or the paper code's. */
export type FdcVariant = 'nh' | 'paper';

// ---------------------------------------------------------------------------------------------------------
// input handling

function validateInputs(obs: NumArray, sim: NumArray): void {
  if (obs.length !== sim.length) {
    throw new RangeError(`obs and sim must have the same length (got ${obs.length} and ${sim.length})`);
  }
}

interface Valid {
  obs: Float64Array;
  sim: Float64Array;
  /** Position in the input of each kept pair (to pick the matching dates). */
  index: number[];
}

/** neuralhydrology's `_mask_valid`: drops every pair where obs or sim is NaN. */
function maskValid(obs: NumArray, sim: NumArray): Valid {
  validateInputs(obs, sim);
  const index: number[] = [];
  for (let i = 0; i < obs.length; i++) {
    if (!Number.isNaN(obs[i]) && !Number.isNaN(sim[i])) index.push(i);
  }
  return {
    obs: Float64Array.from(index, (i) => obs[i]),
    sim: Float64Array.from(index, (i) => sim[i]),
    index,
  };
}

/** Day numbers (days since 1970-01-01) of a date series; `n` is the expected length. */
export function toDayNumbers(dates: DateSeries, n: number): Float64Array {
  if (dates.length !== n) throw new RangeError(`dates must have one entry per time step (${dates.length} vs ${n})`);
  return Float64Array.from({ length: n }, (_, i) => {
    const d = dates[i];
    return typeof d === 'string' ? parseIsoDate(d, `dates[${i}]`) : d;
  });
}

/** Day numbers of the kept steps; without dates, the input position (input steps are consecutive days). */
function validDays(dates: DateSeries | null | undefined, n: number, index: readonly number[]): Float64Array {
  if (dates == null) return Float64Array.from(index);
  const days = toDayNumbers(dates, n);
  return Float64Array.from(index, (i) => days[i]);
}

/** np.min semantics: NaN if any element is NaN (Math.min propagates NaN too, but spreads are size-limited). */
function minOf(x: NumArray): number {
  let m = Number.POSITIVE_INFINITY;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) return Number.NaN;
    if (x[i] < m) m = x[i];
  }
  return x.length === 0 ? Number.NaN : m;
}

// ---------------------------------------------------------------------------------------------------------
// neuralhydrology metrics

/**
 * Whether all values are equal (true for an empty series). Tested directly, not as variance 0: the mean of n
 * equal floats is not always exactly that float, which leaves a variance of ~1e-33 and an NSE of ~-1e32.
 */
const isConstant = (x: Float64Array): boolean => x.every((v) => v === x[0]);

/** The population std of obs, or NaN for constant obs (no spread to scale by). */
const obsSpread = (obs: Float64Array): number => (isConstant(obs) ? Number.NaN : stdPopulation(obs));

/** a/b, NaN where b is 0 (numpy's ±inf and nan there are no value: the ratio is undefined). */
function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

/** Nash–Sutcliffe efficiency: 1 − Σ(sim−obs)²/Σ(obs−mean obs)². NaN when obs is constant (numpy: −inf or nan). */
export function nse(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  const m = mean(v.obs);
  let den = 0;
  let num = 0;
  for (let i = 0; i < v.obs.length; i++) {
    den += (v.obs[i] - m) ** 2;
    num += (v.sim[i] - v.obs[i]) ** 2;
  }
  return isConstant(v.obs) ? Number.NaN : 1 - num / den;
}

/** Mean squared error. */
export function mse(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  let s = 0;
  for (let i = 0; i < v.obs.length; i++) s += (v.sim[i] - v.obs[i]) ** 2;
  return s / v.obs.length;
}

/** Root mean squared error. */
export function rmse(obs: NumArray, sim: NumArray): number {
  return Math.sqrt(mse(obs, sim));
}

/** α-NSE: std(sim)/std(obs), population standard deviations; NaN for constant obs. */
export function alphaNse(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  return ratio(stdPopulation(v.sim), obsSpread(v.obs));
}

/** β-NSE: (mean(sim) − mean(obs))/std(obs); NaN for constant obs. */
export function betaNse(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  return ratio(mean(v.sim) - mean(v.obs), obsSpread(v.obs));
}

/** β-KGE: mean(sim)/mean(obs); NaN when mean(obs) is 0. */
export function betaKge(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  return ratio(mean(v.sim), mean(v.obs));
}

/**
 * `scipy.stats.pearsonr(x, y)[0]` (scipy 1.10) on already clean data: NaN for a constant input,
 * ±1 by signs for two points, else the dot product of the normalised centred vectors, clipped to [−1, 1].
 */
function pearsonClean(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  if (n < 2) return Number.NaN;
  if (x.every((v) => v === x[0]) || y.every((v) => v === y[0])) return Number.NaN;
  if (n === 2) return Math.sign(x[1] - x[0]) * Math.sign(y[1] - y[0]);
  const mx = mean(x);
  const my = mean(y);
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < n; i++) {
    nx += (x[i] - mx) ** 2;
    ny += (y[i] - my) ** 2;
  }
  nx = Math.sqrt(nx);
  ny = Math.sqrt(ny);
  let r = 0;
  for (let i = 0; i < n; i++) r += ((x[i] - mx) / nx) * ((y[i] - my) / ny);
  return Math.max(Math.min(r, 1), -1);
}

/** Pearson correlation coefficient (scipy.stats.pearsonr); NaN with fewer than 2 valid pairs. */
export function pearsonR(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  return pearsonClean(v.obs, v.sim);
}

/**
 * Kling–Gupta efficiency 1 − √(w₁(r−1)² + w₂(α−1)² + w₃(β−1)²) with β = mean(sim)/mean(obs).
 * The weights multiply the squared terms (the docstring squares them too; the code does not).
 * NaN with fewer than 2 valid pairs.
 */
export function kge(obs: NumArray, sim: NumArray, weights: readonly [number, number, number] = [1, 1, 1]): number {
  if (weights.length !== 3) throw new RangeError('Weights of the KGE must be a list of three values');
  const v = maskValid(obs, sim);
  if (v.obs.length < 2) return Number.NaN;
  const r = pearsonClean(v.obs, v.sim);
  const alpha = ratio(stdPopulation(v.sim), obsSpread(v.obs));
  const beta = ratio(mean(v.sim), mean(v.obs));
  const value = weights[0] * (r - 1) ** 2 + weights[1] * (alpha - 1) ** 2 + weights[2] * (beta - 1) ** 2;
  return 1 - Math.sqrt(value);
}

function checkFraction(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw new RangeError(`${name} has to be in range ]0,1[`);
}

/**
 * Bias of the high-flow segment of the FDC, in percent: 100·Σ(sim−obs)/Σobs over the top `round(h·n)`
 * values of each sorted series. NaN (0/0) when that count rounds to 0.
 */
export function fdcFhv(obs: NumArray, sim: NumArray, h = 0.02): number {
  const v = maskValid(obs, sim);
  checkFraction('h', h);
  const o = sortDescending(v.obs);
  const s = sortDescending(v.sim);
  const k = roundHalfEven(h * o.length);
  return ratio(sum(s.subarray(0, k).map((x, i) => x - o[i])), sum(o.subarray(0, k))) * 100;
}

/** neuralhydrology's zero handling before FMS/FLV logs: sim ≤ 0 → 1e-6 and obs == 0 → 1e-6 (in place). */
function nhReplaceLow(o: Float64Array, s: Float64Array): void {
  for (let i = 0; i < s.length; i++) if (s[i] <= 0) s[i] = 1e-6;
  for (let i = 0; i < o.length; i++) if (o[i] === 0) o[i] = 1e-6;
}

/**
 * Bias of the FDC mid-segment slope, in percent, as coded (not as the docstring says):
 * 100·[(ln s[iₗ] − ln s[iᵤ]) − (ln o[iₗ] − ln o[iᵤ])]/(ln o[iₗ] − ln o[iᵤ] + 1e-6), iₗ = round(lower·n),
 * iᵤ = round(upper·n) on the descending FDCs, after sim ≤ 0 → 1e-6 and obs == 0 → 1e-6.
 */
export function fdcFms(obs: NumArray, sim: NumArray, lower = 0.2, upper = 0.7): number {
  const v = maskValid(obs, sim);
  checkFraction('lower', lower);
  checkFraction('upper', upper);
  if (lower >= upper) throw new RangeError('The lower threshold has to be smaller than the upper.');
  const o = sortDescending(v.obs);
  const s = sortDescending(v.sim);
  nhReplaceLow(o, s);
  const n = o.length;
  const il = roundHalfEven(lower * n);
  const iu = roundHalfEven(upper * n);
  // an index past the end (n ≤ 1) is an IndexError in Python; here it reads as NaN
  const at = (x: Float64Array, i: number): number => (i < x.length ? x[i] : Number.NaN);
  const qsmLower = Math.log(at(s, il));
  const qsmUpper = Math.log(at(s, iu));
  const qomLower = Math.log(at(o, il));
  const qomUpper = Math.log(at(o, iu));
  // a flat observed mid-segment has no slope to compare with: neuralhydrology's 1e-6 guard gives ~1e8 %
  if (qomLower === qomUpper) return Number.NaN;
  return (((qsmLower - qsmUpper) - (qomLower - qomUpper)) / (qomLower - qomUpper + 1e-6)) * 100;
}

/**
 * Bias of the low-flow segment of the FDC, in percent: over the last `round(l·n)` values of each
 * descending FDC (after sim ≤ 0 → 1e-6, obs == 0 → 1e-6), with qsl = Σ(ln s − min ln s) and qol likewise,
 * −100·(qsl − qol)/(qol + 1e-6). A count that rounds to 0 keeps the whole series (Python's `x[-0:]`).
 */
export function fdcFlv(obs: NumArray, sim: NumArray, l = 0.3): number {
  const v = maskValid(obs, sim);
  checkFraction('l', l);
  const o = sortDescending(v.obs);
  const s = sortDescending(v.sim);
  nhReplaceLow(o, s);
  const k = roundHalfEven(l * o.length);
  const start = k === 0 ? 0 : o.length - k;
  return lowSegmentBias(
    o.subarray(start).map(Math.log),
    s.subarray(start).map(Math.log),
  );
}

/** The shared FLV formula on log-transformed low segments. */
function lowSegmentBias(logObs: Float64Array, logSim: Float64Array): number {
  // numpy's min of an empty array raises; an empty segment has no defined bias
  if (logObs.length === 0) return Number.NaN;
  const minS = minOf(logSim);
  const minO = minOf(logObs);
  const qsl = sum(logSim.map((x) => x - minS));
  const qol = sum(logObs.map((x) => x - minO));
  // a flat observed low segment (constant or all-zero low flows, one day) has no volume to compare with: the
  // references' 1e-6 guard gives ~-1e11 %, or 0 ("perfect") for a one-day series
  if (qol === 0) return Number.NaN;
  return ((-1 * (qsl - qol)) / (qol + 1e-6)) * 100;
}

/** True if the 2w+1 steps centred on idx are consecutive days (pandas date_range size check). */
function windowIsContiguous(days: Float64Array, idx: number, window: number): boolean {
  return days[idx + window] - days[idx - window] + 1 === 2 * window + 1;
}

/** Options of the peak metrics. */
export interface PeakTimingOptions {
  /** Half width of the search window in steps; neuralhydrology's default for daily data is 3. */
  window?: number;
}

/**
 * Mean absolute timing error (days) between observed peaks and the matching simulated peaks.
 * Observed peaks: find_peaks(obs, distance=100, prominence=std(obs)). A peak whose ±window steps reach past
 * either end or span removed days is skipped. The simulated peak is at the same step if sim is higher than
 * both neighbours there, else at the first maximum of sim in the window. NaN if every peak was skipped.
 */
export function meanPeakTiming(
  obs: NumArray,
  sim: NumArray,
  dates?: DateSeries | null,
  options: PeakTimingOptions = {},
): number {
  const v = maskValid(obs, sim);
  const days = validDays(dates, obs.length, v.index);
  const window = options.window ?? 3;
  const n = v.obs.length;
  const peaks = findPeaks(v.obs, { distance: 100, prominence: stdPopulation(v.obs) });
  const errors: number[] = [];
  for (const idx of peaks) {
    if (idx - window < 0 || idx + window >= n || !windowIsContiguous(days, idx, window)) continue;
    const s = v.sim;
    let simIdx = idx;
    if (!(s[idx] > s[idx - 1] && s[idx] > s[idx + 1])) {
      // first argmax inside the window, as numpy's argmax
      simIdx = idx - window;
      for (let j = idx - window + 1; j <= idx + window; j++) if (s[j] > s[simIdx]) simIdx = j;
    }
    errors.push(Math.abs(days[idx] - days[simIdx]));
  }
  return errors.length > 0 ? mean(errors) : Number.NaN;
}

/** Options of {@link missedPeaks}. */
export interface MissedPeaksOptions {
  /** Half width of the matching window in steps; neuralhydrology's default for daily data is 1. */
  window?: number;
  /** Peaks must reach this percentile of their own series (default 80). */
  percentile?: number;
}

/**
 * Fraction of observed peaks with no simulated peak within ±window steps. Peaks of both series come from
 * find_peaks(x, distance=30, height=percentile80(x)). Observed peaks at the edges or next to removed days
 * are not checked but stay in the denominator. 0 when obs has no peaks; NaN for an empty series.
 */
export function missedPeaks(
  obs: NumArray,
  sim: NumArray,
  dates?: DateSeries | null,
  options: MissedPeaksOptions = {},
): number {
  const v = maskValid(obs, sim);
  const days = validDays(dates, obs.length, v.index);
  const n = v.obs.length;
  if (n === 0) return Number.NaN;
  const percentile = options.percentile ?? 80;
  const window = options.window ?? 1;
  const peaksObs = findPeaks(v.obs, { distance: 30, height: percentileLinear(v.obs, percentile) });
  const peaksSim = findPeaks(v.sim, { distance: 30, height: percentileLinear(v.sim, percentile) });
  if (peaksObs.length === 0) return 0;
  let missed = 0;
  for (const idx of peaksObs) {
    if (idx - window < 0 || idx + window >= n || !windowIsContiguous(days, idx, window)) continue;
    if (!peaksSim.some((p) => Math.abs(p - idx) <= window)) missed++;
  }
  return missed / peaksObs.length;
}

/**
 * Mean absolute percentage error (percent) of sim at the observed peaks of {@link meanPeakTiming}
 * (no edge or gap check). NaN if there are no peaks or no valid pairs.
 */
export function meanAbsolutePercentagePeakError(obs: NumArray, sim: NumArray): number {
  const v = maskValid(obs, sim);
  if (v.obs.length === 0) return Number.NaN;
  const peaks = findPeaks(v.obs, { distance: 100, prominence: stdPopulation(v.obs) });
  if (peaks.length === 0) return Number.NaN;
  const total = sum(peaks.map((p) => Math.abs((v.sim[p] - v.obs[p]) / v.obs[p])));
  return (total / peaks.length) * 100;
}

// ---------------------------------------------------------------------------------------------------------
// paper code (papercode/metrics.py): no NaN handling inside, the caller filters (see paperPrefilter)

/**
 * The paper pipeline's filter before its metrics: evalutils keeps steps with obs ≥ 0 (which also drops
 * NaN obs); pairs with a NaN simulation are dropped too (the paper never produced any).
 */
export function paperPrefilter(obs: NumArray, sim: NumArray): { obs: Float64Array; sim: Float64Array } {
  validateInputs(obs, sim);
  const keep: number[] = [];
  for (let i = 0; i < obs.length; i++) if (obs[i] >= 0 && !Number.isNaN(sim[i])) keep.push(i);
  return { obs: Float64Array.from(keep, (i) => obs[i]), sim: Float64Array.from(keep, (i) => sim[i]) };
}

/** Paper NSE: same formula as neuralhydrology, but throws when all observations are equal. */
export function paperNse(obs: NumArray, sim: NumArray): number {
  validateInputs(obs, sim);
  const m = mean(obs);
  let den = 0;
  let num = 0;
  for (let i = 0; i < obs.length; i++) {
    den += (obs[i] - m) ** 2;
    num += (sim[i] - obs[i]) ** 2;
  }
  if (den === 0) {
    throw new Error(
      'The Nash-Sutcliffe-Efficiency coefficient is not defined for the case, that all values in the ' +
        'observations are equal. Maybe you should use the Mean-Squared-Error instead.',
    );
  }
  return 1 - num / den;
}

/** Paper α-NSE: std(sim)/std(obs) (np.std, ddof 0), no masking. */
export function paperAlphaNse(obs: NumArray, sim: NumArray): number {
  validateInputs(obs, sim);
  return stdPopulation(sim) / stdPopulation(obs);
}

/** Paper β-NSE: (mean(sim) − mean(obs))/std(obs), no masking. */
export function paperBetaNse(obs: NumArray, sim: NumArray): number {
  validateInputs(obs, sim);
  return (mean(sim) - mean(obs)) / stdPopulation(obs);
}

/** Paper FHV: like neuralhydrology's but the denominator is Σobs + 1e-6, so an empty top set gives 0. */
export function paperFdcFhv(obs: NumArray, sim: NumArray, h = 0.02): number {
  validateInputs(obs, sim);
  checkFraction('h', h);
  const o = sortDescending(obs);
  const s = sortDescending(sim);
  const k = roundHalfEven(h * o.length);
  return (sum(s.subarray(0, k).map((x, i) => x - o[i])) / (sum(o.subarray(0, k)) + 1e-6)) * 100;
}

/** The paper's zero handling: exact zeros → 1e-6 in both series; negatives are left alone (their log is NaN). */
function paperReplaceZeros(x: NumArray): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v) => (v === 0 ? 1e-6 : v));
}

/**
 * Paper FMS: zeros → 1e-6, descending FDCs, logs of x + 1e-6 at positions round(m1·n) and round(m2·n)
 * (m2 defaults to 0.7 in the code although its docstring says 0.2); same formula as neuralhydrology.
 */
export function paperFdcFms(obs: NumArray, sim: NumArray, m1 = 0.2, m2 = 0.7): number {
  validateInputs(obs, sim);
  checkFraction('m1', m1);
  checkFraction('m2', m2);
  if (m1 >= m2) throw new RangeError('m1 has to be smaller than m2');
  const o = sortDescending(paperReplaceZeros(obs));
  const s = sortDescending(paperReplaceZeros(sim));
  const at = (x: Float64Array, i: number): number => (i < x.length ? x[i] : Number.NaN);
  const i1 = roundHalfEven(m1 * s.length);
  const i2 = roundHalfEven(m2 * s.length);
  const qsm1 = Math.log(at(s, i1) + 1e-6);
  const qsm2 = Math.log(at(s, i2) + 1e-6);
  const qom1 = Math.log(at(o, i1) + 1e-6);
  const qom2 = Math.log(at(o, i2) + 1e-6);
  if (qom1 === qom2) return Number.NaN; // flat observed mid-segment, as fdcFms
  return (((qsm1 - qsm2) - (qom1 - qom2)) / (qom1 - qom2 + 1e-6)) * 100;
}

/**
 * Paper FLV: `l` is where the low segment starts on the descending FDC (`x[round(l·n):]`, so
 * n − round(0.7n) values), zeros → 1e-6, logs of x + 1e-6; a negative simulation makes it NaN.
 */
export function paperFdcFlv(obs: NumArray, sim: NumArray, l = 0.7): number {
  validateInputs(obs, sim);
  checkFraction('l', l);
  const o = sortDescending(paperReplaceZeros(obs));
  const s = sortDescending(paperReplaceZeros(sim));
  const start = roundHalfEven(l * o.length);
  return lowSegmentBias(
    o.subarray(start).map((x) => Math.log(x + 1e-6)),
    s.subarray(start).map((x) => Math.log(x + 1e-6)),
  );
}

// ---------------------------------------------------------------------------------------------------------
// all at once

/** Options of {@link calculateMetrics}. */
export interface CalculateMetricsOptions {
  /** 'nh' (default): neuralhydrology FHV/FMS/FLV. 'paper': the paper code's, on paperPrefilter'ed pairs. */
  fdcVariant?: FdcVariant;
}

/** The metrics of one basin, and for each metric without a defined value (NaN) the reason, in words. */
export interface ExplainedMetrics<N extends string = MetricName> {
  values: Record<N, number>;
  reasons: Partial<Record<N, string>>;
}

const shortNumber = (v: number): string => String(Number(v.toPrecision(4)));

/**
 * Why `name` has no defined value on the pairs it was computed on (`obs`, `sim`: after masking, or after the
 * paper's prefilter for its FDC metrics), or null when `value` is a defined value. The data's own defects come
 * first (no pairs, one day, constant observations), then the metric's specific condition.
 */
function undefinedReason(name: MetricName, obs: Float64Array, sim: Float64Array, value: number, variant: FdcVariant): string | null {
  const n = obs.length;
  // the paper's FHV reads an empty top set as 0 (its 1e-6 guard); it has no value there either
  const emptyTopSet = name === 'FHV' && roundHalfEven(0.02 * n) === 0;
  if (Number.isFinite(value) && !emptyTopSet) return null;
  if (n === 0) return 'no day with both an observed and a simulated value';
  if (n === 1) return 'only 1 day with both an observed and a simulated value';
  if (isConstant(obs) && name !== 'MSE' && name !== 'RMSE') return `constant observed flow (${shortNumber(obs[0])} on all ${n} days)`;
  switch (name) {
    case 'FHV':
      return emptyTopSet
        ? `too few days (${n}) for the highest 2% of the flow duration curve (at least 25 needed)`
        : 'no observed flow on the highest 2% of the flow duration curve';
    case 'FMS':
      if (obs.some((v) => v < 0) || (variant === 'paper' && sim.some((v) => v < 0))) return 'negative flow values (no logarithm)';
      return 'the observed flow duration curve is flat between 20% and 70% exceedance';
    case 'FLV':
      if (obs.some((v) => v < 0) || (variant === 'paper' && sim.some((v) => v < 0))) return 'negative flow values (no logarithm)';
      return 'the observed flow duration curve is flat over its lowest 30%';
    case 'pearson_r':
    case 'KGE':
      if (isConstant(sim)) return `constant simulated flow (${shortNumber(sim[0])} on all ${n} days)`;
      return mean(obs) === 0 ? 'the mean observed flow is 0' : 'not defined for this series';
    case 'beta_kge':
      return 'the mean observed flow is 0';
    case 'peak_timing':
      return 'no observed peak with 3 complete days on each side';
    case 'peak_mape':
      return obs.some((v) => v === 0) ? 'an observed peak of 0' : 'no observed peak';
    default:
      return 'not defined for this series';
  }
}

/**
 * {@link calculateMetrics} with the reason for every metric that has no defined value. This is where the one
 * rule for undefined metrics is applied: a metric is either a finite number or missing (NaN) with a reason.
 */
export function calculateMetricsExplained<N extends MetricName = MetricName>(
  obs: NumArray,
  sim: NumArray,
  dates: DateSeries | null | undefined,
  names: readonly N[] = METRIC_NAMES as readonly MetricName[] as readonly N[],
  options: CalculateMetricsOptions = {},
): ExplainedMetrics<N> {
  const values = computeMetrics(obs, sim, dates, names, options);
  const variant = options.fdcVariant ?? 'nh';
  const valid = maskValid(obs, sim);
  const paper = variant === 'paper' ? paperPrefilter(obs, sim) : null;
  const reasons: Partial<Record<N, string>> = {};
  for (const name of names) {
    const pairs = paper && (name === 'FHV' || name === 'FMS' || name === 'FLV') ? paper : valid;
    const reason = undefinedReason(name, pairs.obs, pairs.sim, values[name], variant);
    if (reason !== null) {
      values[name] = Number.NaN;
      reasons[name] = reason;
    }
  }
  return { values, reasons };
}

/**
 * Computes the named metrics (default: all of {@link METRIC_NAMES}) with default arguments; a metric that is
 * undefined on the data is NaN (see {@link calculateMetricsExplained} for the reasons).
 * neuralhydrology raises AllNaNError when obs or sim is entirely NaN, and its tester then records NaN for
 * every metric; here every metric simply comes out NaN (missed_peaks too: its "no observed peak → 0" rule
 * needs a non-empty series).
 * @param dates one date per step (day numbers or ISO strings), for the peak metrics; null = the input's steps
 *   are consecutive days.
 */
export function calculateMetrics<N extends MetricName = MetricName>(
  obs: NumArray,
  sim: NumArray,
  dates: DateSeries | null | undefined,
  names: readonly N[] = METRIC_NAMES as readonly MetricName[] as readonly N[],
  options: CalculateMetricsOptions = {},
): Record<N, number> {
  return calculateMetricsExplained(obs, sim, dates, names, options).values;
}

/** The metric functions' values, before the undefined-metric rule. */
function computeMetrics<N extends MetricName>(
  obs: NumArray,
  sim: NumArray,
  dates: DateSeries | null | undefined,
  names: readonly N[],
  options: CalculateMetricsOptions,
): Record<N, number> {
  validateInputs(obs, sim);
  const variant = options.fdcVariant ?? 'nh';
  if (variant !== 'nh' && variant !== 'paper') throw new RangeError(`Unknown FDC variant '${String(variant)}'`);
  const paper = variant === 'paper' ? paperPrefilter(obs, sim) : undefined;
  const compute: Record<MetricName, () => number> = {
    NSE: () => nse(obs, sim),
    MSE: () => mse(obs, sim),
    RMSE: () => rmse(obs, sim),
    alpha_nse: () => alphaNse(obs, sim),
    beta_nse: () => betaNse(obs, sim),
    beta_kge: () => betaKge(obs, sim),
    KGE: () => kge(obs, sim),
    pearson_r: () => pearsonR(obs, sim),
    FHV: () => (paper ? paperFdcFhv(paper.obs, paper.sim) : fdcFhv(obs, sim)),
    FMS: () => (paper ? paperFdcFms(paper.obs, paper.sim) : fdcFms(obs, sim)),
    FLV: () => (paper ? paperFdcFlv(paper.obs, paper.sim) : fdcFlv(obs, sim)),
    peak_timing: () => meanPeakTiming(obs, sim, dates),
    missed_peaks: () => missedPeaks(obs, sim, dates),
    peak_mape: () => meanAbsolutePercentagePeakError(obs, sim),
  };
  return computeByName(compute, names, 'metric');
}
