/**
 * k-means as scikit-learn's KMeans (0.21, the paper's pinned version) does it: greedy k-means++ seeding
 * (2 + floor(ln k) candidates per centre), Lloyd iterations until the assignment no longer changes, `nInit`
 * restarts and the result with the lowest inertia (sum of squared distances to the assigned centres).
 * Seeded through our own generator, so the clusters are reproducible but not bit-identical to sklearn's.
 */
import { Random } from '../util/random.js';

/** Stream of the k-means generator (disjoint from the training streams of util/random.ts). */
const KMEANS_STREAM = 11;

export interface KMeansOptions {
  seed?: number;
  /** Restarts from fresh k-means++ seeds (sklearn's default n_init was 10). */
  nInit?: number;
  /** Maximum Lloyd iterations per restart (sklearn: 300). */
  maxIter?: number;
}

export interface KMeansResult {
  k: number;
  /** Cluster of each point, 0..k-1, numbered in order of first appearance. */
  labels: Int32Array;
  /** Centres [k, dim]. */
  centers: Float64Array;
  inertia: number;
  /** Lloyd iterations of the returned restart. */
  iterations: number;
  /** Whether the returned restart converged (assignment unchanged) before maxIter. */
  converged: boolean;
}

function squaredDistance(a: Float64Array, aOff: number, b: Float64Array, bOff: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = a[aOff + j] - b[bOff + j];
    s += d * d;
  }
  return s;
}

/** Greedy k-means++ (sklearn's _k_init): each new centre is the best of several D²-sampled candidates. */
export function kmeansPlusPlus(data: Float64Array, n: number, dim: number, k: number, rng: Random): Float64Array {
  const centers = new Float64Array(k * dim);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(n);
  centers.set(data.subarray(first * dim, (first + 1) * dim), 0);
  const closest = new Float64Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = squaredDistance(data, i * dim, centers, 0, dim);
    potential += closest[i];
  }
  const cumulative = new Float64Array(n);
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let run = 0;
    for (let i = 0; i < n; i++) {
      run += closest[i];
      cumulative[i] = run;
    }
    let bestId = -1;
    let bestPotential = Number.POSITIVE_INFINITY;
    for (let t = 0; t < trials; t++) {
      const target = rng.uniform() * potential;
      // searchsorted (left): the first index with cumulative >= target, clipped to n-1
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] < target) lo = mid + 1;
        else hi = mid;
      }
      const id = lo;
      let pot = 0;
      for (let i = 0; i < n; i++) {
        const d = Math.min(closest[i], squaredDistance(data, i * dim, data, id * dim, dim));
        candidateDist[i] = d;
        pot += d;
      }
      if (pot < bestPotential) {
        bestPotential = pot;
        bestId = id;
        bestDist.set(candidateDist);
      }
    }
    centers.set(data.subarray(bestId * dim, (bestId + 1) * dim), c * dim);
    closest.set(bestDist);
    potential = bestPotential;
  }
  return centers;
}

/** Assigns each point to its nearest centre (ties: the lower index); returns the inertia. */
function assign(data: Float64Array, n: number, dim: number, centers: Float64Array, k: number, labels: Int32Array, dist: Float64Array): number {
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      const d = squaredDistance(data, i * dim, centers, c * dim, dim);
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    labels[i] = best;
    dist[i] = bestD;
    inertia += bestD;
  }
  return inertia;
}

/** Centres as the means of their points; an empty cluster takes the point farthest from its centre (as sklearn). */
function update(data: Float64Array, n: number, dim: number, labels: Int32Array, dist: Float64Array, centers: Float64Array, k: number): void {
  const counts = new Int32Array(k);
  centers.fill(0);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    counts[c]++;
    for (let j = 0; j < dim; j++) centers[c * dim + j] += data[i * dim + j];
  }
  const taken = new Set<number>();
  for (let c = 0; c < k; c++) {
    if (counts[c] > 0) {
      for (let j = 0; j < dim; j++) centers[c * dim + j] /= counts[c];
      continue;
    }
    let far = -1;
    for (let i = 0; i < n; i++) if (!taken.has(i) && (far < 0 || dist[i] > dist[far])) far = i;
    taken.add(far);
    centers.set(data.subarray(far * dim, (far + 1) * dim), c * dim);
  }
}

/** One Lloyd run from the given centres (modified in place). */
function lloyd(data: Float64Array, n: number, dim: number, centers: Float64Array, k: number, maxIter: number) {
  const labels = new Int32Array(n).fill(-1);
  const next = new Int32Array(n);
  const dist = new Float64Array(n);
  let inertia = assign(data, n, dim, centers, k, next, dist);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    labels.set(next);
    update(data, n, dim, labels, dist, centers, k);
    iterations++;
    inertia = assign(data, n, dim, centers, k, next, dist);
    let same = true;
    for (let i = 0; i < n; i++) {
      if (next[i] !== labels[i]) {
        same = false;
        break;
      }
    }
    if (same) {
      converged = true;
      break;
    }
  }
  return { labels: next, inertia, iterations, converged };
}

/**
 * k-means of n points of dimension dim (row-major `data` [n, dim]) into k clusters; the best of `nInit` restarts.
 */
export function kmeans(data: Float64Array, n: number, dim: number, k: number, options: KMeansOptions = {}): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k-means: k must be an integer in 1..${n} (the number of points), got ${k}`);
  if (data.length !== n * dim) throw new RangeError(`k-means: data has ${data.length} values, expected ${n} x ${dim}`);
  const rng = new Random(options.seed ?? 0, KMEANS_STREAM);
  const nInit = options.nInit ?? 10;
  const maxIter = options.maxIter ?? 300;
  let best: (ReturnType<typeof lloyd> & { centers: Float64Array }) | null = null;
  for (let r = 0; r < nInit; r++) {
    const centers = kmeansPlusPlus(data, n, dim, k, rng);
    const run = lloyd(data, n, dim, centers, k, maxIter);
    if (!best || run.inertia < best.inertia) best = { ...run, centers };
  }
  const b = best as NonNullable<typeof best>;
  // Number the clusters by first appearance so the labelling does not depend on the seeding order.
  const map = new Int32Array(k).fill(-1);
  let next = 0;
  for (let i = 0; i < n; i++) if (map[b.labels[i]] < 0) map[b.labels[i]] = next++;
  for (let c = 0; c < k; c++) if (map[c] < 0) map[c] = next++;
  const labels = b.labels.map((l) => map[l]);
  const centers = new Float64Array(k * dim);
  for (let c = 0; c < k; c++) centers.set(b.centers.subarray(c * dim, (c + 1) * dim), map[c] * dim);
  return { k, labels, centers, inertia: b.inertia, iterations: b.iterations, converged: b.converged };
}

/** Standardises the columns of [n, dim] with the mean and the sample std (ddof=1, as pandas); a constant column becomes 0. */
export function standardizeColumns(data: Float64Array, n: number, dim: number): { values: Float64Array; constant: number[] } {
  const out = new Float64Array(n * dim);
  const constant: number[] = [];
  for (let j = 0; j < dim; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += data[i * dim + j];
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (data[i * dim + j] - mean) ** 2;
    const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
    if (!(std > 0)) constant.push(j);
    for (let i = 0; i < n; i++) out[i * dim + j] = std > 0 ? (data[i * dim + j] - mean) / std : 0;
  }
  return { values: out, constant };
}
