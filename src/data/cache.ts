/**
 * On-disk cache of parsed basins: `<cacheDir>/<key>/<basin>.f32` (row-major little-endian float32 values) plus
 * `<basin>.json` (shape, variables, checksum and a fingerprint of the source files). A cache entry is used only
 * while the source files' paths, sizes and mtimes match the fingerprint; otherwise the basin is parsed again and
 * the entry rewritten atomically (temp file in the same folder, then rename). Nothing is ever written to dataDir.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type CamelsUsForcing,
  camelsUsForcingPath,
  camelsUsStreamflowPath,
  checkBasinId,
  readCamelsUsAttributes,
  readCamelsUsBasin,
} from './camels-us.js';
import { caravanTimeseriesPath, readCaravanAttributes, readCaravanBasin } from './caravan.js';
import { type AttributeTable, type BasinTimeSeries } from './types.js';
import { InputError } from '../util/errors.js';

export type DatasetKind = 'camels_us' | 'caravan';

/** Which dataset to read and where. `forcing` applies to camels_us only (default 'daymet'). */
export interface DatasetOptions {
  dataset: DatasetKind;
  dataDir: string;
  forcing?: CamelsUsForcing;
}

export interface CacheOptions extends DatasetOptions {
  cacheDir: string;
}

/** Bump when the parsed representation changes, so that old cache entries are not used. */
const CACHE_VERSION = 1;
const FORMAT = 'ealstm-basin-cache';

export interface SourceFingerprint {
  path: string;
  size: number;
  mtimeMs: number;
}

interface Sidecar {
  format: string;
  version: number;
  basin: string;
  startDay: number;
  length: number;
  variables: string[];
  checksum: number;
  sources: SourceFingerprint[];
}

/** `$EALSTM_CACHE_DIR`, else `$XDG_CACHE_HOME/ealstm`, else `~/.cache/ealstm`. */
export function defaultCacheDir(): string {
  const explicit = process.env.EALSTM_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return path.join(path.resolve(xdg), 'ealstm');
  return path.join(os.homedir(), '.cache', 'ealstm');
}

function forcingOf(options: DatasetOptions): CamelsUsForcing | undefined {
  return options.dataset === 'camels_us' ? (options.forcing ?? 'daymet') : undefined;
}

/** Name of the cache folder for a dataset: dataset, forcing and a hash of the absolute dataDir. */
export function cacheKey(options: DatasetOptions): string {
  const abs = path.resolve(options.dataDir);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 16);
  const forcing = forcingOf(options);
  return `${options.dataset}${forcing ? `-${forcing}` : ''}-v${CACHE_VERSION}-${hash}`;
}

/** The source files a basin is parsed from (absolute paths). */
export function basinSourceFiles(options: DatasetOptions, basin: string): string[] {
  const dataDir = path.resolve(options.dataDir);
  switch (options.dataset) {
    case 'camels_us': {
      const forcing = forcingOf(options) as CamelsUsForcing;
      return [camelsUsForcingPath(dataDir, basin, forcing), camelsUsStreamflowPath(dataDir, basin)];
    }
    case 'caravan': {
      const file = caravanTimeseriesPath(dataDir, basin);
      if (!existsSync(file)) throw new InputError(`basin ${basin}: no Caravan time series file ${file}`);
      return [file];
    }
    default:
      throw new InputError(`unknown dataset '${String((options as DatasetOptions).dataset)}'`);
  }
}

/** Parses a basin from its source files (no cache). */
export function readBasin(options: DatasetOptions, basin: string): BasinTimeSeries {
  const dataDir = path.resolve(options.dataDir);
  switch (options.dataset) {
    case 'camels_us':
      return readCamelsUsBasin(dataDir, basin, forcingOf(options) as CamelsUsForcing);
    case 'caravan':
      return readCaravanBasin(dataDir, basin);
    default:
      throw new InputError(`unknown dataset '${String((options as DatasetOptions).dataset)}'`);
  }
}

/** Static attributes from the dataset's attribute tables (not cached: they are small). */
export function loadAttributes(options: DatasetOptions, basins: string[], names: string[]): AttributeTable {
  const dataDir = path.resolve(options.dataDir);
  switch (options.dataset) {
    case 'camels_us':
      return readCamelsUsAttributes(dataDir, basins, names);
    case 'caravan':
      return readCaravanAttributes(dataDir, basins, names);
    default:
      throw new InputError(`unknown dataset '${String((options as DatasetOptions).dataset)}'`);
  }
}

function fingerprint(files: string[]): SourceFingerprint[] {
  return files.map((f) => {
    const st = statSync(f);
    return { path: f, size: st.size, mtimeMs: st.mtimeMs };
  });
}

function sameFingerprint(a: SourceFingerprint[], b: SourceFingerprint[]): boolean {
  return (
    Array.isArray(a) &&
    a.length === b.length &&
    a.every((x, i) => x.path === b[i].path && x.size === b[i].size && x.mtimeMs === b[i].mtimeMs)
  );
}

/** 32-bit FNV-1a-style hash over the float bits, to detect a data file that does not belong to its sidecar. */
function checksum(values: Float32Array): number {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

function toLittleEndianBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function fromLittleEndianBytes(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** Writes `data` to `file` atomically: a temp file in the same folder, then a rename. */
function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may not exist
    }
    throw err;
  }
}

/** Reads a cache entry if it exists and matches `sources`; null otherwise. */
function readEntry(dataFile: string, sidecarFile: string, basin: string, sources: SourceFingerprint[]): BasinTimeSeries | null {
  let meta: Sidecar;
  try {
    meta = JSON.parse(readFileSync(sidecarFile, 'utf8')) as Sidecar;
  } catch {
    return null;
  }
  if (
    meta.format !== FORMAT ||
    meta.version !== CACHE_VERSION ||
    meta.basin !== basin ||
    !Array.isArray(meta.variables) ||
    !Number.isInteger(meta.length) ||
    !Number.isInteger(meta.startDay) ||
    !sameFingerprint(meta.sources, sources)
  ) {
    return null;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(dataFile);
  } catch {
    return null;
  }
  if (bytes.byteLength !== meta.length * meta.variables.length * 4) return null;
  const values = fromLittleEndianBytes(bytes);
  if (checksum(values) !== meta.checksum) return null;
  return { basin, startDay: meta.startDay, length: meta.length, variables: meta.variables, values };
}

let warnedUnwritable = false;

/** Like loadBasinCached, and also says whether the cache was used. */
export function loadBasinCachedInfo(
  options: CacheOptions,
  basin: string,
): { series: BasinTimeSeries; fromCache: boolean } {
  checkBasinId(basin);
  const dir = path.join(path.resolve(options.cacheDir), cacheKey(options));
  const dataFile = path.join(dir, `${basin}.f32`);
  const sidecarFile = path.join(dir, `${basin}.json`);
  const sources = fingerprint(basinSourceFiles(options, basin));
  const cached = readEntry(dataFile, sidecarFile, basin, sources);
  if (cached) return { series: cached, fromCache: true };

  const series = readBasin(options, basin);
  // If a source changed while it was parsed, do not record the old fingerprint with the new data.
  if (!sameFingerprint(fingerprint(sources.map((s) => s.path)), sources)) return { series, fromCache: false };
  const sidecar: Sidecar = {
    format: FORMAT,
    version: CACHE_VERSION,
    basin,
    startDay: series.startDay,
    length: series.length,
    variables: series.variables,
    checksum: checksum(series.values),
    sources,
  };
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomic(dataFile, toLittleEndianBytes(series.values));
    writeAtomic(sidecarFile, `${JSON.stringify(sidecar, null, 1)}\n`);
  } catch (err) {
    if (!warnedUnwritable) {
      warnedUnwritable = true;
      process.emitWarning(`basin cache not written to ${dir}: ${(err as Error).message}`);
    }
  }
  return { series, fromCache: false };
}

/**
 * A basin's time series, from the cache when its sidecar fingerprint matches the source files, else parsed from
 * the source files and (re)written to the cache.
 */
export function loadBasinCached(options: CacheOptions, basin: string): BasinTimeSeries {
  return loadBasinCachedInfo(options, basin).series;
}
