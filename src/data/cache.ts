/**
 * On-disk cache of parsed basins: `<cacheDir>/<key>/<basin>.f32` (row-major little-endian float32 values) plus
 * `<basin>.json` (shape, variables, checksum and a fingerprint of the source files). A cache entry is used only
 * while the source files' paths, sizes and mtimes match the fingerprint; otherwise the basin is parsed again and
 * the entry rewritten atomically (util/files.ts writeFileAtomic). Nothing is ever written to dataDir. A cache
 * folder that cannot be written is a warning (printed once), not an error: the basins are then parsed each time.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkBasinId } from './camels-us.js';
import { datasetReader } from './datasets.js';
import { type AttributeTable, type BasinTimeSeries, type ReadOptions } from './types.js';
import { writeFileAtomic } from '../util/files.js';
import { warnOnce } from '../util/warnings.js';

/**
 * Which dataset to read and where: `dataset` is a name registered in data/datasets.ts; `forcing` selects the
 * variant of datasets that have several (the CAMELS-US forcing product, default 'daymet').
 */
export interface DatasetOptions {
  dataset: string;
  dataDir: string;
  forcing?: string;
  /** The config's `missing_values` (dataset generic). */
  missingValues?: readonly string[];
}

export interface CacheOptions extends DatasetOptions {
  cacheDir: string;
}

/**
 * Bump when the parsed representation changes, so that old cache entries are not used. 2: missing-value codes
 * (-999) in the source files are NaN (version 1 kept them as numbers).
 */
const CACHE_VERSION = 2;
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

/**
 * Name of the cache folder for a dataset: dataset, variant (forcing) and a hash of the absolute dataDir and of the
 * declared missing values, if any (they change the parsed values).
 */
export function cacheKey(options: DatasetOptions): string {
  const abs = path.resolve(options.dataDir);
  const missing = readOptions(options).missingValues;
  const hashed = missing.length > 0 ? `${abs}\0${JSON.stringify(missing)}` : abs;
  const hash = createHash('sha256').update(hashed).digest('hex').slice(0, 16);
  const variant = datasetReader(options.dataset).variant(options.forcing);
  return `${options.dataset}${variant ? `-${variant}` : ''}-v${CACHE_VERSION}-${hash}`;
}

/** The source files a basin is parsed from (absolute paths). */
export function basinSourceFiles(options: DatasetOptions, basin: string): string[] {
  const reader = datasetReader(options.dataset);
  return reader.basinFiles(path.resolve(options.dataDir), basin, reader.variant(options.forcing));
}

/** Parses a basin from its source files (no cache). */
export function readBasin(options: DatasetOptions, basin: string): BasinTimeSeries {
  const reader = datasetReader(options.dataset);
  return reader.readBasin(path.resolve(options.dataDir), basin, reader.variant(options.forcing), readOptions(options));
}

/**
 * Static attributes from the dataset's attribute tables (not cached: they are small). Missing cells are NaN and
 * listed in the table's `missing` (attribute-table.ts requireAllAttributes turns them into an error).
 */
export function loadAttributes(options: DatasetOptions, basins: string[], names: string[]): AttributeTable {
  return datasetReader(options.dataset).readAttributes(path.resolve(options.dataDir), basins, names, readOptions(options));
}

function readOptions(options: DatasetOptions): ReadOptions {
  return { missingValues: options.missingValues ?? [] };
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
    // The data before the sidecar: a sidecar always describes a complete data file.
    writeFileAtomic(dataFile, toLittleEndianBytes(series.values));
    writeFileAtomic(sidecarFile, `${JSON.stringify(sidecar, null, 1)}\n`);
  } catch (err) {
    warnOnce(
      `basin cache folder ${dir} is not writable (${whyNotWritable(dir, err)}); continuing without the cache:` +
        ' each basin is parsed from its source files every time',
    );
  }
  return { series, fromCache: false };
}

/**
 * Why writing into `dir` failed, in words. Permission problems are named as such even when the error code is
 * another one (a recursive mkdir below a folder the user may not write can report ENOENT): the nearest existing
 * folder above `dir` is checked for write access.
 */
function whyNotWritable(dir: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on the device';
  let existing = dir;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    return `permission denied on ${existing}`;
  }
  return (err as Error).message;
}

/**
 * A basin's time series, from the cache when its sidecar fingerprint matches the source files, else parsed from
 * the source files and (re)written to the cache.
 */
export function loadBasinCached(options: CacheOptions, basin: string): BasinTimeSeries {
  return loadBasinCachedInfo(options, basin).series;
}
