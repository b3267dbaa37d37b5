import { InputError } from '../util/errors.js';

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 (UTC) for a calendar date. */
export function dayNumber(year: number, month: number, day: number): number {
  return Math.round(Date.UTC(year, month - 1, day) / MS_PER_DAY);
}

/** ISO date string (YYYY-MM-DD) of a day number. */
export function isoDate(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Calendar parts of a day number. */
export function dateParts(day: number): { year: number; month: number; day: number } {
  const d = new Date(day * MS_PER_DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Parses neuralhydrology's DD/MM/YYYY date format; `what` names the key in errors. */
export function parseDdMmYyyy(text: string, what: string): number {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text.trim());
  if (!m) throw new InputError(`${what}: expected a date as DD/MM/YYYY, got '${text}'`);
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = dayNumber(y, mo, d);
  const back = dateParts(day);
  if (back.year !== y || back.month !== mo || back.day !== d) {
    throw new InputError(`${what}: '${text}' is not a valid calendar date`);
  }
  return day;
}

/** Parses an ISO date (YYYY-MM-DD); `what` names the file/line in errors. */
export function parseIsoDate(text: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text.trim());
  if (!m) throw new InputError(`${what}: expected a date as YYYY-MM-DD, got '${text}'`);
  return dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** Whether `year` is a Gregorian leap year. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in a month (1-12) of a year; 0 for a month outside 1..12. */
export function daysInMonth(year: number, month: number): number {
  if (month < 1 || month > 12) return 0;
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Whether (year, month, day) is a real calendar date (integers, month 1-12, day within the month). */
export function isValidDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    Number.isInteger(month) &&
    Number.isInteger(day) &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}
