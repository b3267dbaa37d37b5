/**
 * Byte-level building blocks for the hand-written data-file parsers: line and field splitting on a Buffer,
 * strict decimal parsing without substrings, and a check that rows are consecutive days.
 */
import { daysInMonth, dayNumber, isValidDate, isoDate } from '../util/dates.js';
import { InputError } from './types.js';

export const LF = 10;
export const CR = 13;
export const TAB = 9;
export const SPACE = 32;
export const COMMA = 44;

/** 10^0 .. 10^22: every one is exactly representable as a double. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Parses bytes [start, end) as a decimal number: `[+-]digits[.digits][(e|E)[+-]digits]` (digits may be absent on
 * one side of the point). Returns NaN when the text is not such a number; callers turn that into an error.
 * Short inputs (<= 15 significant digits, small exponent) take an exact fast path (one correctly rounded
 * multiplication or division, so the result equals parseFloat's); anything longer falls back to Number().
 */
export function parseNumberBytes(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  let c = i < end ? buf[i] : 0;
  if (c === 45 /* - */ || c === 43 /* + */) {
    negative = c === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fracDigits = 0;
  while (i < end) {
    c = buf[i] - 48;
    if (c < 0 || c > 9) break;
    mantissa = mantissa * 10 + c;
    digits++;
    i++;
  }
  if (i < end && buf[i] === 46 /* . */) {
    i++;
    while (i < end) {
      c = buf[i] - 48;
      if (c < 0 || c > 9) break;
      mantissa = mantissa * 10 + c;
      digits++;
      fracDigits++;
      i++;
    }
  }
  if (digits === 0) return NaN;
  let exponent = 0;
  if (i < end && (buf[i] === 101 || buf[i] === 69) /* e E */) {
    i++;
    let expNegative = false;
    if (i < end && (buf[i] === 45 || buf[i] === 43)) {
      expNegative = buf[i] === 45;
      i++;
    }
    const expStart = i;
    while (i < end) {
      c = buf[i] - 48;
      if (c < 0 || c > 9) break;
      exponent = exponent * 10 + c;
      i++;
    }
    if (i === expStart) return NaN;
    if (expNegative) exponent = -exponent;
  }
  if (i !== end) return NaN;
  const scale = exponent - fracDigits;
  let value: number;
  if (digits <= 15 && scale >= -22 && scale <= 22) {
    value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
  } else {
    value = Number(latin1(buf, start, end)); // the grammar has been checked, so Number() parses the same text
    return value;
  }
  return negative ? -value : value;
}

/** Parses bytes [start, end) as an unsigned decimal integer (digits only); -1 when it is not one. */
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

/** Whether bytes [start, end) are only spaces, tabs and carriage returns. */
export function isBlank(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== SPACE && c !== TAB && c !== CR) return false;
  }
  return true;
}

/**
 * Splits [start, end) on runs of spaces and tabs (leading/trailing runs ignored) and stores each field's bounds in
 * starts/ends (at most their length). Returns the number of fields, which may exceed the arrays' length.
 */
export function splitWhitespace(
  buf: Uint8Array,
  start: number,
  end: number,
  starts: Int32Array,
  ends: Int32Array,
): number {
  const cap = starts.length;
  let n = 0;
  let i = start;
  for (;;) {
    while (i < end && (buf[i] === SPACE || buf[i] === TAB)) i++;
    if (i >= end) return n;
    const s = i;
    while (i < end && buf[i] !== SPACE && buf[i] !== TAB) i++;
    if (n < cap) {
      starts[n] = s;
      ends[n] = i;
    }
    n++;
  }
}

/**
 * Splits [start, end) on a single-byte delimiter (no quoting), trimming spaces and tabs around each field.
 * Same contract as splitWhitespace; an empty line has one (empty) field.
 */
export function splitDelimited(
  buf: Uint8Array,
  start: number,
  end: number,
  delimiter: number,
  starts: Int32Array,
  ends: Int32Array,
): number {
  const cap = starts.length;
  let n = 0;
  let i = start;
  for (;;) {
    let s = i;
    while (i < end && buf[i] !== delimiter) i++;
    let e = i;
    while (s < e && (buf[s] === SPACE || buf[s] === TAB)) s++;
    while (e > s && (buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
    if (n < cap) {
      starts[n] = s;
      ends[n] = e;
    }
    n++;
    if (i >= end) return n;
    i++; // skip the delimiter
  }
}

/** Number of lines in a buffer (an upper bound on the number of data rows). */
export function countLines(buf: Uint8Array): number {
  let n = 0;
  let pos = 0;
  const b = buf as Buffer;
  for (;;) {
    const i = b.indexOf(LF, pos);
    if (i < 0) break;
    n++;
    pos = i + 1;
  }
  return pos < buf.length ? n + 1 : n;
}

/** Short display of a line for error messages. */
export function lineExcerpt(buf: Uint8Array, start: number, end: number): string {
  const text = latin1(buf, start, Math.min(end, start + 120)).replace(/\r$/, '');
  return end - start > 120 ? `${text}...` : text;
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
      let { y, m, d } = this;
      d++;
      if (d > daysInMonth(y, m)) {
        d = 1;
        m++;
        if (m > 12) {
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
