/**
 * Statistics used by the paper's analysis: scipy 1.10's paired Wilcoxon signed-rank test, the paper's
 * Cohen's d (`papercode/evalutils.get_cohens_d`) and its ECDF (`papercode/plotutils.ecdf`).
 */
import { type NumArray, pairwiseSum } from '../util/numeric.js';

// ---------------------------------------------------------------------------------------------------------
// normal tail probabilities

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * Complementary error function with full relative accuracy in the far tail (p-values near 1e-35 are
 * reported to ~1e-6 relative, which crude approximations miss by orders of magnitude).
 * |x| < 2: erf from its all-positive series 2x/√π·e^(−x²)·Σ(2x²)ⁿ/(2n+1)!!, no cancellation, and
 * erfc = 1 − erf (≥ 4.7e-3 there, so relative error stays ~1e-15). x ≥ 2: the Laplace continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))), evaluated with modified Lentz.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // below the smallest subnormal
  // modified Lentz for f = x + a1/(x + a2/(x + ...)), a_k = k/2
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** erf(x) for 0 <= x < 2 from the positive series (see {@link erfc}). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = 1;
  let total = 1;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    total += term;
    if (term < 1e-17 * total) break;
  }
  return TWO_OVER_SQRT_PI * x * Math.exp(-x2) * total;
}

/** Standard normal survival function P(Z > z), as scipy's norm.sf = ndtr(−z). */
export function normalSf(z: number): number {
  const t = -z * SQRT1_2;
  // cephes ndtr: y = 0.5·erfc(|t|) for the tail, mirrored for t > 0
  const y = 0.5 * erfc(Math.abs(t));
  return t > 0 ? 1 - y : y;
}

/** Standard normal CDF P(Z <= z). */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

// ---------------------------------------------------------------------------------------------------------
// Wilcoxon signed-rank test

/** Average ranks (1-based) of `v`, ties sharing the mean of their positions (scipy rankdata 'average'). */
export function rankAverage(v: NumArray): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => v[a] - v[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * Null distribution of R+ for n untied ranks, P(R+ = r) for r = 0..n(n+1)/2, built like scipy 1.10's
 * `_get_wilcoxon_distr` by repeated halving and shifting.
 */
export function wilcoxonNullDistribution(n: number): Float64Array {
  let c = new Float64Array([1]);
  for (let k = 1; k <= n; k++) {
    const prev = c;
    c = new Float64Array((k * (k + 1)) / 2 + 1);
    const m = prev.length;
    for (let i = 0; i < m; i++) c[i] = prev[i] * 0.5;
    for (let i = 0; i < m; i++) c[c.length - m + i] += prev[i] * 0.5;
  }
  return c;
}

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface WilcoxonOptions {
  /** Default 'two-sided'. 'greater' means x tends to be larger than y. */
  alternative?: Alternative;
  /** 'auto' (default): exact for up to 50 pairs, normal approximation above. */
  method?: 'auto' | 'exact' | 'approx';
}

export interface WilcoxonResult {
  /** min(R+, R−) for the two-sided test, R+ for one-sided ones (scipy's convention). */
  statistic: number;
  pvalue: number;
  /** The method actually used ('exact' falls back to 'approx' when there are zero differences). */
  method: 'exact' | 'approx';
  /** The normal-approximation z (with the statistic above), when the approximation was used. */
  zstatistic?: number;
  /** scipy's UserWarnings, as text. */
  warnings: string[];
}

/**
 * Paired Wilcoxon signed-rank test on d = x − y, as scipy 1.10.1 `wilcoxon(x, y, alternative, method)` with
 * zero_method='wilcox' and no continuity correction:
 * - 'exact' switches to 'approx' (with a warning) if any d == 0; ties do not switch it: a fractional R+
 *   is truncated to an integer for the exact p-value, as scipy does.
 * - 'approx' drops zero differences, ranks |d| (average ties), and uses mean n(n+1)/4 and variance
 *   [n(n+1)(2n+1) − ½Σt(t²−1)]/24.
 * NaN in the input gives NaN (nan_policy='propagate').
 */
export function wilcoxon(x: NumArray, y: NumArray, options: WilcoxonOptions = {}): WilcoxonResult {
  if (x.length !== y.length) throw new RangeError('The samples x and y must have the same length.');
  const alternative = options.alternative ?? 'two-sided';
  const requested = options.method ?? 'auto';
  const warnings: string[] = [];
  let d = Array.from({ length: x.length }, (_, i) => x[i] - y[i]);
  if (d.length === 0 || d.some(Number.isNaN)) {
    return { statistic: Number.NaN, pvalue: Number.NaN, method: requested === 'exact' ? 'exact' : 'approx', warnings };
  }
  let method: 'exact' | 'approx' = requested === 'auto' ? (d.length <= 50 ? 'exact' : 'approx') : requested;
  const nZero = d.filter((v) => v === 0).length;
  if (nZero > 0 && method === 'exact') {
    method = 'approx';
    warnings.push('Exact p-value calculation does not work if there are zeros. Switching to normal approximation.');
  }
  if (method === 'approx') {
    if (nZero === d.length) {
      throw new RangeError("zero_method 'wilcox' and 'pratt' do not work if x - y is zero for all elements.");
    }
    d = d.filter((v) => v !== 0);
  }
  const count = d.length;
  if (count < 10 && method === 'approx') warnings.push('Sample size too small for normal approximation.');

  const r = rankAverage(d.map(Math.abs));
  let rPlus = 0;
  let rMinus = 0;
  for (let i = 0; i < count; i++) {
    if (d[i] > 0) rPlus += r[i];
    else if (d[i] < 0) rMinus += r[i];
  }
  const statistic = alternative === 'two-sided' ? Math.min(rPlus, rMinus) : rPlus;

  if (method === 'approx') {
    const mn = count * (count + 1) * 0.25;
    let se = count * (count + 1) * (2 * count + 1);
    se -= 0.5 * tieCorrection(r);
    se = Math.sqrt(se / 24);
    const z = (statistic - mn) / se;
    const pvalue =
      alternative === 'two-sided' ? 2 * normalSf(Math.abs(z)) : alternative === 'greater' ? normalSf(z) : normalCdf(z);
    return { statistic, pvalue, method, zstatistic: z, warnings };
  }

  const pmf = wilcoxonNullDistribution(count);
  const rp = Math.trunc(rPlus); // scipy: int(r_plus); only fractional with ties
  const below = (): number => pairwiseSum(pmf, 0, rp + 1);
  const above = (): number => pairwiseSum(pmf, rp, pmf.length - rp);
  let pvalue: number;
  if (alternative === 'two-sided') {
    pvalue = rp === (pmf.length - 1) >> 1 ? 1 : 2 * Math.min(above(), below());
  } else {
    pvalue = alternative === 'greater' ? above() : below();
  }
  return { statistic, pvalue: Math.min(Math.max(pvalue, 0), 1), method, warnings };
}

/** Σ t(t²−1) over groups of tied ranks (scipy find_repeats on the ranks). */
function tieCorrection(ranks: Float64Array): number {
  const counts = new Map<number, number>();
  for (const r of ranks) counts.set(r, (counts.get(r) ?? 0) + 1);
  let total = 0;
  for (const t of counts.values()) if (t > 1) total += t * (t * t - 1);
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// effect size and ECDF

/** numpy mean and population variance (pairwise sums, as np.mean / np.var). */
function meanVar(v: NumArray): { mean: number; variance: number } {
  const mean = pairwiseSum(v) / v.length;
  const sq = Float64Array.from({ length: v.length }, (_, i) => (v[i] - mean) ** 2);
  return { mean, variance: pairwiseSum(sq) / v.length };
}

/**
 * Cohen's d as the paper computes it (`get_cohens_d`): population variances (np.var, ddof 0) weighted with
 * (n − 1), s = √(((n₁−1)·var₁ + (n₂−1)·var₂)/(n₁+n₂−2)), d = |mean₁ − mean₂|/s. Symmetric in its arguments.
 */
export function cohensD(values1: NumArray, values2: NumArray): number {
  const n1 = values1.length;
  const n2 = values2.length;
  const a = meanVar(values1);
  const b = meanVar(values2);
  const pooled = Math.sqrt(((n1 - 1) * a.variance + (n2 - 1) * b.variance) / (n1 + n2 - 2));
  return Math.abs(a.mean - b.mean) / pooled;
}

/** Empirical CDF as the paper plots it: sorted values and i/n for i = 1..n (ties keep separate steps). */
export function ecdf(values: NumArray): { xs: Float64Array; ys: Float64Array } {
  const n = values.length;
  const xs = Float64Array.from(values as ArrayLike<number>).sort();
  const ys = Float64Array.from({ length: n }, (_, i) => (i + 1) / n);
  return { xs, ys };
}
