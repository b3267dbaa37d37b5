import { gatherWindows } from '../data/batches.js';
import type { NormalizedBasin } from '../data/types.js';
import type { Scaler } from '../data/scaler.js';
import type { RecurrentModel } from '../models/model.js';

/** A normalised model output as discharge: de-normalised with the run's scaler and clipped at 0, as the paper. */
export function toDischarge(normalized: number, scaler: Scaler): number {
  return Math.max(normalized * scaler.target_std + scaler.target_mean, 0);
}

/**
 * Normalised predictions for every day of the period (rows seqLength-1 .. rows-1) of one basin, in eval mode
 * (no dropout). A window with a missing input yields NaN for that day.
 */
export function predictBasin(model: RecurrentModel, basin: NormalizedBasin, seqLength: number, batchSize: number): Float64Array {
  const days = basin.rows - seqLength + 1;
  const out = new Float64Array(days);
  const samples = new Int32Array(2 * days);
  const order = new Int32Array(days);
  for (let i = 0; i < days; i++) {
    samples[2 * i] = 0;
    samples[2 * i + 1] = seqLength - 1 + i;
    order[i] = i;
  }
  const single = [basin];
  model.ensureCapacity(batchSize, seqLength);
  for (let from = 0; from < days; from += batchSize) {
    const n = Math.min(batchSize, days - from);
    gatherWindows(single, samples, order, from, n, seqLength, model.dynamicInput, model.staticInput);
    const pred = model.forward(n, null);
    for (let i = 0; i < n; i++) out[from + i] = pred[i];
  }
  return out;
}
