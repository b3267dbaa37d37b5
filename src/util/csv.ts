/** A number for a CSV cell: up to `digits` significant digits, NaN as an empty cell. */
export function csvNumber(v: number, digits = 10): string {
  return Number.isNaN(v) ? '' : String(Number(v.toPrecision(digits)));
}
