/** A basin's daily time series, as parsed from the source files or loaded from the cache. */
export interface BasinTimeSeries {
  basin: string;
  /** Day number (days since 1970-01-01 UTC) of row 0. Rows are consecutive days with no gaps. */
  startDay: number;
  /** Number of rows (days). */
  length: number;
  /** Column names, e.g. 'prcp(mm/day)', ..., 'QObs(mm/d)'. */
  variables: string[];
  /** Row-major [length, variables.length]; NaN marks a missing value (util/missing.ts). */
  values: Float32Array;
}

/** An attribute cell that holds a missing value, and where it was read. */
export interface MissingAttribute {
  basin: string;
  name: string;
  file: string;
  /** The cell's text, e.g. '' or 'NA' or '-999'. */
  text: string;
}

/** Static attributes of a set of basins, one row per basin, in the order asked for. */
export interface AttributeTable {
  basins: string[];
  names: string[];
  /** Row-major [basins.length, names.length]; NaN marks a missing value. */
  values: Float64Array;
  /** Every cell of `values` that is missing (NaN), in row-major order. */
  missing: MissingAttribute[];
}

/**
 * How the config says to read a dataset's files beyond its folder: `missingValues` are the config's
 * `missing_values` (util/missing.ts missingValueRule; only the generic reader takes any).
 */
export interface ReadOptions {
  missingValues: readonly string[];
}

/**
 * A dataset layout the tool can read: registered by name in data/datasets.ts. `variant` is the part of the data
 * the options select when a dataset has several (the CAMELS-US forcing product), '' otherwise; it is part of the
 * cache key and is passed back to the readers.
 */
export interface DatasetReader {
  /** Checks the `forcing` option and returns the variant it selects. */
  variant(forcing: string | undefined): string;
  /** The source files a basin is parsed from (for the cache fingerprint); an InputError when one is missing. */
  basinFiles(dataDir: string, basin: string, variant: string): string[];
  /** Parses a basin's time series from its source files. */
  readBasin(dataDir: string, basin: string, variant: string, read: ReadOptions): BasinTimeSeries;
  /** Reads static attributes `names` of `basins` (missing cells are NaN and listed in `missing`). */
  readAttributes(dataDir: string, basins: string[], names: string[], read: ReadOptions): AttributeTable;
}

export type Period = 'train' | 'test';

/** One basin's data for a period: seq_length-1 warm-up days, then the period's days. */
export interface BasinPeriod {
  basin: string;
  /** Day number of row 0 (the period start minus seq_length-1 days). */
  firstDay: number;
  /** Rows: warm-up + period days. Targets are rows seqLength-1 .. rows-1. */
  rows: number;
  /** Raw dynamic inputs [rows, D] (NaN = missing). */
  inputs: Float32Array;
  /** Raw target [rows] (NaN = missing). */
  target: Float32Array;
  /** Raw static attributes [S]. */
  statics: Float64Array;
  /** The first row inside the basin's data (> 0 only when loadDays let the warm-up start before the data). */
  firstDataRow?: number;
}

export interface PeriodData {
  period: Period;
  seqLength: number;
  basins: BasinPeriod[];
}

/** A period's data standardised with the run's scaler, ready to be gathered into batches. */
export interface NormalizedBasin {
  basin: string;
  firstDay: number;
  rows: number;
  inputs: Float32Array;
  /** Normalised target (NaN = missing). */
  target: Float32Array;
  statics: Float32Array;
  /** Raw target, for metrics. */
  rawTarget: Float32Array;
}
