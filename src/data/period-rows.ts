import type { BasinPeriod } from './types.js';
import type { BasinTimeSeries } from './types.js';

/**
 * The `rows` days from day `firstDay` of a basin's series as a BasinPeriod: the input columns `inputColumns` and the
 * target column (-1: none, all missing), with `statics`. Rows before the series' first day are missing values (the
 * warm-up of a period that starts with the data); the series must reach the last row.
 */
export function periodRows(
  series: BasinTimeSeries,
  inputColumns: number[],
  targetColumn: number,
  firstDay: number,
  rows: number,
  statics: Float64Array,
): BasinPeriod {
  const width = series.variables.length;
  const inputs = new Float32Array(rows * inputColumns.length).fill(Number.NaN);
  const target = new Float32Array(rows).fill(Number.NaN);
  const firstDataRow = Math.max(0, series.startDay - firstDay);
  for (let r = firstDataRow; r < rows; r++) {
    const src = (firstDay - series.startDay + r) * width;
    for (let k = 0; k < inputColumns.length; k++) inputs[r * inputColumns.length + k] = series.values[src + inputColumns[k]];
    if (targetColumn >= 0) target[r] = series.values[src + targetColumn];
  }
  return { basin: series.basin, firstDay, rows, inputs, target, statics, firstDataRow };
}
