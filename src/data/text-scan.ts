/**
 * Byte-level building blocks for the hand-written data-file parsers: a one-pass row scanner over a Buffer that
 * splits fields and parses numbers in the same pass (no substrings, no regex), and a check that rows are
 * consecutive calendar days.
 */
import { daysInMonth, dayNumber, isValidDate, isoDate } from '../util/dates.js';
import { InputError } from '../util/errors.js';
import { DECIMAL_NUMBER } from '../util/csv.js';
import { isMissingCode, isMissingText } from '../util/missing.js';

/** 10^0 .. 10^22: every one is exactly representable as a double. */
const POW10 = new Float64Array(23).map((_, i) => 10 ** i);

/** End position of the last scanNumber call. */
let scanEnd = 0;

/**
 * Parses the longest prefix of buf[i, n) that is a decimal number `[+-]digits[.digits][(e|E)[+-]digits]` (digits
 * may be absent on one side of the point); the position after it is left in `scanEnd`. Returns NaN when there is
 * no such number (no digits, or an exponent without digits). Plain decimals with <= 15 significant digits are
 * computed exactly here (one correctly rounded division, equal to parseFloat's result); exponents and longer
 * numbers go to scanNumberSlow. Kept small so that V8 inlines it into the row loops.
 */
function scanNumber(buf: Uint8Array, i: number, n: number): number {
  const start = i;
  let c = i < n ? buf[i] : 0;
  const negative = c === 45; /* - */
  if (negative || c === 43 /* + */) i++;
  let mantissa = 0;
  let digits = 0;
  while (i < n && (c = buf[i] - 48) >= 0 && c <= 9) {
    mantissa = mantissa * 10 + c;
    digits++;
    i++;
  }
  let fracDigits = 0;
  if (i < n && buf[i] === 46 /* . */) {
    i++;
    while (i < n && (c = buf[i] - 48) >= 0 && c <= 9) {
      mantissa = mantissa * 10 + c;
      fracDigits++;
      i++;
    }
    digits += fracDigits;
  }
  scanEnd = i;
  if (digits === 0) return Number.NaN;
  if (digits > 15 || (i < n && (buf[i] | 32) === 101) /* e E */) return scanNumberSlow(buf, start, i, n);
  const v = fracDigits === 0 ? mantissa : mantissa / POW10[fracDigits];
  return negative ? -v : v;
}

/**
 * scanNumber's rare cases: an exponent part from `i` on, or too many digits for the exact fast path. A number
 * beyond the float32 range (it would be stored as Infinity) is NaN, so that the caller reports it with its line.
 */
function scanNumberSlow(buf: Uint8Array, start: number, i: number, n: number): number {
  if (i < n && (buf[i] | 32) === 101) {
    let j = i + 1;
    if (j < n && (buf[j] === 45 || buf[j] === 43)) j++;
    const expStart = j;
    while (j < n && buf[j] >= 48 && buf[j] <= 57) j++;
    if (j === expStart) {
      scanEnd = j;
      return Number.NaN;
    }
    i = j;
  }
  scanEnd = i;
  const v = Number(latin1(buf, start, i)); // the grammar has been checked, so Number() reads the same text
  return Number.isFinite(Math.fround(v)) ? v : Number.NaN;
}

/** Why a field that should hold a number does not: 'not a number' or 'out of range', with its text. */
export function numberProblem(text: string): string {
  return DECIMAL_NUMBER.test(text.trim()) // the grammar scanNumber accepts
    ? `number out of range (beyond +-3.4e38, the float32 limit): '${text}'`
    : `not a number: '${text}'`;
}

/** Parses all of bytes [start, end) as a decimal number (see scanNumber); NaN when it is not exactly one. */
export function parseNumberBytes(buf: Uint8Array, start: number, end: number): number {
  const v = scanNumber(buf, start, end);
  return scanEnd === end ? v : Number.NaN;
}

/** Parses bytes [start, end) as an unsigned decimal integer (digits only, at most 9); -1 when it is not one. */
export function parseUintBytes(buf: Uint8Array, start: number, end: number): number {
  if (start >= end || end - start > 9) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The bytes [start, end) as a string (Latin-1; the data files are ASCII). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

/** Short display of a line for error messages. */
export function lineExcerpt(buf: Uint8Array, start: number, end: number): string {
  const text = latin1(buf, start, Math.min(end, start + 120)).replace(/\r$/, '');
  return end - start > 120 ? `${text}...` : text;
}

/** How the row scanner treats a field: a number (anything else is a bad field). */
export const FIELD_NUMBER = 0;
/** ... text, not parsed (its bounds are recorded). */
export const FIELD_TEXT = 1;
/**
 * ... a value of an input data file: a number, or a missing value (util/missing.ts: a missing text such as an
 * empty field or NaN, or a missing-value code such as CAMELS' -999), which gives NaN.
 */
export const FIELD_NUMBER_OR_MISSING = 2;

/** Whether bytes [s, e) spell a missing value (util/missing.ts isMissingText). */
function isMissingToken(buf: Uint8Array, s: number, e: number): boolean {
  return s === e || isMissingText(latin1(buf, s, e));
}

/** Digits after the decimal point in a number's text; -1 without a point. */
function decimals(text: string): number {
  const m = /\.(\d*)/.exec(text);
  return m ? m[1].length : -1;
}

/**
 * Whether a file's last value, on a last line without a line end, looks cut short: it has fewer digits after the
 * decimal point than the same column on the line before. The data files write a fixed number of decimals per
 * column, so a copy or download that stopped inside the number shows up this way (one that stopped inside an
 * earlier field leaves too few fields, which the field count catches).
 */
export function lastValueCutShort(last: string, previous: string): boolean {
  return decimals(last.trim()) < decimals(previous.trim());
}

/** The error for a cut-short last line (see lastValueCutShort). */
export function cutShortError(file: string, line: number, last: string, previous: string): InputError {
  return new InputError(
    `${file}:${line}: the file looks cut short: its last line has no line end and its last value '${last.trim()}'` +
      ` has fewer decimals than on the line before ('${previous.trim()}'); if the line is complete, end it with a newline`,
  );
}

/**
 * Scans a text buffer row by row in one pass. Fields are separated by runs of spaces/tabs ('whitespace') or by a
 * one-byte delimiter (fields trimmed of spaces/tabs); CRLF line ends and blank lines are accepted. Each `next()`
 * reads the next non-blank line and parses its fields according to `kinds` (fields beyond `kinds.length` are
 * counted but not parsed). The caller checks `fieldCount` and `badField` and builds the error message.
 */
export class RowScanner {
  /** Parsed value of each field (NaN for text, missing or bad fields). */
  readonly values: Float64Array;
  /** Byte bounds of each field (the first kinds.length fields). */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** 1-based line number of the current row. */
  line = 0;
  /** Number of fields on the current row. */
  fieldCount = 0;
  /** Index of the first field that is not a valid number (where one was required), or -1. */
  badField = -1;
  /** Byte bounds of the current row (without the line end). */
  lineStart = 0;
  lineEnd = 0;
  /** Whether the current row is the last one and has no line end (a hint of a truncated file). */
  noNewline = false;
  /** Byte bounds of the row before the current one (-1: none). */
  private previousStart = -1;
  private previousEnd = -1;
  private pos: number;
  private readonly delimiter: number;

  constructor(
    readonly buf: Uint8Array,
    readonly kinds: Uint8Array,
    delimiter: 'whitespace' | string,
    start = 0,
    startLine = 0,
  ) {
    this.delimiter = delimiter === 'whitespace' ? -1 : delimiter.charCodeAt(0);
    this.values = new Float64Array(kinds.length);
    this.starts = new Int32Array(kinds.length);
    this.ends = new Int32Array(kinds.length);
    this.pos = start;
    this.line = startLine;
  }

  /**
   * Throws an InputError naming file and line unless the current row is complete: it has `count` fields (`what`:
   * their names), and if it is a last line without a line end, its last value is not cut short (lastValueCutShort).
   */
  expectCompleteRow(count: number, file: string, what = ''): void {
    if (this.fieldCount !== count) {
      throw new InputError(
        `${file}:${this.line}: expected ${count} fields${what ? ` (${what})` : ''}, found ${this.fieldCount}` +
          `${this.noNewline ? ' (truncated file?)' : ''}: '${this.excerpt()}'`,
      );
    }
    if (this.noNewline && this.previousStart >= 0) {
      const last = this.lastField(this.lineStart, this.lineEnd);
      const previous = this.lastField(this.previousStart, this.previousEnd);
      if (lastValueCutShort(last, previous)) throw cutShortError(file, this.line, last, previous);
    }
  }

  /** Why field `k` of the current row is not a number (see numberProblem). */
  fieldProblem(k: number): string {
    return numberProblem(this.fieldText(k));
  }

  /** Text of the last field of the row in bytes [start, end). */
  private lastField(start: number, end: number): string {
    const text = latin1(this.buf, start, end).trimEnd();
    const cut = this.delimiter < 0 ? Math.max(text.lastIndexOf(' '), text.lastIndexOf('\t')) : text.lastIndexOf(String.fromCharCode(this.delimiter));
    return text.slice(cut + 1);
  }

  /** The current row as text, for error messages. */
  excerpt(): string {
    return lineExcerpt(this.buf, this.lineStart, this.lineEnd);
  }

  /** Text of field `k` of the current row (k < kinds.length). */
  fieldText(k: number): string {
    return latin1(this.buf, this.starts[k], this.ends[k]);
  }

  /** Advances to the next non-blank row; false at the end of the buffer. */
  next(): boolean {
    const buf = this.buf;
    const n = buf.length;
    let i = this.pos;
    while (i < n) {
      this.line++;
      const lineStart = i;
      // Blank line?
      let c = 0;
      while (i < n && ((c = buf[i]) === 32 || c === 9 || c === 13)) i++;
      if (i >= n || c === 10) {
        i++;
        continue;
      }
      i = lineStart;
      const end = this.delimiter < 0 ? this.scanWhitespaceRow(i) : this.scanDelimitedRow(i);
      if (this.lineEnd > this.lineStart) {
        this.previousStart = this.lineStart;
        this.previousEnd = this.lineEnd;
      }
      this.lineStart = lineStart;
      this.lineEnd = end > lineStart && buf[end - 1] === 13 ? end - 1 : end;
      this.noNewline = end >= n;
      this.pos = end + 1;
      return true;
    }
    this.pos = n;
    return false;
  }

  /** Scans fields separated by runs of spaces/tabs from `i`; returns the position of the line end. */
  private scanWhitespaceRow(i: number): number {
    const { buf, kinds, values, starts, ends } = this;
    const n = buf.length;
    const nk = kinds.length;
    let nf = 0;
    let bad = -1;
    let c = 0;
    for (;;) {
      while (i < n && ((c = buf[i]) === 32 || c === 9 || c === 13)) i++;
      if (i >= n || c === 10) break;
      const s = i;
      const kind = nf < nk ? kinds[nf] : FIELD_TEXT;
      if (kind !== FIELD_TEXT) {
        let v = scanNumber(buf, i, n);
        i = scanEnd;
        if (v !== v || (i < n && (c = buf[i]) !== 32 && c !== 9 && c !== 13 && c !== 10)) {
          while (i < n && (c = buf[i]) !== 32 && c !== 9 && c !== 13 && c !== 10) i++;
          v = Number.NaN;
          if (!(kind === FIELD_NUMBER_OR_MISSING && isMissingToken(buf, s, i)) && bad < 0) bad = nf;
        } else if (kind === FIELD_NUMBER_OR_MISSING && isMissingCode(v)) v = Number.NaN;
        values[nf] = v;
      } else {
        while (i < n && (c = buf[i]) !== 32 && c !== 9 && c !== 13 && c !== 10) i++;
        if (nf < nk) values[nf] = Number.NaN;
      }
      if (nf < nk) {
        starts[nf] = s;
        ends[nf] = i;
      }
      nf++;
    }
    this.fieldCount = nf;
    this.badField = bad;
    return i;
  }

  /** Scans `delimiter`-separated fields from `i`; returns the position of the line end. */
  private scanDelimitedRow(i: number): number {
    const { buf, kinds, values, starts, ends } = this;
    const delim = this.delimiter;
    const n = buf.length;
    const nk = kinds.length;
    let nf = 0;
    let bad = -1;
    let c = 0;
    for (;;) {
      while (i < n && ((c = buf[i]) === 32 || c === 9)) i++;
      const s = i;
      const kind = nf < nk ? kinds[nf] : FIELD_TEXT;
      let e: number;
      if (kind !== FIELD_TEXT) {
        let v = scanNumber(buf, i, n);
        i = scanEnd;
        e = i;
        while (i < n && ((c = buf[i]) === 32 || c === 9 || c === 13)) i++;
        if (v !== v || (i < n && c !== delim && c !== 10)) {
          while (i < n && (c = buf[i]) !== delim && c !== 10) i++;
          e = i;
          while (e > s && ((c = buf[e - 1]) === 32 || c === 9 || c === 13)) e--;
          v = Number.NaN;
          if (!(kind === FIELD_NUMBER_OR_MISSING && isMissingToken(buf, s, e)) && bad < 0) bad = nf;
        } else if (kind === FIELD_NUMBER_OR_MISSING && isMissingCode(v)) v = Number.NaN;
        values[nf] = v;
      } else {
        while (i < n && (c = buf[i]) !== delim && c !== 10) i++;
        e = i;
        while (e > s && ((c = buf[e - 1]) === 32 || c === 9 || c === 13)) e--;
        if (nf < nk) values[nf] = Number.NaN;
      }
      if (nf < nk) {
        starts[nf] = s;
        ends[nf] = e;
      }
      nf++;
      if (i < n && buf[i] === delim) i++;
      else break;
    }
    this.fieldCount = nf;
    this.badField = bad;
    return i;
  }
}

/**
 * Checks that rows come as consecutive calendar days, advancing the expected date one day at a time (no Date
 * objects per row). Errors name the file and line.
 */
export class ConsecutiveDays {
  /** Day number of the first row; NaN before the first push. */
  startDay = Number.NaN;
  count = 0;
  private y = 0;
  private m = 0;
  private d = 0;

  constructor(private readonly file: string) {}

  /** Registers the date of the next row, throwing an InputError for an invalid date, a gap or a duplicate. */
  push(year: number, month: number, day: number, line: number): void {
    if (this.count === 0) {
      if (!isValidDate(year, month, day)) {
        throw new InputError(`${this.file}:${line}: invalid date ${year}-${month}-${day}`);
      }
      this.startDay = dayNumber(year, month, day);
    } else {
      let y = this.y;
      let m = this.m;
      let d = this.d + 1;
      if (d > 28 && d > daysInMonth(y, m)) {
        d = 1;
        if (++m > 12) {
          m = 1;
          y++;
        }
      }
      if (year !== y || month !== m || day !== d) {
        if (!isValidDate(year, month, day)) {
          throw new InputError(`${this.file}:${line}: invalid date ${year}-${month}-${day}`);
        }
        const expected = this.startDay + this.count;
        const found = dayNumber(year, month, day);
        const what =
          found > expected
            ? `gap in dates: expected ${isoDate(expected)}, found ${isoDate(found)} (${found - expected} day(s) missing)`
            : `dates not consecutive: expected ${isoDate(expected)}, found ${isoDate(found)} (duplicate or out of order)`;
        throw new InputError(`${this.file}:${line}: ${what}`);
      }
    }
    this.y = year;
    this.m = month;
    this.d = day;
    this.count++;
  }
}

/** A growable Float32Array of rows with a fixed number of columns. */
export class RowBuffer {
  private data: Float32Array;
  length = 0;

  constructor(
    readonly columns: number,
    initialRows: number,
  ) {
    this.data = new Float32Array(Math.max(16, initialRows) * columns);
  }

  /** Offset of a new row at the end (grows the storage when full). */
  push(): number {
    const o = this.length * this.columns;
    if (o + this.columns > this.data.length) {
      const bigger = new Float32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.length++;
    return o;
  }

  get array(): Float32Array {
    return this.data;
  }

  /** The rows, trimmed to length. */
  finish(): Float32Array {
    const used = this.length * this.columns;
    return used === this.data.length ? this.data : this.data.slice(0, used);
  }
}
