import type { NormalizedBasin, PeriodData } from './types.js';
import type { Scaler } from './scaler.js';

/** The basins' inputs, target and attributes standardised with the run's scaler (NaN stays NaN). */
export function normalize(data: PeriodData, scaler: Scaler): NormalizedBasin[] {
  const d = scaler.input_mean.length;
  return data.basins.map((b) => {
    const inputs = new Float32Array(b.inputs.length);
    for (let r = 0; r < b.rows; r++) {
      for (let k = 0; k < d; k++) inputs[r * d + k] = (b.inputs[r * d + k] - scaler.input_mean[k]) / scaler.input_std[k];
    }
    const target = b.target.map((y) => (y - scaler.target_mean) / scaler.target_std);
    const statics = Float32Array.from(b.statics, (v, j) => (v - scaler.static_mean[j]) / scaler.static_std[j]);
    return { basin: b.basin, firstDay: b.firstDay, rows: b.rows, inputs, target, statics, rawTarget: b.target };
  });
}
