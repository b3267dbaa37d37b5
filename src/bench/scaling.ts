/**
 * Summaries of the benchmark's rows: how training speed scales with threads, and what a paper-size epoch costs.
 */

/** One measured row of `ealstm bench` (the fields used here). */
export interface BenchRow {
  size: string;
  model: string;
  kind: string;
  threads: number;
  train_ms: number;
  infer_ms: number;
}

export interface ThreadScaling {
  size: string;
  model: string;
  kind: string;
  /** Thread counts measured, ascending, with the training step's speedup over the fewest threads measured. */
  points: { threads: number; train_ms: number; speedup: number }[];
}

/** Per (size, model, backend) measured at two or more thread counts: the training-step speedup over the fewest. */
export function threadScaling(rows: readonly BenchRow[]): ThreadScaling[] {
  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const key = `${r.size}\u0000${r.model}\u0000${r.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ThreadScaling[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const sorted = [...group].sort((a, b) => a.threads - b.threads);
    const base = sorted[0].train_ms;
    const { size, model, kind } = sorted[0];
    out.push({ size, model, kind, points: sorted.map((r) => ({ threads: r.threads, train_ms: r.train_ms, speedup: base / r.train_ms })) });
  }
  return out;
}

/** One line per scaling: `paper ealstm native: 1 thread 812.0 ms, 16 threads 70.1 ms (x11.58)`. */
export function formatScaling(s: ThreadScaling): string {
  const points = s.points.map((p, i) => `${p.threads} thread${p.threads === 1 ? '' : 's'} ${p.train_ms.toFixed(1)} ms${i === 0 ? '' : ` (x${p.speedup.toFixed(2)})`}`);
  return `thread scaling, ${s.size} ${s.model} ${s.kind}: ${points.join(', ')}`;
}

/**
 * Training steps in one paper-size epoch (531 basins, 270-day windows, batch 256): the issue's PyTorch measurement,
 * 1,066 s per epoch at 156 ms per step, gives 6,833.
 */
export const PAPER_STEPS_PER_EPOCH = 6833;

/** Seconds of model work in one paper-size epoch at `trainMs` per training step (data gathering not included). */
export function paperEpochSeconds(trainMs: number): number {
  return (trainMs * PAPER_STEPS_PER_EPOCH) / 1000;
}
