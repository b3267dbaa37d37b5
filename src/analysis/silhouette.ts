/**
 * Silhouette values with Euclidean distances, as sklearn.metrics.silhouette_samples: for point i in cluster A,
 * a(i) = mean distance to the other points of A, b(i) = the smallest mean distance to the points of another
 * cluster, s(i) = (b - a) / max(a, b); a point alone in its cluster has s = 0.
 */

/** Pairwise Euclidean distances of n points ([n, dim] row-major) as an n x n matrix. */
export function distanceMatrix(data: Float64Array, n: number, dim: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) {
        const t = data[i * dim + c] - data[j * dim + c];
        s += t * t;
      }
      const v = Math.sqrt(s);
      d[i * n + j] = v;
      d[j * n + i] = v;
    }
  }
  return d;
}

/** Silhouette of every point, given a precomputed distance matrix or the data. Needs 2 <= clusters <= n - 1. */
export function silhouetteSamples(
  input: { distances: Float64Array } | { data: Float64Array; dim: number },
  labels: ArrayLike<number>,
): Float64Array {
  const n = labels.length;
  const dist = 'distances' in input ? input.distances : distanceMatrix(input.data, n, input.dim);
  if (dist.length !== n * n) throw new RangeError(`silhouette: ${n} labels but a distance matrix of ${dist.length} entries`);
  const ids = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const k = ids.length;
  if (k < 2 || k > n - 1) throw new RangeError(`silhouette: the number of clusters must be in 2..${n - 1} (points - 1), got ${k}`);
  const index = new Map(ids.map((c, i) => [c, i]));
  const label = Int32Array.from(labels, (l) => index.get(l) as number);
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[label[i]]++;
  const sums = new Float64Array(k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) sums[label[j]] += dist[i * n + j];
    const own = label[i];
    if (sizes[own] <= 1) {
      out[i] = 0;
      continue;
    }
    const a = sums[own] / (sizes[own] - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[c] / sizes[c]);
    const m = Math.max(a, b);
    out[i] = m > 0 ? (b - a) / m : 0;
  }
  return out;
}

/** Mean and minimum silhouette of a clustering. */
export function silhouetteSummary(samples: Float64Array): { mean: number; min: number } {
  let s = 0;
  let min = Number.POSITIVE_INFINITY;
  for (const v of samples) {
    s += v;
    if (v < min) min = v;
  }
  return { mean: s / samples.length, min };
}
