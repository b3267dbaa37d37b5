/**
 * Static-attribute tables shared by the CAMELS-US and Caravan readers: parsing a small delimited text table
 * (with double-quoted fields) keyed by gauge id, and picking named numeric columns for a list of basins across
 * several such tables.
 */
import { readFileSync } from 'node:fs';
import { type AttributeTable } from './types.js';
import { InputError } from '../util/errors.js';

/** One parsed attribute file: its header and its rows by gauge id (trimmed, leading zeros kept). */
export interface KeyedTable {
  file: string;
  header: string[];
  rows: Map<string, string[]>;
}

/** Splits one line on `delimiter`, honouring double-quoted fields ("" is a literal quote inside them). */
function splitQuoted(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const out: string[] = [];
  let field = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inQuotes) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else field += ch;
    } else if (ch === '"') inQuotes = true;
    else if (ch === delimiter) {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** Reads a delimited attribute file whose column `idColumn` holds the gauge id. */
export function readKeyedTable(file: string, delimiter: string, idColumn = 'gauge_id'): KeyedTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read attribute file ${file}: ${(err as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  const header = splitQuoted(lines[0].replace(/\r$/, ''), delimiter).map((h) => h.trim());
  const idIndex = header.indexOf(idColumn);
  if (idIndex < 0) throw new InputError(`${file}: no '${idColumn}' column in the header`);
  const rows = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const fields = splitQuoted(line, delimiter);
    if (fields.length !== header.length) {
      throw new InputError(`${file}:${i + 1}: expected ${header.length} fields, found ${fields.length}`);
    }
    const id = fields[idIndex].trim();
    if (rows.has(id)) throw new InputError(`${file}:${i + 1}: duplicate ${idColumn} '${id}'`);
    rows.set(id, fields);
  }
  return { file, header, rows };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Spellings of a missing attribute value (CAMELS writes NA, pandas an empty field). */
const MISSING = new Set(['', 'NA', 'NaN', 'nan']);

/**
 * Picks the numeric columns `names` for `basins` (in the order given) out of `tables`. A column is taken from the
 * first table that has it. NA or an empty field gives NaN; any other non-numeric value is an InputError naming file,
 * basin and column, as are an unknown column (listing the files searched) and a basin missing from a table.
 */
export function selectAttributes(tables: KeyedTable[], basins: string[], names: string[]): AttributeTable {
  const values = new Float64Array(basins.length * names.length);
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
      let v: number;
      if (MISSING.has(text)) v = Number.NaN;
      else if (NUMBER.test(text)) v = Number(text);
      else {
        throw new InputError(
          `${table.file}: basin '${basin}', attribute '${name}': not a number: '${text}'`,
        );
      }
      values[i * names.length + j] = v;
    });
  });
  return { basins: [...basins], names: [...names], values };
}
