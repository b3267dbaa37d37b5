import { Random } from '../../src/util/random.js';

/** A seeded uniform [0, 1) generator for random test inputs. */
export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.uniform();
}

/** n float32 values uniform in [lo, hi). */
export function rand32(n: number, rand: () => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}
