/**
 * Fractional reduction in variance of hydrological signatures by a clustering (the paper's Fig. 10;
 * papercode/clusterutils.py:get_variance_reduction and the embedding notebook):
 *   reduction = 1 - mean over clusters c of var(signature in c) / var(signature over all basins),
 * with pandas' var (ddof=1, NaN skipped). A cluster with fewer than two valid values has no variance (NaN in
 * pandas) and is left out of the mean, as pandas' mean skips NaN.
 */

/** Sample variance (ddof=1) of the non-NaN values; NaN with fewer than two. */
export function sampleVariance(values: ArrayLike<number>): number {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  return n > 1 ? m2 / (n - 1) : Number.NaN;
}

export interface VarianceReduction {
  /** Per signature: 1 - mean over clusters of var_cluster / var_all. */
  reduction: number[];
  /** Per signature and cluster: var_cluster / var_all ([signatures][k]; NaN for a cluster without variance). */
  ratios: number[][];
}

/**
 * `values` is [n, m] row-major (n basins, m signatures), `labels` the cluster (0..k-1) of each basin.
 */
export function varianceReduction(values: Float64Array, n: number, m: number, labels: ArrayLike<number>, k: number): VarianceReduction {
  if (labels.length !== n) throw new RangeError(`variance reduction: ${labels.length} labels for ${n} basins`);
  const reduction: number[] = [];
  const ratios: number[][] = [];
  for (let j = 0; j < m; j++) {
    const column = Float64Array.from({ length: n }, (_, i) => values[i * m + j]);
    const all = sampleVariance(column);
    const perCluster: number[] = [];
    for (let c = 0; c < k; c++) {
      const members: number[] = [];
      for (let i = 0; i < n; i++) if (labels[i] === c) members.push(column[i]);
      perCluster.push(sampleVariance(members) / all);
    }
    const kept = perCluster.filter((r) => !Number.isNaN(r));
    reduction.push(kept.length > 0 ? 1 - kept.reduce((a, b) => a + b, 0) / kept.length : Number.NaN);
    ratios.push(perCluster);
  }
  return { reduction, ratios };
}
