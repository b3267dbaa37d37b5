/**
 * Static-attribute tables shared by the CAMELS-US and Caravan readers: parsing a small delimited text table
 * (util/csv.ts splitCsvLine: double-quoted fields allowed) keyed by gauge id, and picking named numeric columns
 * for a list of basins across several such tables.
 */
import { cutShortError, lastValueCutShort, numberProblem } from './text-scan.js';
import { type AttributeTable, type MissingAttribute } from './types.js';
import { InputError } from '../util/errors.js';
import { DECIMAL_NUMBER, splitCsvLine } from '../util/csv.js';
import { missingValueRule, type MissingValueRule } from '../util/missing.js';

/** One parsed attribute file: its header and its rows by gauge id (trimmed, leading zeros kept). */
export interface KeyedTable {
  file: string;
  header: string[];
  rows: Map<string, string[]>;
}

/**
 * Parses the text of a delimited attribute file (`file` names it in errors) whose column `idColumn` (null: the first column, whatever its name) holds the
 * gauge id. A row with another field count than the header, a duplicated column or gauge id, and a last line cut
 * short are errors naming the line.
 */
export function parseKeyedTable(text: string, file: string, delimiter: string, idColumn: string | null = 'gauge_id'): KeyedTable {
  const lines = text.split('\n');
  const header = splitCsvLine(lines[0].replace(/^\uFEFF/, '').replace(/\r$/, ''), delimiter).map((h) => h.trim());
  const idIndex = idColumn === null ? 0 : header.indexOf(idColumn);
  if (idIndex < 0) throw new InputError(`${file}: no '${idColumn}' column in the header`);
  const idName = header[idIndex];
  const twice = header.find((h, j) => h !== '' && header.indexOf(h) !== j);
  if (twice !== undefined) throw new InputError(`${file}:1: column '${twice}' appears twice in the header`);
  const rows = new Map<string, string[]>();
  let previous: string[] | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line, delimiter);
    if (fields.length !== header.length) {
      throw new InputError(`${file}:${i + 1}: expected ${header.length} fields, found ${fields.length}`);
    }
    const last = fields[fields.length - 1];
    const lastLineWithoutEnd = i === lines.length - 1;
    if (lastLineWithoutEnd && previous && lastValueCutShort(last, previous[previous.length - 1])) {
      throw cutShortError(file, i + 1, last, previous[previous.length - 1]);
    }
    const id = fields[idIndex].trim();
    if (rows.has(id)) throw new InputError(`${file}:${i + 1}: duplicate ${idName} '${id}'`);
    rows.set(id, fields);
    previous = fields;
  }
  return { file, header, rows };
}


/**
 * Picks the numeric columns `names` for `basins` (in the order given) out of `tables`. A column is taken from the
 * first table that has it. A missing value (util/missing.ts: empty, NA, NaN, -999, ...; `rule` adds a dataset's
 * declared codes) gives NaN and is listed in `missing`; any other non-numeric value, or one beyond the float64
 * range, is an InputError naming file, basin and column, as are an unknown column (listing the files searched)
 * and a basin missing from a table.
 */
export function selectAttributes(
  tables: KeyedTable[],
  basins: string[],
  names: string[],
  rule: MissingValueRule = missingValueRule([]),
): AttributeTable {
  const values = new Float64Array(basins.length * names.length);
  const missing: MissingAttribute[] = [];
  names.forEach((name, j) => {
    const table = tables.find((t) => t.header.includes(name));
    if (!table) {
      throw new InputError(
        `attribute '${name}' not found; searched ${tables.length} file(s): ${tables.map((t) => t.file).join(', ')}`,
      );
    }
    const col = table.header.indexOf(name);
    basins.forEach((basin, i) => {
      const row = table.rows.get(basin);
      if (!row) throw new InputError(`basin '${basin}' not found in attribute file ${table.file}`);
      const text = row[col].trim();
      let v = DECIMAL_NUMBER.test(text) ? Number(text) : Number.NaN;
      if (rule.isMissingText(text) || (!Number.isNaN(v) && rule.isMissingNumber(v))) {
        v = Number.NaN;
        missing.push({ basin, name, file: table.file, text });
      } else if (!Number.isFinite(v)) {
        const problem = DECIMAL_NUMBER.test(text) ? `number out of range: '${text}'` : numberProblem(text);
        throw new InputError(`${table.file}: basin '${basin}', attribute '${name}': ${problem}`);
      }
      values[i * names.length + j] = v;
    });
  });
  return { basins: [...basins], names: [...names], values, missing: inTableOrder(missing, basins, names) };
}

/** Missing cells sorted as `values` is (by basin, then attribute). */
export function inTableOrder(missing: MissingAttribute[], basins: string[], names: string[]): MissingAttribute[] {
  const row = new Map(basins.map((b, i) => [b, i]));
  const column = new Map(names.map((n, j) => [n, j]));
  return missing.sort((a, b) => (row.get(a.basin) ?? 0) - (row.get(b.basin) ?? 0) || (column.get(a.name) ?? 0) - (column.get(b.name) ?? 0));
}

/**
 * Throws an InputError naming the basin, the attribute and the file unless every cell of `table` holds a value:
 * a model cannot be fed, nor its scaler fitted on, a missing static attribute.
 */
export function requireAllAttributes(table: AttributeTable): void {
  if (table.missing.length === 0) return;
  const first = table.missing[0];
  const others = table.missing.length - 1;
  throw new InputError(
    `basin ${first.basin}: static attribute '${first.name}' is missing (${first.text === '' ? 'an empty cell' : `'${first.text}'`}` +
      ` in ${first.file})${others > 0 ? `, and ${others} other missing attribute value(s)` : ''}; every basin used needs` +
      ' all its static attributes: fill it in, remove the basin from the basin file, or remove the attribute from static_attributes',
  );
}
