/**
 * numpy/scipy-compatible numeric primitives used by the evaluation code.
 *
 * The metrics and signatures must reproduce neuralhydrology's values bit-for-bit where the result is a count
 * (peak timing, missed peaks, FDC positions), so these helpers copy numpy's and scipy's exact behaviour
 * rather than a textbook definition: round half to even, numpy's 'linear' percentile formula and its lerp,
 * numpy's (unstable) introsort argsort, and scipy.signal.find_peaks' filter order.
 */

/** Numbers in, as the metrics accept them. */
export type NumArray = ArrayLike<number>;

/** numpy `np.round(x)` (= `rint`): rounds to the nearest integer, ties to the even one. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const frac = x - f; // exact for every double (|x| < 2^52 has a representable fraction; larger x are integers)
  const r = frac < 0.5 ? f : frac > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && x < 0 ? -0 : r; // rint keeps the sign of zero: rint(-0.4) = -0
}

/** numpy's float ordering for sorts: NaN goes last. */
function less(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/** Ascending copy with NaN last, like `np.sort`. */
export function sortAscending(x: NumArray): Float64Array {
  const out = Float64Array.from(x as ArrayLike<number>);
  // Float64Array#sort orders numerically and puts NaN last, as numpy does.
  out.sort();
  return out;
}

/** Descending copy, like `np.sort(x)[::-1]` (NaN first, which is what a reversed ascending sort gives). */
export function sortDescending(x: NumArray): Float64Array {
  return sortAscending(x).reverse();
}

/**
 * `np.argsort(v)` with numpy 1.24's default kind ('quicksort' = introsort, not stable).
 *
 * scipy's find_peaks breaks distance ties in this order, so it is ported literally from numpy's
 * `aquicksort_` (median-of-3 partition, insertion sort for 16 elements or fewer, heapsort past the depth limit).
 */
export function argsortNumpy(v: NumArray): Int32Array {
  const num = v.length;
  const tosort = new Int32Array(num);
  for (let i = 0; i < num; i++) tosort[i] = i;
  if (num < 2) return tosort;
  const SMALL_QUICKSORT = 15; // numpy: partitions while pr − pl > 15
  const swap = (a: number, b: number): void => {
    const t = tosort[a];
    tosort[a] = tosort[b];
    tosort[b] = t;
  };
  const stack: number[] = [];
  const depthStack: number[] = [];
  let pl = 0;
  let pr = num - 1;
  let cdepth = 2 * (31 - Math.clz32(num)); // npy_get_msb(num) * 2: index of the top bit

  for (;;) {
    if (cdepth < 0) {
      aheapsort(v, tosort, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (less(v[tosort[pm]], v[tosort[pl]])) swap(pm, pl);
        if (less(v[tosort[pr]], v[tosort[pm]])) swap(pr, pm);
        if (less(v[tosort[pm]], v[tosort[pl]])) swap(pm, pl);
        const vp = v[tosort[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi;
          while (less(v[tosort[pi]], vp));
          do --pj;
          while (less(vp, v[tosort[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // push the larger partition, continue with the smaller one
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depthStack.push(--cdepth);
      }
      // insertion sort
      for (let pi = pl + 1; pi <= pr; ++pi) {
        const vi = tosort[pi];
        const vp = v[vi];
        let pj = pi;
        let pk = pi - 1;
        while (pk >= pl && less(vp, v[tosort[pk]])) {
          tosort[pj--] = tosort[pk--];
        }
        tosort[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop() as number;
    pl = stack.pop() as number;
    cdepth = depthStack.pop() as number;
  }
  return tosort;
}

/** numpy's `aheapsort_` on tosort[start .. start+n-1] (1-based heap indexing as in the C code). */
function aheapsort(v: NumArray, tosort: Int32Array, start: number, n: number): void {
  const a = (k: number): number => tosort[start + k - 1];
  const set = (k: number, val: number): void => {
    tosort[start + k - 1] = val;
  };
  let i: number;
  let j: number;
  let tmp: number;
  for (let l = n >> 1; l > 0; --l) {
    tmp = a(l);
    for (i = l, j = l << 1; j <= n; ) {
      if (j < n && less(v[a(j)], v[a(j + 1)])) j += 1;
      if (less(v[tmp], v[a(j)])) {
        set(i, a(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
  for (; n > 1; ) {
    tmp = a(n);
    set(n, a(1));
    n -= 1;
    for (i = 1, j = 2; j <= n; ) {
      if (j < n && less(v[a(j)], v[a(j + 1)])) j++;
      if (less(v[tmp], v[a(j)])) {
        set(i, a(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
}

/**
 * numpy's `_lerp`: a + (b-a)·t, but b − (b-a)·(1-t) for t ≥ 0.5 (numpy does this for monotonicity,
 * and the last bits of the fixture values depend on it).
 */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * `np.quantile(x, p)` with the default 'linear' method (Hyndman–Fan type 7), p in [0, 1].
 * Like numpy, any NaN in `x` makes the result NaN; an empty array gives NaN.
 */
export function quantileLinear(x: NumArray, p: number): number {
  const n = x.length;
  if (n === 0 || !(p >= 0 && p <= 1)) return Number.NaN;
  const sorted = sortAscending(x);
  if (Number.isNaN(sorted[n - 1])) return Number.NaN;
  const virtual = (n - 1) * p;
  let prev = Math.floor(virtual);
  let next = prev + 1;
  if (virtual >= n - 1) {
    // numpy points both indices at the last element (index -1); gamma is irrelevant then
    prev = n - 1;
    next = n - 1;
  }
  const gamma = virtual - Math.floor(virtual);
  return lerp(sorted[prev], sorted[next], gamma);
}

/** `np.nanquantile(x, p)`, linear: NaNs are dropped first; all-NaN or empty gives NaN. */
export function nanQuantileLinear(x: NumArray, p: number): number {
  const kept: number[] = [];
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i])) kept.push(x[i]);
  return quantileLinear(kept, p);
}

/** `np.percentile(x, q)` with the default 'linear' method, q in percent (numpy divides by 100 first). */
export function percentileLinear(x: NumArray, q: number): number {
  return quantileLinear(x, q / 100);
}

/** Options of {@link findPeaks}; each one is scipy's scalar form of the same argument. */
export interface FindPeaksOptions {
  /** Minimum peak height (scipy: `height=h` keeps peaks with h <= x[peak]). */
  height?: number;
  /** Minimum horizontal distance in samples between peaks (rounded up, must be >= 1). */
  distance?: number;
  /** Minimum prominence (scipy: `prominence=p` keeps peaks with p <= prominence). */
  prominence?: number;
}

/**
 * scipy's `_local_maxima_1d`: strict local maxima, where a flat plateau counts once, at its middle
 * `(left + right) // 2`. Plateaus touching either end of the series are not maxima.
 */
export function localMaxima(x: NumArray): number[] {
  const peaks: number[] = [];
  const iMax = x.length - 1;
  let i = 1;
  while (i < iMax) {
    if (x[i - 1] < x[i]) {
      let ahead = i + 1;
      while (ahead < iMax && x[ahead] === x[i]) ahead++;
      if (x[ahead] < x[i]) {
        peaks.push((i + ahead - 1) >> 1);
        i = ahead;
      }
    }
    i++;
  }
  return peaks;
}

/** scipy's `_peak_prominences` with no window (wlen=None): height above the higher of the two bases. */
export function peakProminences(x: NumArray, peaks: readonly number[]): number[] {
  const n = x.length;
  return peaks.map((peak) => {
    const h = x[peak];
    let leftMin = h;
    for (let i = peak; i >= 0 && x[i] <= h; i--) if (x[i] < leftMin) leftMin = x[i];
    let rightMin = h;
    for (let i = peak; i < n && x[i] <= h; i++) if (x[i] < rightMin) rightMin = x[i];
    return h - Math.max(leftMin, rightMin);
  });
}

/**
 * scipy's `_select_by_peak_distance`: visits peaks from highest to lowest (ties in numpy argsort order,
 * visited in reverse) and removes every lower-priority neighbour closer than `ceil(distance)`.
 */
function selectByDistance(peaks: number[], heights: number[], distance: number): boolean[] {
  const d = Math.ceil(distance);
  const keep = peaks.map(() => true);
  const order = argsortNumpy(heights);
  for (let i = peaks.length - 1; i >= 0; i--) {
    const j = order[i];
    if (!keep[j]) continue;
    for (let k = j - 1; k >= 0 && peaks[j] - peaks[k] < d; k--) keep[k] = false;
    for (let k = j + 1; k < peaks.length && peaks[k] - peaks[j] < d; k++) keep[k] = false;
  }
  return keep;
}

/**
 * `scipy.signal.find_peaks(x, height=, distance=, prominence=)[0]` (scipy 1.10): indices of the peaks,
 * ascending. The filters run in scipy's order: height, then distance, then prominence (computed on the
 * peaks that survived distance, against the full series).
 */
export function findPeaks(x: NumArray, options: FindPeaksOptions = {}): number[] {
  const { height, distance, prominence } = options;
  if (distance !== undefined && !(distance >= 1)) {
    throw new RangeError('findPeaks: `distance` must be greater or equal to 1');
  }
  let peaks = localMaxima(x);
  if (height !== undefined) peaks = peaks.filter((p) => height <= x[p]);
  if (distance !== undefined) {
    const keep = selectByDistance(
      peaks,
      peaks.map((p) => x[p]),
      distance,
    );
    peaks = peaks.filter((_, k) => keep[k]);
  }
  if (prominence !== undefined) {
    const prom = peakProminences(x, peaks);
    peaks = peaks.filter((_, k) => prominence <= prom[k]);
  }
  return peaks;
}

/**
 * numpy's pairwise summation (`np.sum` / `np.mean` on a contiguous float64 array): plain loop below 8
 * values, 8 interleaved accumulators up to 128, recursive halving above. Used where a result must match
 * numpy to ~1e-12 after cancellation (Cohen's d).
 */
export function pairwiseSum(x: NumArray, start = 0, n = x.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += x[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => x[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += x[start + i + j];
    // biome-ignore format: numpy's exact association
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += x[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(x, start, n2) + pairwiseSum(x, start + n2, n - n2);
}

/** Plain left-to-right sum (bottleneck's order; numpy's pairwise sum differs only in the last bits). */
export function sum(x: NumArray): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** Arithmetic mean; NaN for an empty array. */
export function mean(x: NumArray): number {
  return sum(x) / x.length;
}

/** Population standard deviation (ddof = 0), as numpy's and xarray's default `std`. */
export function stdPopulation(x: NumArray): number {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) * (x[i] - m);
  return Math.sqrt(s / x.length);
}

/** Median of NaN-free values (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
