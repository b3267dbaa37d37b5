/** A basin's daily time series, as parsed from the source files or loaded from the cache. */
export interface BasinTimeSeries {
  basin: string;
  /** Day number (days since 1970-01-01 UTC) of row 0. Rows are consecutive days with no gaps. */
  startDay: number;
  /** Number of rows (days). */
  length: number;
  /** Column names, e.g. 'prcp(mm/day)', ..., 'QObs(mm/d)'. */
  variables: string[];
  /** Row-major [length, variables.length]; NaN marks a missing value. */
  values: Float32Array;
}

/** Static attributes of a set of basins, one row per basin, in the order asked for. */
export interface AttributeTable {
  basins: string[];
  names: string[];
  /** Row-major [basins.length, names.length]. */
  values: Float64Array;
}
