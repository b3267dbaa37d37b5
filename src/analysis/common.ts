/**
 * Shared pieces of the analyses (Kratzert et al. 2019, Sects. 2.6.2-2.6.3 / 3.3-3.4): loading a trained run for
 * inference, reading and writing the small basin-keyed CSV tables, and a progress line.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { readBasinList } from '../data/basin-list.js';
import { type DatasetOptions, loadAttributes } from '../data/cache.js';
import { dataSource } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import { csvNumber, DECIMAL_NUMBER, splitCsvLine } from '../util/csv.js';
import { readTextLines } from '../util/files.js';
import { isMissingText } from '../util/missing.js';

/** The 27 catchment attributes of the paper (configs/camels_daymet35_ealstm.yml, Table 1 of the paper). */
export const PAPER_ATTRIBUTES = [
  'carbonate_rocks_frac', 'geol_permeability', 'frac_forest', 'lai_max', 'lai_diff', 'gvf_max', 'gvf_diff',
  'p_mean', 'pet_mean', 'p_seasonality', 'frac_snow', 'aridity', 'high_prec_freq', 'high_prec_dur', 'low_prec_freq',
  'low_prec_dur', 'elev_mean', 'slope_mean', 'area_gages2', 'soil_depth_pelletier', 'soil_depth_statsgo',
  'soil_porosity', 'soil_conductivity', 'max_water_content', 'sand_frac', 'silt_frac', 'clay_frac',
] as const;

/** The 13 hydrological signatures of the paper's Fig. 10 (columns of CAMELS-US camels_hydro.txt). */
export const SIGNATURES = [
  'q_mean', 'runoff_ratio', 'stream_elas', 'slope_fdc', 'baseflow_index', 'hfd_mean', 'q5', 'q95', 'high_q_freq',
  'high_q_dur', 'low_q_freq', 'low_q_dur', 'zero_q_freq',
] as const;

/** Column names of the gauge coordinates in CAMELS-US (camels_topo.txt) and Caravan (attributes_other). */
export const COORDINATE_COLUMNS = ['gauge_lat', 'gauge_lon'] as const;

/** The run's test basins, or a subset given as a basin file or a comma-separated list; each must be a test basin. */
export function selectBasins(config: RunConfig, basins?: string): string[] {
  const all = readBasinList(config.test_basin_file);
  if (!basins) return all;
  const chosen = existsSync(basins) ? readBasinList(basins) : basins.split(',').map((b) => b.trim()).filter((b) => b);
  if (chosen.length === 0) throw new InputError(`--basins '${basins}': no basins given`);
  const known = new Set(all);
  for (const b of chosen) {
    if (!known.has(b)) throw new InputError(`--basins: basin ${b} is not in the run's test basin file ${config.test_basin_file}`);
  }
  return chosen;
}

/** Gauge coordinates of `basins` from the run's dataset, or null (with the reason) when the tables lack them. */
export function basinCoordinates(source: DatasetOptions, basins: string[]): { lat: number[]; lon: number[] } | { reason: string } {
  try {
    const t = loadAttributes(source, basins, [...COORDINATE_COLUMNS]);
    return { lat: basins.map((_, i) => t.values[2 * i]), lon: basins.map((_, i) => t.values[2 * i + 1]) };
  } catch (err) {
    if (err instanceof InputError) return { reason: err.message };
    throw err;
  }
}

export function runSource(config: RunConfig): DatasetOptions {
  return dataSource(config);
}

/** `<runDir>/analysis` or the explicit output folder, created. */
export function outputFolder(runDir: string | undefined, output: string | undefined): string {
  const dir = output ?? (runDir ? path.join(runDir, 'analysis') : undefined);
  if (!dir) throw new InputError('give --output DIR (the input is not a run directory)');
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------------------
// CSV tables keyed by basin

/** A numeric table: one row per basin, row-major values [basins.length, columns.length]. */
export interface BasinTable {
  file: string;
  basins: string[];
  columns: string[];
  values: Float64Array;
}


/**
 * Reads a comma-separated table whose first column is the basin id (any header name, e.g. `basin` or
 * `gauge_id`) and whose other columns are numbers. Missing values are an InputError naming file, basin and column
 * unless `allowMissing` (then they read as NaN); so are non-numeric cells, duplicate basins, duplicate column
 * names and rows with the wrong number of fields.
 */
export function readBasinTable(file: string, what: string, options: { allowMissing?: boolean } = {}): BasinTable {
  const lines = readTextLines(file, `${what} file`);
  if (lines.length === 0) throw new InputError(`${what} file ${file}: empty`);
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  if (header.length < 2) throw new InputError(`${what} file ${file}: expected a basin column and at least one value column, header is '${lines[0]}'`);
  const columns = header.slice(1);
  const seenColumns = new Set<string>();
  for (const c of columns) {
    if (c === '') throw new InputError(`${what} file ${file}: a column without a name in the header`);
    if (seenColumns.has(c)) throw new InputError(`${what} file ${file}: column '${c}' appears twice in the header`);
    seenColumns.add(c);
  }
  const basins: string[] = [];
  const seen = new Set<string>();
  const values: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const fields = splitCsvLine(lines[i]).map((f) => f.trim());
    if (fields.length !== header.length) {
      throw new InputError(`${what} file ${file}:${i + 1}: expected ${header.length} fields, found ${fields.length}`);
    }
    const basin = fields[0];
    if (basin === '') throw new InputError(`${what} file ${file}:${i + 1}: no basin id`);
    if (seen.has(basin)) throw new InputError(`${what} file ${file}:${i + 1}: basin ${basin} appears twice`);
    seen.add(basin);
    basins.push(basin);
    for (let j = 1; j < fields.length; j++) {
      const cell = fields[j];
      if (isMissingText(cell)) {
        if (!options.allowMissing) {
          throw new InputError(`${what} file ${file}:${i + 1}: basin ${basin}, column '${header[j]}': missing value`);
        }
        values.push(Number.NaN);
      } else if (DECIMAL_NUMBER.test(cell) && Number.isFinite(Number(cell))) {
        values.push(Number(cell));
      } else if (DECIMAL_NUMBER.test(cell)) {
        throw new InputError(`${what} file ${file}:${i + 1}: basin ${basin}, column '${header[j]}': number out of range: '${cell}'`);
      } else {
        throw new InputError(`${what} file ${file}:${i + 1}: basin ${basin}, column '${header[j]}': not a number: '${cell}'`);
      }
    }
  }
  if (basins.length === 0) throw new InputError(`${what} file ${file}: no data rows`);
  return { file, basins, columns, values: Float64Array.from(values) };
}

/** The columns `names` of a table for `basins` (in that order); InputError naming the file for a missing one. */
export function pickColumns(table: BasinTable, basins: string[], names: readonly string[], what: string): Float64Array {
  const rowOf = new Map(table.basins.map((b, i) => [b, i]));
  const cols = names.map((n) => {
    const j = table.columns.indexOf(n);
    if (j < 0) throw new InputError(`${what} file ${table.file}: no column '${n}'`);
    return j;
  });
  const out = new Float64Array(basins.length * names.length);
  const w = table.columns.length;
  basins.forEach((b, i) => {
    const r = rowOf.get(b);
    if (r === undefined) throw new InputError(`${what} file ${table.file}: basin ${b} is missing`);
    cols.forEach((j, k) => {
      out[i * names.length + k] = table.values[r * w + j];
    });
  });
  return out;
}

/** A CSV line: numbers with up to 10 significant digits, NaN as an empty field. */
export function csvLine(fields: (string | number)[]): string {
  return fields.map((f) => (typeof f === 'number' ? csvNumber(f) : f)).join(',');
}

// ---------------------------------------------------------------------------------------------------------
// small helpers

/** Mean of the finite values (NaN if none). */
export function finiteMean(values: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      s += values[i];
      n++;
    }
  }
  return n > 0 ? s / n : Number.NaN;
}

/** FNV-1a hash of a string to a uint32 (per-basin seeds that do not depend on the other basins chosen). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
