/**
 * The per-basin CSV of `ealstm predict` (date, qsim[, qsim_min, qsim_max, qsim_std][, qobs], note) and its summary
 * counts with NSE and KGE; written from text so the browser page gives the same file and the same scores.
 */
import { csvField, csvNumber } from '../util/csv.js';
import { isoDate } from '../util/dates.js';
import { calculateMetrics } from './metrics.js';
import { type BasinSimulation, DayStatus, STATUS_NOTE } from './simulate.js';

/** What a basin's output holds. */
export interface BasinCounts {
  basin: string;
  days: number;
  predicted: number;
  warmUp: number;
  missingForcing: number;
  observed: number;
  /** NSE and KGE against the observations (NaN without any, or where undefined). */
  nse: number;
  kge: number;
}

/** A value as the CSV files carry it (10 significant digits), so that averages equal those of `ensemble`. */
export function asWritten(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(10)) : Number.NaN;
}

/**
 * The CSV of one basin's simulation: `status` and `qsim` per day (for an ensemble, the members' combined status and
 * mean, with the spread columns min, max and std), the observations and dates of `sim`. NSE and KGE score qsim as
 * written on the predicted days that have an observation.
 */
export function simulationCsv(
  sim: Pick<BasinSimulation, 'basin' | 'dates' | 'qobs'>,
  status: Uint8Array,
  qsim: Float64Array,
  spread: Float64Array[] | null,
): { text: string; counts: BasinCounts } {
  const n = sim.dates.length;
  let observed = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(sim.qobs[i])) observed++;
  const spreadColumns = spread ?? [];
  const header = ['date', 'qsim', ...(spread ? ['qsim_min', 'qsim_max', 'qsim_std'] : []), ...(observed > 0 ? ['qobs'] : []), 'note'];
  const lines = [header.join(',')];
  const scored = { obs: new Float64Array(n).fill(Number.NaN), sim: new Float64Array(n).fill(Number.NaN) };
  for (let i = 0; i < n; i++) {
    if (status[i] !== DayStatus.PREDICTED) continue;
    scored.obs[i] = sim.qobs[i];
    scored.sim[i] = asWritten(qsim[i]);
  }
  const scores = observed > 0 ? calculateMetrics(scored.obs, scored.sim, sim.dates, ['NSE', 'KGE'] as const) : { NSE: Number.NaN, KGE: Number.NaN };
  const counts: BasinCounts = { basin: sim.basin, days: n, predicted: 0, warmUp: 0, missingForcing: 0, observed, nse: scores.NSE, kge: scores.KGE };
  for (let i = 0; i < n; i++) {
    const predicted = status[i] === DayStatus.PREDICTED;
    if (predicted) counts.predicted++;
    else if (status[i] === DayStatus.WARM_UP) counts.warmUp++;
    else counts.missingForcing++;
    const cells = [isoDate(sim.dates[i]), predicted ? csvNumber(qsim[i]) : ''];
    for (const column of spreadColumns) cells.push(predicted ? csvNumber(column[i]) : '');
    if (observed > 0) cells.push(csvNumber(sim.qobs[i]));
    cells.push(csvField(STATUS_NOTE[status[i] as DayStatus]));
    lines.push(cells.join(','));
  }
  return { text: `${lines.join('\n')}\n`, counts };
}
