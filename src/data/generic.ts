/**
 * The `generic` dataset: your own data in a plain folder layout.
 *
 *   <data_dir>/time_series/<basin>.csv   one file per basin: a `date` column (YYYY-MM-DD) and any numeric
 *                                        columns, in any order; each column is a variable, named by its header
 *   <data_dir>/time_series/<basin>.nc    or a netCDF-4 file: a `date` (or `time`) variable with CF units
 *                                        ("days since 1970-01-01", hours/minutes/seconds also) and 1-D variables
 *                                        along it, named as stored (Caravan's netCDF files have this shape)
 *   <data_dir>/attributes/*.csv          static attributes, one row per basin; the first column holds the basin
 *                                        id (any header, e.g. gauge_id); a column is taken from the first file
 *                                        (by name) that has it
 *
 * Dates must ascend; a day absent between the first and the last date is a gap and reads as missing values in
 * every variable (as hydrologists expect of a gauge record with holes); a date given twice is an error. Missing
 * values: the project's rule (util/missing.ts: empty, NA, NaN, -999, -9999), the config's `missing_values`, and in
 * netCDF files each variable's `_FillValue` and `missing_value`. A basin with both a .csv and a .nc file is an
 * error (which one is meant?).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseKeyedTable, selectAttributes } from './attribute-table.js';
import { checkBasinId } from './camels-us.js';
import { readNetcdfVariables, type StoredVariable } from './netcdf.js';
import { dailySeries, parseGenericCsv } from './time-series-csv.js';
import { type AttributeTable, type BasinTimeSeries, type DatasetReader, type ReadOptions } from './types.js';
import { dayNumber, isValidDate } from '../util/dates.js';
import { InputError } from '../util/errors.js';
import { readTextFile } from '../util/files.js';
import { missingValueRule, type MissingValueRule } from '../util/missing.js';

const LAYOUT =
  'dataset generic expects <data_dir>/time_series/<basin>.csv or <basin>.nc (one file per basin) and <data_dir>/attributes/*.csv';

/** Folder of the per-basin time-series files. */
export function genericTimeSeriesDir(dataDir: string): string {
  return path.join(dataDir, 'time_series');
}

/** The one time-series file of a basin (.csv or .nc); an InputError naming what was looked for when there is none. */
export function genericTimeSeriesFile(dataDir: string, basin: string): string {
  checkBasinId(basin);
  const dir = genericTimeSeriesDir(dataDir);
  if (!existsSync(dir)) throw new InputError(`folder ${dir} does not exist: ${LAYOUT}`);
  const found = ['.csv', '.nc'].map((ext) => path.join(dir, `${basin}${ext}`)).filter((f) => existsSync(f));
  if (found.length === 0) {
    throw new InputError(`basin ${basin}: no time series file: expected ${path.join(dir, `${basin}.csv`)} or ${basin}.nc there`);
  }
  if (found.length > 1) throw new InputError(`basin ${basin}: both ${found[0]} and ${found[1]} exist; keep one of them`);
  return found[0];
}

/** Reads a basin's time series from its CSV or netCDF file. */
export function readGenericBasin(dataDir: string, basin: string, read: ReadOptions): BasinTimeSeries {
  const file = genericTimeSeriesFile(dataDir, basin);
  const rule = missingValueRule(read.missingValues);
  return file.endsWith('.nc') ? netcdfSeries(readNetcdfVariables(file), file, basin, rule) : parseGenericCsv(readTextFile(file, 'time series file'), file, basin, rule);
}

const SECONDS_PER_UNIT: Record<string, number> = { day: 86400, hour: 3600, minute: 60, second: 1 };

/**
 * The day numbers of a CF time variable: `units` "<days|hours|minutes|seconds> since YYYY-MM-DD[( |T)hh:mm[:ss]]"
 * (UTC), a standard calendar, each value on a midnight.
 */
function cfDays(time: StoredVariable, file: string): number[] {
  const at = `${file}: variable '${time.name}'`;
  const units = String(time.attributes.units ?? '');
  const m = /^\s*(day|hour|minute|second)s?\s+since\s+(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?)?\s*(?:Z|UTC|[+-]0+(?::?0+)?)?\s*$/i.exec(units);
  if (!m) throw new InputError(`${at}: expected CF units like 'days since 1970-01-01', got '${units}'`);
  const calendar = String(time.attributes.calendar ?? 'standard').toLowerCase();
  if (!['standard', 'gregorian', 'proleptic_gregorian'].includes(calendar)) {
    throw new InputError(`${at}: calendar '${calendar}' is not supported (expected standard, gregorian or proleptic_gregorian)`);
  }
  const [y, mo, d] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (!isValidDate(y, mo, d)) throw new InputError(`${at}: units '${units}' name no valid date`);
  const referenceSeconds = dayNumber(y, mo, d) * 86400 + Number(m[5] ?? 0) * 3600 + Number(m[6] ?? 0) * 60 + Number(m[7] ?? 0);
  const unit = SECONDS_PER_UNIT[m[1].toLowerCase()];
  const values = time.values as Float64Array;
  return Array.from(values, (t, i) => {
    const seconds = referenceSeconds + t * unit;
    if (!Number.isFinite(t) || seconds % 86400 !== 0) {
      throw new InputError(`${at}, index ${i}: ${t} ${m[1]}s since ${m[2]}-${m[3]}-${m[4]} is not a whole day (daily data at 00:00 expected)`);
    }
    return seconds / 86400;
  });
}

/** A basin's series from the datasets of a netCDF file (see the module comment). */
export function netcdfSeries(all: StoredVariable[], file: string, basin: string, rule: MissingValueRule): BasinTimeSeries {
  // netCDF-C stores a dimension that has no variable of its name as a placeholder dataset: not a variable.
  const stored = all.filter((v) => !String(v.attributes.NAME ?? '').startsWith('This is a netCDF dimension but not a netCDF variable'));
  const time = stored.find((v) => v.name === 'date') ?? stored.find((v) => v.name === 'time');
  if (!time) throw new InputError(`${file}: no 'date' or 'time' variable (found: ${stored.map((v) => v.name).join(', ') || 'none'})`);
  if (time.shape.length !== 1 || !time.values) throw new InputError(`${file}: variable '${time.name}' must be a 1-D numeric array`);
  const days = cfDays(time, file);
  const n = days.length;
  if (n === 0) throw new InputError(`${file}: variable '${time.name}' is empty`);
  // The variables along the time dimension; others (scalars, coordinates such as lat/lon, strings) are not series.
  const series = stored.filter(
    (v) => v !== time && v.values && v.shape.length === 1 && v.shape[0] === n && (v.dimension === null || v.dimension === time.name),
  );
  if (series.length === 0) throw new InputError(`${file}: no 1-D numeric variables along '${time.name}'`);
  const values = new Float32Array(n * series.length);
  series.forEach((v, k) => {
    const fill = [v.attributes._FillValue, v.attributes.missing_value].filter((x): x is number => typeof x === 'number');
    // CF packing; applied only where declared, so that an unpacked -0 stays -0 (as read from a CSV).
    const scale = typeof v.attributes.scale_factor === 'number' ? v.attributes.scale_factor : null;
    const offset = typeof v.attributes.add_offset === 'number' ? v.attributes.add_offset : null;
    const data = v.values as Float64Array;
    for (let r = 0; r < n; r++) {
      const raw = data[r];
      const missing = fill.includes(raw) || rule.isMissingNumber(raw);
      const value = scale === null && offset === null ? raw : raw * (scale ?? 1) + (offset ?? 0);
      values[r * series.length + k] = missing ? Number.NaN : value;
    }
  });
  return dailySeries(
    basin,
    series.map((v) => v.name),
    days,
    values,
    (r) => `${file}: variable '${time.name}', index ${r}`,
  );
}

/** The attribute CSVs, `<data_dir>/attributes/*.csv`, sorted by name. */
export function genericAttributeFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'attributes');
  if (!existsSync(dir)) throw new InputError(`folder ${dir} does not exist: ${LAYOUT}`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new InputError(`no attribute CSV files (*.csv) in ${dir}: ${LAYOUT}`);
  return files;
}

/** Static attributes `names` of `basins` from the attribute CSVs (first column: basin id). */
export function readGenericAttributes(dataDir: string, basins: string[], names: string[], read: ReadOptions): AttributeTable {
  const tables = genericAttributeFiles(dataDir).map((f) => parseKeyedTable(readTextFile(f, 'attribute file'), f, ',', null));
  return selectAttributes(tables, basins, names, missingValueRule(read.missingValues));
}

/** The generic dataset: one CSV or netCDF file per basin, attribute CSVs; it has no variants. */
export const genericDataset: DatasetReader = {
  variant: () => '',
  basinFiles: (dataDir, basin) => [genericTimeSeriesFile(dataDir, basin)],
  readBasin: (dataDir, basin, _variant, read) => readGenericBasin(dataDir, basin, read),
  readAttributes: readGenericAttributes,
};
