/**
 * Readers for the original NCAR CAMELS-US text layout: basin-mean forcing, USGS streamflow and the v2.0 static
 * attributes. The time-series parsers are single-pass byte scanners over the file Buffer.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseKeyedTable, selectAttributes } from './attribute-table.js';
import {
  ConsecutiveDays,
  FIELD_NUMBER,
  FIELD_NUMBER_OR_MISSING,
  FIELD_TEXT,
  latin1,
  RowBuffer,
  RowScanner,
} from './text-scan.js';
import { type AttributeTable, type BasinTimeSeries, type DatasetReader } from './types.js';
import { InputError } from '../util/errors.js';
import { readTextFile } from '../util/files.js';

export const CAMELS_US_FORCINGS = ['daymet', 'maurer', 'maurer_extended', 'nldas'] as const;
export type CamelsUsForcing = (typeof CAMELS_US_FORCINGS)[number];

/** The forcing columns, in the canonical (Daymet) spelling and order. */
export const CAMELS_US_FORCING_VARIABLES = [
  'dayl(s)',
  'prcp(mm/day)',
  'srad(W/m2)',
  'swe(mm)',
  'tmax(C)',
  'tmin(C)',
  'vp(Pa)',
] as const;

/** Name of the observed-discharge column, in mm/day. */
export const QOBS_VARIABLE = 'QObs(mm/d)';

/** cfs -> mm/day for a basin area in m2: Q * 0.0283168466 m3/ft3 * 86400 s/d * 1000 mm/m / area. */
export const CFS_TO_MM_PER_DAY_TIMES_M2 = 0.0283168466 * 86400 * 1000;

/** The 7 CAMELS v2.0 attribute tables, in the order columns are looked up. */
export const CAMELS_US_ATTRIBUTE_FILES = ['clim', 'geol', 'hydro', 'name', 'soil', 'topo', 'vege'].map(
  (t) => `camels_${t}.txt`,
);

export interface CamelsUsForcingFile {
  /** Path of the file read. */
  file: string;
  latitude: number;
  /** Mean elevation (m), header line 2. */
  elevation: number;
  /** Basin area (m2), header line 3; used to convert streamflow. */
  areaM2: number;
  /** The 7 forcing columns in CAMELS_US_FORCING_VARIABLES order. */
  series: BasinTimeSeries;
}

/** Throws unless `basin` is safe to use in a file name. */
export function checkBasinId(basin: string): void {
  if (typeof basin !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(basin) || basin === '.' || basin === '..') {
    throw new InputError(`invalid basin id '${String(basin)}'`);
  }
}

function checkForcing(forcing: string): asserts forcing is CamelsUsForcing {
  if (!(CAMELS_US_FORCINGS as readonly string[]).includes(forcing)) {
    throw new InputError(`unknown CAMELS-US forcing '${forcing}' (expected one of ${CAMELS_US_FORCINGS.join(', ')})`);
  }
}

/** The files in `root` or its sub-folders (the HUC folders) whose name satisfies `match`, sorted. */
function filesInHucFolders(root: string, match: (name: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(full).isDirectory());
    if (isDir) {
      for (const name of readdirSync(full)) if (match(name)) found.push(path.join(full, name));
    } else if (match(entry.name)) found.push(full);
  }
  return found.sort();
}

/** Finds the one file in `root` or its sub-folders (the HUC folders) whose name satisfies `match`. */
function findInHucFolders(root: string, match: (name: string) => boolean, what: string): string {
  if (!existsSync(root)) throw new InputError(`${what}: folder ${root} does not exist`);
  const found = filesInHucFolders(root, match);
  if (found.length === 0) throw new InputError(`${what}: no file found in ${root} or its sub-folders`);
  if (found.length > 1) throw new InputError(`${what}: several files found: ${found.join(', ')}`);
  return found[0];
}

/** Path of a basin's forcing file, `basin_mean_forcing/<forcing>/[<huc>/]<basin>_lump_*_forcing_leap.txt`. */
export function camelsUsForcingPath(dataDir: string, basin: string, forcing: CamelsUsForcing): string {
  checkBasinId(basin);
  checkForcing(forcing);
  const prefix = `${basin}_lump_`;
  return findInHucFolders(
    path.join(dataDir, 'basin_mean_forcing', forcing),
    (name) => name.startsWith(prefix) && name.endsWith('_forcing_leap.txt'),
    `basin ${basin}, ${forcing} forcing`,
  );
}

/** Path of a basin's streamflow file, `usgs_streamflow/[<huc>/]<basin>_streamflow_qc.txt`. */
export function camelsUsStreamflowPath(dataDir: string, basin: string): string {
  checkBasinId(basin);
  const name = `${basin}_streamflow_qc.txt`;
  return findInHucFolders(path.join(dataDir, 'usgs_streamflow'), (n) => n === name, `basin ${basin}, streamflow`);
}

/**
 * The basin's streamflow file, or null when it has none (no usgs_streamflow folder, or no file for the basin in
 * it): a basin without a gauge can still be simulated (predict); training and evaluation then fail on the missing
 * target variable. Several files for the basin are still an error.
 */
export function camelsUsStreamflowPathIfAny(dataDir: string, basin: string): string | null {
  checkBasinId(basin);
  const root = path.join(dataDir, 'usgs_streamflow');
  if (!existsSync(root)) return null;
  const name = `${basin}_streamflow_qc.txt`;
  return filesInHucFolders(root, (n) => n === name).length === 0 ? null : findInHucFolders(root, (n) => n === name, `basin ${basin}, streamflow`);
}

function readBuffer(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Reads a CAMELS-US forcing file (any of the four forcing products; column spellings are normalised). */
export function readCamelsUsForcing(dataDir: string, basin: string, forcing: CamelsUsForcing): CamelsUsForcingFile {
  const file = camelsUsForcingPath(dataDir, basin, forcing);
  return parseCamelsUsForcing(readBuffer(file), file, basin);
}

/** Parses the bytes of a CAMELS-US forcing file; `file` is used in error messages. */
export function parseCamelsUsForcing(buf: Buffer, file: string, basin: string): CamelsUsForcingFile {
  const n = buf.length;
  let pos = 0;
  let line = 0;
  const header: string[] = [];
  // 3 header lines (lat, elevation, area) and the column-name row.
  while (header.length < 4) {
    if (pos >= n) throw new InputError(`${file}: truncated file: ${header.length} of 4 header lines`);
    let eol = buf.indexOf(10, pos);
    if (eol < 0) eol = n;
    line++;
    header.push(latin1(buf, pos, eol).trim());
    pos = eol + 1;
  }
  const headerNumber = (i: number, what: string): number => {
    const v = Number(header[i]);
    if (header[i] === '' || !Number.isFinite(v)) {
      throw new InputError(`${file}:${i + 1}: expected the ${what}, got '${header[i]}'`);
    }
    return v;
  };
  const latitude = headerNumber(0, 'latitude');
  const elevation = headerNumber(1, 'elevation (m)');
  const areaM2 = headerNumber(2, 'basin area (m2)');
  if (!(areaM2 > 0)) throw new InputError(`${file}:3: basin area must be positive, got ${areaM2}`);

  const columns = header[3].split(/[ \t]+/);
  const nFields = columns.length;
  const lower = columns.map((c) => c.toLowerCase());
  ['year', 'mnth', 'day', 'hr'].forEach((want, i) => {
    if (lower[i] !== want) {
      throw new InputError(`${file}:4: expected column ${i + 1} to be '${want}' (any case), found '${columns[i] ?? ''}'`);
    }
  });
  const nVars = CAMELS_US_FORCING_VARIABLES.length;
  // target[k] = field index of canonical variable k
  const target = new Int32Array(nVars);
  CAMELS_US_FORCING_VARIABLES.forEach((v, k) => {
    const idx = lower.indexOf(v.toLowerCase());
    if (idx < 4) throw new InputError(`${file}:4: no column '${v}' in the header (found: ${columns.join(' ')})`);
    if (lower.indexOf(v.toLowerCase(), idx + 1) >= 0) throw new InputError(`${file}:4: column '${v}' appears twice`);
    target[k] = idx;
  });

  // Fields: Year Mnth Day Hr as numbers, the 7 variables as numbers or missing values (-999), others skipped.
  const kinds = new Uint8Array(nFields).fill(FIELD_TEXT).fill(FIELD_NUMBER, 0, 4);
  for (const f of target) kinds[f] = FIELD_NUMBER_OR_MISSING;
  const scan = new RowScanner(buf, kinds, 'whitespace', pos, line);
  const rows = new RowBuffer(nVars, Math.ceil((n - pos) / 50));
  const days = new ConsecutiveDays(file);
  const fv = scan.values;
  while (scan.next()) {
    scan.expectCompleteRow(nFields, file);
    if (scan.badField >= 0) {
      const f = scan.badField;
      throw new InputError(`${file}:${scan.line}: column '${columns[f]}': ${scan.fieldProblem(f)}`);
    }
    days.push(fv[0], fv[1], fv[2], scan.line);
    const o = rows.push();
    const out = rows.array;
    for (let k = 0; k < nVars; k++) out[o + k] = fv[target[k]];
  }
  if (rows.length === 0) throw new InputError(`${file}: no data rows after the header`);
  return {
    file,
    latitude,
    elevation,
    areaM2,
    series: {
      basin,
      startDay: days.startDay,
      length: rows.length,
      variables: [...CAMELS_US_FORCING_VARIABLES],
      values: rows.finish(),
    },
  };
}

/** Whether buf[start, end) equals `bytes`. */
function sameBytes(buf: Uint8Array, start: number, end: number, bytes: Uint8Array): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}

/**
 * Reads a basin's USGS streamflow file and converts cfs to mm/day with the basin area (m2). Missing values (the
 * -999 code, see util/missing.ts) and any other negative discharge (not a physical value) become NaN. Returns a
 * one-column series named QObs(mm/d).
 */
export function readCamelsUsStreamflow(dataDir: string, basin: string, areaM2: number): BasinTimeSeries {
  const file = camelsUsStreamflowPath(dataDir, basin);
  return parseCamelsUsStreamflow(readBuffer(file), file, basin, areaM2);
}

/** Parses the bytes of a streamflow file (`gauge Year Mnth Day Q_cfs flag`); `file` is used in error messages. */
export function parseCamelsUsStreamflow(buf: Buffer, file: string, basin: string, areaM2: number): BasinTimeSeries {
  if (!(areaM2 > 0)) throw new InputError(`basin ${basin}: area must be positive to convert streamflow, got ${areaM2}`);
  const factor = CFS_TO_MM_PER_DAY_TIMES_M2 / areaM2;
  const kinds = Uint8Array.of(FIELD_TEXT, FIELD_NUMBER, FIELD_NUMBER, FIELD_NUMBER, FIELD_NUMBER_OR_MISSING, FIELD_TEXT);
  const scan = new RowScanner(buf, kinds, 'whitespace');
  const rows = new RowBuffer(1, Math.ceil(buf.length / 30));
  const days = new ConsecutiveDays(file);
  const basinBytes = Buffer.from(basin, 'latin1');
  const fv = scan.values;
  while (scan.next()) {
    scan.expectCompleteRow(6, file, 'gauge Year Mnth Day Q_cfs flag');
    if (!sameBytes(buf, scan.starts[0], scan.ends[0], basinBytes)) {
      throw new InputError(`${file}:${scan.line}: gauge '${scan.fieldText(0)}' does not match basin '${basin}'`);
    }
    if (scan.badField >= 0) {
      const f = scan.badField;
      const name = ['gauge', 'Year', 'Mnth', 'Day', 'Q_cfs'][f];
      throw new InputError(`${file}:${scan.line}: ${name}: ${scan.fieldProblem(f)}`);
    }
    days.push(fv[1], fv[2], fv[3], scan.line);
    const q = fv[4];
    rows.array[rows.push()] = q < 0 ? Number.NaN : q * factor; // NaN (missing) stays NaN
  }
  if (rows.length === 0) throw new InputError(`${file}: no data rows`);
  return { basin, startDay: days.startDay, length: rows.length, variables: [QOBS_VARIABLE], values: rows.finish() };
}

/**
 * A basin's forcing (7 columns) and observed discharge (QObs(mm/d)) on the forcing file's date range: streamflow
 * days outside it are dropped, forcing days without streamflow get NaN. A basin without a streamflow file has
 * the forcing columns only.
 */
export function readCamelsUsBasin(dataDir: string, basin: string, forcing: CamelsUsForcing): BasinTimeSeries {
  const f = readCamelsUsForcing(dataDir, basin, forcing);
  const streamflowFile = camelsUsStreamflowPathIfAny(dataDir, basin);
  if (streamflowFile === null) return f.series;
  const q = parseCamelsUsStreamflow(readBuffer(streamflowFile), streamflowFile, basin, f.areaM2);
  const nIn = f.series.variables.length;
  const nOut = nIn + 1;
  const len = f.series.length;
  const values = new Float32Array(len * nOut);
  const src = f.series.values;
  const offset = q.startDay - f.series.startDay; // forcing row of streamflow row 0
  for (let t = 0; t < len; t++) {
    const o = t * nOut;
    const s = t * nIn;
    for (let k = 0; k < nIn; k++) values[o + k] = src[s + k];
    const r = t - offset;
    values[o + nIn] = r >= 0 && r < q.length ? q.values[r] : Number.NaN;
  }
  return { basin, startDay: f.series.startDay, length: len, variables: [...f.series.variables, QOBS_VARIABLE], values };
}

/** The attribute files of a CAMELS-US data folder that exist, in lookup order. */
export function camelsUsAttributeFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'camels_attributes_v2.0');
  if (!existsSync(dir)) throw new InputError(`CAMELS-US attribute folder ${dir} does not exist`);
  const files = CAMELS_US_ATTRIBUTE_FILES.map((f) => path.join(dir, f)).filter((f) => existsSync(f));
  if (files.length === 0) {
    throw new InputError(`no attribute tables (${CAMELS_US_ATTRIBUTE_FILES.join(', ')}) in ${dir}`);
  }
  return files;
}

/**
 * Static attributes `names` of `basins` from `camels_attributes_v2.0/camels_*.txt` (';'-separated, gauge_id first).
 * A column may come from any of the seven tables. NA gives NaN.
 */
export function readCamelsUsAttributes(dataDir: string, basins: string[], names: string[]): AttributeTable {
  const tables = camelsUsAttributeFiles(dataDir).map((f) => parseKeyedTable(readTextFile(f, 'attribute file'), f, ';'));
  return selectAttributes(tables, basins, names);
}

/** The CAMELS-US dataset (the NCAR text layout); its variant is the forcing product, 'daymet' by default. */
export const camelsUsDataset: DatasetReader = {
  variant(forcing) {
    const product = forcing ?? 'daymet';
    checkForcing(product);
    return product;
  },
  basinFiles: (dataDir, basin, forcing) => {
    const streamflow = camelsUsStreamflowPathIfAny(dataDir, basin);
    return [camelsUsForcingPath(dataDir, basin, forcing as CamelsUsForcing), ...(streamflow ? [streamflow] : [])];
  },
  readBasin: (dataDir, basin, forcing) => readCamelsUsBasin(dataDir, basin, forcing as CamelsUsForcing),
  readAttributes: readCamelsUsAttributes,
};
