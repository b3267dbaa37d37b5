/**
 * Readers for the Caravan layout: `timeseries/csv/<source>/<gauge_id>.csv` (a `date` column and numeric columns,
 * an empty field or another missing value of util/missing.ts is NaN) and `attributes/<source>/*.csv` (merged on gauge_id).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inTableOrder, parseKeyedTable, selectAttributes } from './attribute-table.js';
import { checkBasinId } from './camels-us.js';
import {
  ConsecutiveDays,
  FIELD_NUMBER_OR_MISSING,
  FIELD_TEXT,
  latin1,
  parseUintBytes,
  RowBuffer,
  RowScanner,
} from './text-scan.js';
import { type AttributeTable, type BasinTimeSeries, type DatasetReader } from './types.js';
import { InputError } from '../util/errors.js';
import { readTextFile } from '../util/files.js';

/** The source (sub-dataset) of a Caravan gauge id: the part before the first '_' (camels_01022500 -> camels). */
export function caravanSource(basin: string): string {
  checkBasinId(basin);
  const i = basin.indexOf('_');
  if (i <= 0) throw new InputError(`Caravan gauge id '${basin}' has no '<source>_' prefix`);
  return basin.slice(0, i);
}

/** Path of a basin's time-series CSV. */
export function caravanTimeseriesPath(dataDir: string, basin: string): string {
  return path.join(dataDir, 'timeseries', 'csv', caravanSource(basin), `${basin}.csv`);
}

/** Reads a basin's Caravan time series; variables are the CSV's columns other than `date`, in file order. */
export function readCaravanBasin(dataDir: string, basin: string): BasinTimeSeries {
  const file = caravanTimeseriesPath(dataDir, basin);
  if (!existsSync(file)) throw new InputError(`basin ${basin}: no Caravan time series file ${file}`);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseCaravanCsv(buf, file, basin);
}

/** Parses the bytes of a Caravan time-series CSV; `file` is used in error messages. */
export function parseCaravanCsv(buf: Buffer, file: string, basin: string): BasinTimeSeries {
  const n = buf.length;
  let pos = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  let eol = buf.indexOf(10, pos);
  if (eol < 0) eol = n;
  const columns = latin1(buf, pos, eol)
    .replace(/\r$/, '')
    .split(',')
    .map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  pos = eol + 1;
  const nFields = columns.length;
  const dateCol = columns.indexOf('date');
  if (dateCol < 0) throw new InputError(`${file}:1: no 'date' column in the header (found: ${columns.join(',')})`);
  const variables = columns.filter((_, i) => i !== dateCol);
  const nVars = variables.length;
  if (nVars === 0) throw new InputError(`${file}:1: no data columns besides 'date'`);
  const fieldOf = new Int32Array(nVars);
  for (let k = 0, f = 0; f < nFields; f++) if (f !== dateCol) fieldOf[k++] = f;

  const kinds = new Uint8Array(nFields).fill(FIELD_NUMBER_OR_MISSING);
  kinds[dateCol] = FIELD_TEXT;
  const scan = new RowScanner(buf, kinds, ',', pos, 1);
  const rows = new RowBuffer(nVars, Math.ceil((n - pos) / (8 * nFields)));
  const days = new ConsecutiveDays(file);
  const fv = scan.values;
  while (scan.next()) {
    scan.expectCompleteRow(nFields, file);
    const ds = scan.starts[dateCol];
    const ok = scan.ends[dateCol] - ds === 10 && buf[ds + 4] === 45 && buf[ds + 7] === 45;
    const year = ok ? parseUintBytes(buf, ds, ds + 4) : -1;
    const month = ok ? parseUintBytes(buf, ds + 5, ds + 7) : -1;
    const day = ok ? parseUintBytes(buf, ds + 8, ds + 10) : -1;
    if (year < 0 || month < 0 || day < 0) {
      throw new InputError(`${file}:${scan.line}: expected a date as YYYY-MM-DD, got '${scan.fieldText(dateCol)}'`);
    }
    if (scan.badField >= 0) {
      const f = scan.badField;
      throw new InputError(`${file}:${scan.line}: column '${columns[f]}': ${scan.fieldProblem(f)}`);
    }
    days.push(year, month, day, scan.line);
    const o = rows.push();
    const out = rows.array;
    for (let k = 0; k < nVars; k++) out[o + k] = fv[fieldOf[k]];
  }
  if (rows.length === 0) throw new InputError(`${file}: no data rows after the header`);
  return { basin, startDay: days.startDay, length: rows.length, variables, values: rows.finish() };
}

/** The attribute CSVs of one Caravan source, `attributes/<source>/*.csv`, sorted by name. */
export function caravanAttributeFiles(dataDir: string, source: string): string[] {
  const dir = path.join(dataDir, 'attributes', source);
  if (!existsSync(dir)) throw new InputError(`Caravan attribute folder ${dir} does not exist`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => path.join(dir, f));
  if (files.length === 0) throw new InputError(`no attribute CSV files in ${dir}`);
  return files;
}

/**
 * Static attributes `names` of `basins` from every `attributes/<source>/*.csv`, merged on gauge_id. Basins may come
 * from several sources. A missing value (util/missing.ts) gives NaN; other non-numeric values are errors.
 */
export function readCaravanAttributes(dataDir: string, basins: string[], names: string[]): AttributeTable {
  const bySource = new Map<string, number[]>();
  basins.forEach((b, i) => {
    const s = caravanSource(b);
    const list = bySource.get(s);
    if (list) list.push(i);
    else bySource.set(s, [i]);
  });
  const values = new Float64Array(basins.length * names.length);
  const missing: AttributeTable['missing'] = [];
  for (const [source, rows] of bySource) {
    const tables = caravanAttributeFiles(dataDir, source).map((f) => parseKeyedTable(readTextFile(f, 'attribute file'), f, ','));
    const part = selectAttributes(
      tables,
      rows.map((i) => basins[i]),
      names,
    );
    rows.forEach((i, r) => values.set(part.values.subarray(r * names.length, (r + 1) * names.length), i * names.length));
    missing.push(...part.missing);
  }
  return { basins: [...basins], names: [...names], values, missing: inTableOrder(missing, basins, names) };
}

/** The Caravan dataset: one time-series CSV per gauge, attributes per source; it has no variants. */
export const caravanDataset: DatasetReader = {
  variant: () => '',
  basinFiles(dataDir, basin) {
    const file = caravanTimeseriesPath(dataDir, basin);
    if (!existsSync(file)) throw new InputError(`basin ${basin}: no Caravan time series file ${file}`);
    return [file];
  },
  readBasin: (dataDir, basin) => readCaravanBasin(dataDir, basin),
  readAttributes: readCaravanAttributes,
};
