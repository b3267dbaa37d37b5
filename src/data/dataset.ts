import type { RunConfig } from '../config/schema.js';
import { forcingOf } from '../config/load.js';
import { isoDate, parseDdMmYyyy } from '../util/dates.js';
import { basinSourceFiles, type CacheOptions, defaultCacheDir, loadAttributes, loadBasinCached } from './cache.js';
import { requireAllAttributes } from './attribute-table.js';
import { periodRows } from './period-rows.js';
import { attributeStatistics, RunningStats, type Scaler } from './scaler.js';
import type { AttributeTable, BasinPeriod, BasinTimeSeries, NormalizedBasin, Period, PeriodData } from './types.js';
import { InputError } from '../util/errors.js';

export function dataSource(config: RunConfig): CacheOptions {
  return {
    dataset: config.dataset,
    dataDir: config.data_dir,
    forcing: forcingOf(config),
    missingValues: config.missing_values,
    cacheDir: config.cache_dir ?? defaultCacheDir(),
  };
}

export function periodBounds(config: RunConfig, period: Period): { start: number; end: number } {
  return {
    start: parseDdMmYyyy(config[`${period}_start_date`], `${period}_start_date`),
    end: parseDdMmYyyy(config[`${period}_end_date`], `${period}_end_date`),
  };
}

/**
 * Loads the raw inputs, target and attributes of the basins for a period, checking every basin covers it and
 * has every static attribute (a missing one is an InputError naming basin, attribute and file).
 */
export function loadPeriod(config: RunConfig, basins: string[], period: Period): PeriodData {
  const { start, end } = periodBounds(config, period);
  const label = `the ${period} period ${config[`${period}_start_date`]}-${config[`${period}_end_date`]}`;
  return { period, seqLength: config.seq_length, basins: loadDays(config, basins, { start, end, label }) };
}

/** How loadDays treats data that a period of simulation (predict) may lack, unlike training and evaluation. */
export interface LoadDaysOptions {
  /**
   * Accept a period that starts less than seq_length-1 days after the data: the warm-up rows before the data's
   * first day are missing (NaN) inputs. Default: an error.
   */
  warmupBeforeData?: boolean;
  /** Accept a basin without the target variable (no streamflow record): its target is all missing. Default: an error. */
  targetOptional?: boolean;
}

/**
 * The rows of `basins` from seq_length-1 days before `start` to `end` (day numbers), as loadPeriod; `label` names
 * the period in errors. A period outside a basin's data is an InputError naming the basin and its data's dates.
 */
export function loadDays(
  config: RunConfig,
  basins: string[],
  range: { start: number; end: number; label: string },
  options: LoadDaysOptions = {},
): BasinPeriod[] {
  const source = dataSource(config);
  const { start, end, label } = range;
  const warmup = config.seq_length - 1;
  const firstDay = start - warmup;
  const rows = end - firstDay + 1;
  const attributes = modelAttributes(config, basins);
  const target = config.target_variables[0];
  return basins.map((basin, b) => {
    const series = loadBasinCached(source, basin);
    const columns = config.dynamic_inputs.map((name) => columnIndex(series, name, 'dynamic input', source));
    if (!options.targetOptional && !series.variables.includes(target)) {
      throw new InputError(
        `basin ${basin}: target variable '${target}' is not in the data (available: ${series.variables.join(', ')}): ` +
          'it has no streamflow record, so it can be simulated (ealstm predict) but not trained or evaluated on',
      );
    }
    const targetColumn = series.variables.indexOf(target);
    const seriesEnd = series.startDay + series.length - 1;
    const earliest = options.warmupBeforeData ? start : firstDay;
    if (earliest < series.startDay || end > seriesEnd) {
      const loaded = options.warmupBeforeData ? '' : ` (loaded from ${isoDate(firstDay)}, ${warmup} days before its start, for seq_length ${config.seq_length})`;
      throw new InputError(
        `basin ${basin}: ${label}${loaded} is outside the data, which covers ${isoDate(series.startDay)} to ${isoDate(seriesEnd)}`,
      );
    }
    const statics = attributes
      ? attributes.values.slice(b * attributes.names.length, (b + 1) * attributes.names.length)
      : new Float64Array(0);
    return periodRows(series, columns, targetColumn, firstDay, rows, statics);
  });
}

/**
 * The static attributes the model takes (config.static_attributes) of `basins`, or null when it takes none. A
 * missing one (empty, NA, -999, ...) is an InputError naming basin, attribute and file: a model cannot be fed,
 * nor its scaler fitted on, a missing attribute. Cheap (attribute tables only), so that training can check its
 * test basins too before it starts.
 */
export function modelAttributes(config: RunConfig, basins: string[]): AttributeTable | null {
  if (config.static_attributes.length === 0) return null;
  const attributes = loadAttributes(dataSource(config), basins, config.static_attributes);
  requireAllAttributes(attributes);
  return attributes;
}

function columnIndex(series: BasinTimeSeries, name: string, what: string, source: CacheOptions): number {
  const index = series.variables.indexOf(name);
  if (index < 0) {
    throw new InputError(
      `basin ${series.basin}: ${what} '${name}' is not in the data (available: ${series.variables.join(', ')});` +
        ` read from ${basinSourceFiles(source, series.basin).join(', ')}`,
    );
  }
  return index;
}

/**
 * Scaler from the training data of the training basins: inputs and target over the period's days (not the
 * warm-up), NaN skipped, population std; attributes across basins with ddof=1.
 */
export function fitScaler(config: RunConfig, train: PeriodData): Scaler {
  const d = config.dynamic_inputs.length;
  const inputStats = Array.from({ length: d }, () => new RunningStats());
  const targetStats = new RunningStats();
  for (const b of train.basins) {
    for (let r = train.seqLength - 1; r < b.rows; r++) {
      for (let k = 0; k < d; k++) inputStats[k].add(b.inputs[r * d + k]);
      targetStats.add(b.target[r]);
    }
  }
  const inputStd = inputStats.map((s) => s.std());
  inputStd.forEach((s, k) => {
    if (!(s > 0)) throw new InputError(`dynamic input '${config.dynamic_inputs[k]}' has zero variance in the training data`);
  });
  const targetStd = targetStats.std();
  if (!(targetStd > 0)) throw new InputError(`target '${config.target_variables[0]}' has no variance (or no valid values) in the training data`);
  const s = config.static_attributes.length;
  const statics = new Float64Array(train.basins.length * s);
  train.basins.forEach((b, i) => statics.set(b.statics, i * s));
  const attr = s > 0 ? attributeStatistics(config.static_attributes, statics, train.basins.map((b) => b.basin)) : { mean: [], std: [] };
  return {
    dynamic_inputs: [...config.dynamic_inputs],
    input_mean: inputStats.map((st) => st.mean),
    input_std: inputStd,
    target_variable: config.target_variables[0],
    target_mean: targetStats.mean,
    target_std: targetStd,
    static_attributes: [...config.static_attributes],
    static_mean: attr.mean,
    static_std: attr.std,
  };
}

/** Per-basin std (ddof=0) of the raw target over the period's valid days: the s_b of NSE*. */
export function targetStd(b: BasinPeriod, seqLength: number): number {
  const stats = new RunningStats();
  for (let r = seqLength - 1; r < b.rows; r++) stats.add(b.target[r]);
  return stats.count > 0 ? stats.std() : Number.NaN;
}

/**
 * Training samples (basin index, last row of the window), as the paper's code: every day of the period whose
 * target is present and whose whole input window is free of missing values.
 */
export function trainingSamples(basins: NormalizedBasin[], seqLength: number, inputs: number): Int32Array {
  const pairs: number[] = [];
  basins.forEach((b, bi) => {
    // Running count of rows with a missing input, to test each window in O(1).
    const badBefore = new Int32Array(b.rows + 1);
    for (let r = 0; r < b.rows; r++) {
      let bad = false;
      for (let k = 0; k < inputs; k++) if (!Number.isFinite(b.inputs[r * inputs + k])) bad = true;
      badBefore[r + 1] = badBefore[r] + (bad ? 1 : 0);
    }
    for (let r = seqLength - 1; r < b.rows; r++) {
      if (Number.isNaN(b.target[r])) continue;
      if (badBefore[r + 1] - badBefore[r + 1 - seqLength] > 0) continue;
      pairs.push(bi, r);
    }
  });
  return Int32Array.from(pairs);
}
