/**
 * The project's one CSV dialect, for every file it writes and reads (metrics.csv, predictions, signatures,
 * comparison tables, published per-basin metrics): comma-separated, RFC 4180 quotes where a field needs them,
 * numbers with up to 10 significant digits, and the project's one missing-value rule (util/missing.ts): an empty
 * cell, NA or nan (any case, with a sign) is a missing value, read as NaN and written as an empty cell.
 */
import { InputError } from './errors.js';
import { isMissingText } from './missing.js';

/** A number for a CSV cell: up to `digits` significant digits; NaN (and ±Infinity: no defined value) as an empty cell. */
export function csvNumber(v: number, digits = 10): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : '';
}

/** The shortest decimal text that reads back (as float64, then stored as float32) to the float32 `v`. */
export function float32Text(v: number): string {
  if (Number.isNaN(v)) return '';
  if (Object.is(v, -0)) return '-0'; // String(-0) is '0'; CAMELS writes -0.00 temperatures
  for (let p = 1; p <= 9; p++) {
    const text = String(Number(v.toPrecision(p)));
    if (Math.fround(Number(text)) === v) return text;
  }
  throw new RangeError(`no float32 text for ${v}`);
}

/** A CSV field, quoted when it needs to be. */
export function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Splits one CSV line (RFC 4180 quotes allowed; `delimiter` for other delimited tables, e.g. CAMELS' ';'). */
export function splitCsvLine(line: string, delimiter = ','): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/**
 * The text of a decimal number in every table read (data files, attribute tables, basin tables): sign, digits
 * with an optional point, optional exponent; no hex, no `Infinity`, no digit separators.
 */
export const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** True for a cell that holds a missing value: empty, NA, or nan in any case (util/missing.ts isMissingText). */
export function isMissingCell(text: string): boolean {
  return isMissingText(text);
}

/**
 * Parses a number cell: a missing value (see isMissingCell) is NaN. `inf`/`infinity` (any case, signed) is an
 * error, unless `infinite: 'missing'` (a metric file written by a tool that stores an undefined metric as
 * -inf): then it is a missing value too. Anything else that is not a number is an error naming the file, line
 * and column.
 */
export function parseNumberCell(
  text: string,
  file: string,
  line: number,
  column: string,
  options: { infinite?: 'error' | 'missing' } = {},
): number {
  if (isMissingCell(text)) return Number.NaN;
  const t = text.trim();
  const infinite = /^[+-]?inf(inity)?$/i.test(t);
  if (infinite && options.infinite === 'missing') return Number.NaN;
  const v = DECIMAL_NUMBER.test(t) ? Number(t) : Number.NaN; // the one number grammar: Number() alone would read '0x10' as 16
  if (!Number.isFinite(v)) {
    const what = infinite || !Number.isNaN(v) ? 'a finite number' : 'a number';
    throw new InputError(`${file}:${line}: column ${column}: '${text}' is not ${what}`);
  }
  return v;
}

/** A CSV file split into a header and rows; every row has as many fields as the header. */
export interface CsvTable {
  file: string;
  header: string[];
  /** `line` is the 1-based line number in the file, for messages. */
  rows: { line: number; cells: string[] }[];
}

/**
 * The lines of a CSV file with a header line as a table (util/csv-file.ts reads the file). `expected` describes the
 * header for the error of an empty file (e.g. 'date,qobs,qsim'). A row with another field count than the header is
 * an error naming the file and line.
 */
export function parseCsvTable(lines: string[], file: string, expected: string): CsvTable {
  if (lines.length === 0) throw new InputError(`${file}: empty file (expected a header ${expected})`);
  const header = splitCsvLine(lines[0]).map((h) => h.trim());
  const rows: CsvTable['rows'] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = splitCsvLine(lines[i]);
    if (cells.length !== header.length) throw new InputError(`${file}:${i + 1}: ${cells.length} fields, the header has ${header.length}`);
    rows.push({ line: i + 1, cells });
  }
  return { file, header, rows };
}
