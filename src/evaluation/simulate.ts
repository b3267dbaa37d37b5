/**
 * Simulating discharge with one trained run on any days of any basins that have forcing and attributes,
 * observed or not (`ealstm predict`). Two ways to run the model over a period:
 * - windows (default, as `evaluate`): each day is predicted from the seq_length days ending on it, starting from
 *   the zero state, so the result equals evaluate's qsim on the same days;
 * - continuous: the LSTM state is carried from day to day through the whole period (the state of every layer),
 *   so a simulation can be continued later from its last state (a hot start): a long period run in consecutive
 *   chunks, each starting from the state the previous one ended with, equals one run over the whole period.
 * In both, a day gets no prediction when the seq_length days ending on it are not all there: days before the
 * forcing starts (warm-up) or days with a missing forcing value (missing forcing).
 */
import type { BasinPeriod } from '../data/types.js';
import { normalize } from '../data/normalize.js';
import type { Scaler } from '../data/scaler.js';
import type { LayerState } from '../models/layers/lstm-layer.js';
import type { RecurrentModel } from '../models/model.js';
import { predictBasin, toDischarge } from './predict.js';

/** Why a day has no prediction; PREDICTED when it has one. */
export const DayStatus = { PREDICTED: 0, WARM_UP: 1, MISSING_FORCING: 2 } as const;
export type DayStatus = (typeof DayStatus)[keyof typeof DayStatus];

/** The note written for a day without prediction. */
export const STATUS_NOTE: Record<DayStatus, string> = { 0: '', 1: 'warm-up', 2: 'missing forcing' };

/** One basin simulated on the period's days. */
export interface BasinSimulation {
  basin: string;
  /** Day numbers of the period, consecutive. */
  dates: Float64Array;
  /** Discharge (mm/day, clipped at 0); NaN on the days without prediction. */
  qsim: Float64Array;
  /** Observed discharge; NaN where there is none (all NaN for a basin without a streamflow record). */
  qobs: Float64Array;
  status: Uint8Array;
}

/** The state a continuous simulation of one basin ended with, to continue it from there. */
export interface BasinState {
  /** Consecutive days fed since the state was last the zero state (>= seq_length: fully warmed up). */
  days: number;
  /** Whether the state was last reset by missing forcing (the days until warmed up again are "missing forcing"). */
  afterGap: boolean;
  /** h and c of every recurrent layer, bottom first, [H] each. */
  layers: { h: number[]; c: number[] }[];
}

/** Per-row flags of a basin's loaded rows: 1 where the row has a missing input, 2 where it lies before the data. */
function rowProblems(b: BasinPeriod, inputs: number): Uint8Array {
  const flags = new Uint8Array(b.rows);
  const firstDataRow = b.firstDataRow ?? 0;
  for (let r = 0; r < b.rows; r++) {
    if (r < firstDataRow) flags[r] = 2;
    else for (let k = 0; k < inputs; k++) if (!Number.isFinite(b.inputs[r * inputs + k])) flags[r] = 1;
  }
  return flags;
}

function emptySimulation(b: BasinPeriod, seqLength: number): BasinSimulation {
  const days = b.rows - seqLength + 1;
  const dates = new Float64Array(days);
  const qobs = new Float64Array(days);
  for (let i = 0; i < days; i++) {
    dates[i] = b.firstDay + seqLength - 1 + i;
    qobs[i] = b.target[seqLength - 1 + i];
  }
  return { basin: b.basin, dates, qsim: new Float64Array(days).fill(Number.NaN), qobs, status: new Uint8Array(days) };
}

/**
 * Window simulation (as evaluate) of the loaded rows of `data` (loadDays: seq_length-1 warm-up rows, then the
 * period). A day whose window reaches before the data is warm-up, one whose window has a missing input is
 * missing forcing.
 */
export function simulateWindows(model: RecurrentModel, scaler: Scaler, data: BasinPeriod[], seqLength: number, batchSize: number): BasinSimulation[] {
  const d = scaler.input_mean.length;
  const normalized = normalize({ period: 'test', seqLength, basins: data }, scaler);
  return data.map((b, index) => {
    const sim = emptySimulation(b, seqLength);
    const pred = predictBasin(model, normalized[index], seqLength, batchSize);
    const flags = rowProblems(b, d);
    // Running counts of rows before the data and of rows with a missing input, to test each window in O(1).
    const before = new Int32Array(b.rows + 1);
    const missing = new Int32Array(b.rows + 1);
    for (let r = 0; r < b.rows; r++) {
      before[r + 1] = before[r] + (flags[r] === 2 ? 1 : 0);
      missing[r + 1] = missing[r] + (flags[r] === 1 ? 1 : 0);
    }
    for (let i = 0; i < pred.length; i++) {
      const [from, to] = [i, i + seqLength]; // window rows [from, to)
      // Rows before the data precede every row with a missing value, so a window with both is "missing forcing"
      // (as in continuous mode, where the last restart of the state decides).
      if (missing[to] - missing[from] > 0) sim.status[i] = DayStatus.MISSING_FORCING;
      else if (before[to] - before[from] > 0) sim.status[i] = DayStatus.WARM_UP;
      else sim.qsim[i] = toDischarge(pred[i], scaler);
    }
    return sim;
  });
}

/**
 * Continuous simulation: all basins advance one day per model step, the state carried over. Without `initial`,
 * the simulation starts from the zero state seq_length-1 days before the period (the rows loadDays loads before
 * it), so the period's first day is predicted like in window mode; with `initial` (basin -> the state a previous
 * simulation ended with on the day before the period), it continues from there. A day with a missing input
 * resets the basin's state to zero after it. A day is predicted when the state has been fed seq_length
 * consecutive days. Returns the simulations and each basin's final state.
 */
export function simulateContinuous(
  model: RecurrentModel,
  scaler: Scaler,
  data: BasinPeriod[],
  seqLength: number,
  initial: Map<string, BasinState> | null,
): { simulations: BasinSimulation[]; states: Map<string, BasinState> } {
  const n = data.length;
  const d = scaler.input_mean.length;
  const s = scaler.static_attributes.length;
  const h = model.spec.hidden;
  const layerCount = model.spec.layers ?? 1;
  const normalized = normalize({ period: 'test', seqLength, basins: data }, scaler);
  const simulations = data.map((b) => emptySimulation(b, seqLength));
  const flags = data.map((b) => rowProblems(b, d));
  const fed = new Int32Array(n);
  const afterGap = new Uint8Array(n);
  // The state as the model takes it: per layer, h and c of all basins, [n, H].
  // Plain host arrays in the backend's precision, like the copies finalStates() returns.
  const Precision = model.params.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
  const zeros = () => new Precision(n * h);
  let state: LayerState[] = Array.from({ length: layerCount }, () => ({ h: zeros(), c: zeros(), offset: 0 }));
  if (initial) {
    data.forEach((b, i) => {
      const start = initial.get(b.basin) as BasinState;
      fed[i] = start.days;
      afterGap[i] = start.afterGap ? 1 : 0;
      start.layers.forEach((layer, l) => {
        state[l].h.set(layer.h, i * h);
        state[l].c.set(layer.c, i * h);
      });
    });
  }
  model.ensureCapacity(n, 1);
  normalized.forEach((b, i) => model.staticInput.set(b.statics.subarray(0, s), i * s));
  const rows = data.length > 0 ? data[0].rows : 0;
  // With a state to continue from, the warm-up rows loaded before the period are not needed.
  for (let r = initial ? seqLength - 1 : 0; r < rows; r++) {
    for (let i = 0; i < n; i++) {
      const ok = flags[i][r] === 0;
      for (let k = 0; k < d; k++) model.dynamicInput[i * d + k] = ok ? normalized[i].inputs[r * d + k] : 0;
    }
    const out = model.forward(n, null, state);
    state = model.finalStates();
    for (let i = 0; i < n; i++) {
      const day = r - seqLength + 1;
      if (flags[i][r] !== 0) {
        // A day that cannot be fed: the state restarts from zero after it.
        state.forEach((layer) => {
          layer.h.fill(0, i * h, (i + 1) * h);
          layer.c.fill(0, i * h, (i + 1) * h);
        });
        fed[i] = 0;
        afterGap[i] = flags[i][r] === 1 ? 1 : 0;
      } else fed[i] = Math.min(fed[i] + 1, seqLength);
      if (day < 0) continue;
      const sim = simulations[i];
      if (fed[i] >= seqLength) sim.qsim[day] = toDischarge(out[i], scaler);
      else sim.status[day] = afterGap[i] || flags[i][r] === 1 ? DayStatus.MISSING_FORCING : DayStatus.WARM_UP;
    }
  }
  const states = new Map<string, BasinState>();
  data.forEach((b, i) => {
    states.set(b.basin, {
      days: fed[i],
      afterGap: afterGap[i] === 1,
      layers: state.map((layer) => ({ h: Array.from(layer.h.subarray(i * h, (i + 1) * h)), c: Array.from(layer.c.subarray(i * h, (i + 1) * h)) })),
    });
  });
  return { simulations, states };
}
