import type { FloatArray } from '../compute/backend.js';
import type { NormalizedBasin } from './types.js';

/**
 * Gathers n windows into the model's time-major input buffers: dynamic [T, n, D] and static [n, S].
 * Sample k is the pair (samples[2k], samples[2k+1]) = (basin index, last row of the window); the batch takes
 * samples order[from .. from+n-1].
 */
export function gatherWindows(
  basins: NormalizedBasin[],
  samples: Int32Array,
  order: Int32Array,
  from: number,
  n: number,
  seqLength: number,
  dynamicOut: FloatArray,
  staticOut: FloatArray,
): void {
  for (let i = 0; i < n; i++) {
    const k = order[from + i];
    const b = basins[samples[2 * k]];
    const inputs = b.inputs.length / b.rows;
    const statics = b.statics.length;
    const first = samples[2 * k + 1] - seqLength + 1;
    const src = b.inputs;
    for (let t = 0; t < seqLength; t++) {
      const at = (first + t) * inputs;
      const to = (t * n + i) * inputs;
      for (let j = 0; j < inputs; j++) dynamicOut[to + j] = src[at + j];
    }
    for (let j = 0; j < statics; j++) staticOut[i * statics + j] = b.statics[j];
  }
}
