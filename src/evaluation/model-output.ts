/**
 * Simulations of other models, scored on the same days as a run: the CAMELS SAC-SMA + Snow-17 benchmark
 * (Newman et al. 2015), files `model_output/flow_timeseries/<forcing>/<huc2>/<gauge>_<seed>_model_output.txt`
 * with the whitespace-separated header `YR MNTH DY HR SWE PRCP RAIM TAIR PET ET MOD_RUN OBS_RUN` (mm/day;
 * -999 = missing). MOD_RUN is the simulation; the observations are taken from a run's predictions files, so
 * the benchmark is scored on exactly the run's basins and days.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../util/errors.js';
import { dayNumber, isoDate, isValidDate } from '../util/dates.js';
import { readTextLines } from '../util/files.js';
import { inputValue } from '../util/missing.js';
import { isDirectory, type Predictions } from './results-files.js';

export const MODEL_OUTPUT_COLUMNS = ['YR', 'MNTH', 'DY', 'HR', 'SWE', 'PRCP', 'RAIM', 'TAIR', 'PET', 'ET', 'MOD_RUN', 'OBS_RUN'] as const;

/** One `_model_output.txt` file, all columns, consecutive days. */
export interface ModelOutput {
  file: string;
  basin: string;
  /** The calibration seed from the file name (e.g. '05'), or '' when the name has none. */
  seed: string;
  /** Day number of row 0; rows are consecutive days. */
  startDay: number;
  length: number;
  /** Column name -> values (-999 read as NaN). YR/MNTH/DY/HR are kept as read. */
  columns: Record<string, Float64Array>;
}

const FILE_PATTERN = /^(\d+)_(\d+)_model_output\.txt$/;

/** basin and seed from a file name `<gauge>_<seed>_model_output.txt`. */
export function parseModelOutputName(file: string): { basin: string; seed: string } | null {
  const m = FILE_PATTERN.exec(path.basename(file));
  return m ? { basin: m[1], seed: m[2] } : null;
}

/** Reads a SAC-SMA `_model_output.txt`; every problem is an error naming the file and line. */
export function readModelOutput(file: string): ModelOutput {
  const lines = readTextLines(file);
  const header = (lines[0] ?? '').trim().split(/\s+/);
  for (const required of ['YR', 'MNTH', 'DY', 'MOD_RUN']) {
    if (!header.includes(required)) {
      throw new InputError(
        `${file}: no '${required}' column in the header '${(lines[0] ?? '').trim()}' (expected ${MODEL_OUTPUT_COLUMNS.join(' ')})`,
      );
    }
  }
  const n = lines.length - 1;
  if (n <= 0) throw new InputError(`${file}: no data rows`);
  const columns: Record<string, Float64Array> = {};
  for (const h of header) columns[h] = new Float64Array(n);
  const [iy, im, id] = [header.indexOf('YR'), header.indexOf('MNTH'), header.indexOf('DY')];
  let startDay = 0;
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const cells = lines[r + 1].trim().split(/\s+/);
    if (cells.length !== header.length) {
      throw new InputError(`${file}:${lineNo}: ${cells.length} fields, the header has ${header.length}`);
    }
    for (let c = 0; c < header.length; c++) {
      const v = Number(cells[c]);
      if (!Number.isFinite(v)) throw new InputError(`${file}:${lineNo}: column ${header[c]}: '${cells[c]}' is not a number`);
      columns[header[c]][r] = inputValue(v); // -999: missing
    }
    const [y, mo, d] = [Number(cells[iy]), Number(cells[im]), Number(cells[id])];
    if (!isValidDate(y, mo, d)) throw new InputError(`${file}:${lineNo}: ${cells[iy]}-${cells[im]}-${cells[id]} is not a date`);
    const day = dayNumber(y, mo, d);
    if (r === 0) startDay = day;
    else if (day !== startDay + r) {
      throw new InputError(`${file}:${lineNo}: ${isoDate(day)} follows ${isoDate(startDay + r - 1)}; the rows must be consecutive days`);
    }
  }
  const named = parseModelOutputName(file);
  return { file, basin: named?.basin ?? path.basename(file).split('_')[0], seed: named?.seed ?? '', startDay, length: n, columns };
}

/**
 * The `_model_output.txt` files under `dir` (searched recursively), basin -> files sorted by seed; with `seed`,
 * only that seed's files ('5' matches '05').
 */
export function findModelOutputFiles(dir: string, seed?: string): Map<string, string[]> {
  if (!isDirectory(dir)) throw new InputError(`SAC-SMA model output ${dir}: not a directory`);
  const found = new Map<string, string[]>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else {
        const named = parseModelOutputName(entry.name);
        if (!named) continue;
        if (seed !== undefined && Number(named.seed) !== Number(seed)) continue;
        const list = found.get(named.basin) ?? [];
        list.push(p);
        found.set(named.basin, list);
      }
    }
  };
  walk(dir);
  if (found.size === 0) {
    throw new InputError(
      `SAC-SMA model output ${dir}: no <gauge>_<seed>_model_output.txt files${seed !== undefined ? ` for seed ${seed}` : ''} under it`,
    );
  }
  return found;
}

/**
 * A model's simulation on the observation days of `obs`: the column (default MOD_RUN) of each file, averaged
 * day by day when several files (seeds) are given. Every observation day must be in every file, else an error
 * names the file, its dates and the observations' file and dates.
 */
export function simulationOnObservationDays(outputs: ModelOutput[], obs: Predictions, column = 'MOD_RUN'): Predictions {
  const n = obs.dates.length;
  const qsim = new Float64Array(n);
  for (const o of outputs) {
    const values = o.columns[column];
    if (!values) throw new InputError(`${o.file}: no '${column}' column`);
    const last = o.startDay + o.length - 1;
    for (let i = 0; i < n; i++) {
      const row = obs.dates[i] - o.startDay;
      if (row < 0 || row >= o.length) {
        throw new InputError(
          `${o.file}: its dates ${isoDate(o.startDay)}..${isoDate(last)} do not cover the observation days of basin ${obs.basin} ` +
            `(${obs.file}: ${isoDate(obs.dates[0])}..${isoDate(obs.dates[n - 1])}; first day missing: ${isoDate(obs.dates[i])})`,
        );
      }
      qsim[i] += values[row] / outputs.length;
    }
  }
  return { file: outputs.map((o) => o.file).join(' + '), basin: obs.basin, dates: obs.dates, qobs: obs.qobs, qsim };
}

/**
 * The model output of each basin that has both an observation file and a model output file, on the
 * observation days: `observations` maps basin -> predictions file (its qobs and dates are used, its qsim is
 * replaced by the model's simulation). Returns basin -> the model's series, to be scored like predictions.
 */
export function modelOutputOnObservationDays(files: Map<string, string[]>, observations: Map<string, Predictions>, column?: string): Map<string, Predictions> {
  const out = new Map<string, Predictions>();
  for (const [basin, obs] of observations) {
    const list = files.get(basin);
    if (list) out.set(basin, simulationOnObservationDays(list.map(readModelOutput), obs, column));
  }
  return out;
}
