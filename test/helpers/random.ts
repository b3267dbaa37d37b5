import { Random } from '../../src/util/random.js';

/** A seeded uniform [0, 1) generator for random test inputs. */
export function rng(seed: number): () => number {
  const r = new Random(seed);
  return () => r.uniform();
}
