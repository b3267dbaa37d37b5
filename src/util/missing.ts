/**
 * The project's one missing-value rule. In memory a missing value is always NaN; these functions decide which
 * text and which numbers in the files read are missing values.
 *
 * - Text: an empty cell, `NA` (R, CAMELS attribute tables), `null`/`None` (JSON, Python), or `nan` in any case
 *   with an optional sign (pandas, numpy). Used for every cell of every table read: data files, attribute tables,
 *   results files, the analyses' basin tables.
 * - Codes: in the values of input data files (forcing, streamflow, Caravan time series, static attributes) the
 *   numbers -999 and -9999 also mean "missing": CAMELS writes -999, and -9999 is the other common code of
 *   hydrological data. No variable of these datasets can take either value (rain, radiation, vapour pressure,
 *   discharge and snow are >= 0; temperatures are > -100 C; elevations > -500 m). Not applied to results files
 *   (a metric may be any negative number).
 */

/** The numbers that mean "missing" in input data files. */
export const MISSING_VALUE_CODES: readonly number[] = [-999, -9999];

/** Whether a table cell's text is a missing value (see the module comment). */
export function isMissingText(text: string): boolean {
  const t = text.trim();
  return t === '' || t === 'NA' || t === 'null' || t === 'None' || /^[+-]?nan$/i.test(t);
}

/** Whether a number read from an input data file is a missing-value code. */
export function isMissingCode(value: number): boolean {
  return value === -999 || value === -9999;
}

/** A value read from an input data file, with missing-value codes (and NaN) as NaN. */
export function inputValue(value: number): number {
  return value === -999 || value === -9999 ? Number.NaN : value;
}

/**
 * The missing-value rule of a dataset whose config declares more codes (`missing_values` of `dataset: generic`),
 * merged with the rule above: a cell is missing when its text is a missing text, or equals (trimmed) a declared
 * code, or is a number equal to -999, -9999 or a declared numeric code (so that a declared `-99` also matches
 * `-99.0`).
 */
export interface MissingValueRule {
  /** Whether a cell's trimmed text, before any number parsing, is a missing value. */
  isMissingText(text: string): boolean;
  /** Whether a number read from a data file is a missing-value code. */
  isMissingNumber(value: number): boolean;
}

export function missingValueRule(declared: readonly string[]): MissingValueRule {
  const texts = new Set(declared.map((d) => d.trim()));
  const numbers = new Set(
    declared.filter((d) => d.trim() !== '').map(Number).filter((v) => Number.isFinite(v)),
  );
  return {
    isMissingText: (text) => isMissingText(text) || texts.has(text.trim()),
    isMissingNumber: (value) => Number.isNaN(value) || isMissingCode(value) || numbers.has(value),
  };
}
