/**
 * The generic dataset's per-basin time-series CSV (data/generic.ts describes the layout): a `date` column
 * (YYYY-MM-DD) and numeric columns named by their header. Parsed from text, so the browser page reads the same
 * files with the same rules and messages.
 */
import { numberProblem } from './text-scan.js';
import type { BasinTimeSeries } from './types.js';
import { DECIMAL_NUMBER, splitCsvLine } from '../util/csv.js';
import { dayNumber, isoDate, isValidDate } from '../util/dates.js';
import { InputError } from '../util/errors.js';
import type { MissingValueRule } from '../util/missing.js';

const FLOAT32_MAX = 3.4028234663852886e38;

/** Parses a generic time-series CSV (see the module comment); `file` is used in error messages. */
export function parseGenericCsv(text: string, file: string, basin: string, rule: MissingValueRule): BasinTimeSeries {
  const lines = text.split('\n');
  const columns = splitCsvLine(lines[0].replace(/^\uFEFF/, '').replace(/\r$/, '')).map((c) => c.trim());
  const dateCol = columns.indexOf('date');
  if (dateCol < 0) throw new InputError(`${file}:1: no 'date' column in the header (found: ${columns.join(',')})`);
  columns.forEach((c, j) => {
    if (c === '') throw new InputError(`${file}:1: column ${j + 1} has no name`);
    if (columns.indexOf(c) !== j) throw new InputError(`${file}:1: column '${c}' appears twice in the header`);
  });
  const variables = columns.filter((_, j) => j !== dateCol);
  if (variables.length === 0) throw new InputError(`${file}:1: no data columns besides 'date'`);
  const days: number[] = [];
  const lineNumbers: number[] = [];
  const rows: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const where = `${file}:${i + 1}`;
    const fields = splitCsvLine(line);
    if (fields.length !== columns.length) throw new InputError(`${where}: expected ${columns.length} fields, found ${fields.length}`);
    days.push(parseIsoDay(fields[dateCol], where));
    lineNumbers.push(i + 1);
    fields.forEach((field, j) => {
      if (j !== dateCol) rows.push(cellValue(field, rule, () => `${where}: column '${columns[j]}'`));
    });
  }
  if (days.length === 0) throw new InputError(`${file}: no data rows after the header`);
  return dailySeries(basin, variables, days, Float32Array.from(rows), (r) => `${file}:${lineNumbers[r]}`);
}

function parseIsoDay(text: string, where: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  if (!m || !isValidDate(y, mo, d)) throw new InputError(`${where}: expected a date as YYYY-MM-DD, got '${text}'`);
  return dayNumber(y, mo, d);
}

function cellValue(field: string, rule: MissingValueRule, where: () => string): number {
  const text = field.trim();
  if (rule.isMissingText(text)) return Number.NaN;
  const v = DECIMAL_NUMBER.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(v) || Math.abs(v) > FLOAT32_MAX) throw new InputError(`${where()}: ${numberProblem(text)}`);
  return rule.isMissingNumber(v) ? Number.NaN : v;
}

/**
 * Rows at `days` (one per row, `values` row-major) placed on a daily axis from the first to the last date; days
 * in between that have no row are missing values. Dates that do not ascend are errors naming `where(row)`.
 */
export function dailySeries(basin: string, variables: string[], days: number[], values: Float32Array, where: (row: number) => string): BasinTimeSeries {
  for (let r = 1; r < days.length; r++) {
    if (days[r] === days[r - 1]) throw new InputError(`${where(r)}: date ${isoDate(days[r])} appears twice (also at ${where(r - 1)})`);
    if (days[r] < days[r - 1]) {
      throw new InputError(`${where(r)}: date ${isoDate(days[r])} comes after ${isoDate(days[r - 1])}: dates must ascend`);
    }
  }
  const n = variables.length;
  const startDay = days[0];
  const length = days[days.length - 1] - startDay + 1;
  const out = new Float32Array(length * n).fill(Number.NaN);
  days.forEach((day, r) => out.set(values.subarray(r * n, (r + 1) * n), (day - startDay) * n));
  return { basin, startDay, length, variables, values: out };
}
