import { type CsvTable, parseCsvTable } from './csv.js';
import { readTextLines } from './files.js';

/** Reads a CSV file with a header line (see parseCsvTable). */
export function readCsvTable(file: string, expected: string): CsvTable {
  return parseCsvTable(readTextLines(file), file, expected);
}
