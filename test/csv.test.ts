/** The one CSV dialect (src/util/csv.ts): splitting, quoting, the missing-value rule and the table reader. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { csvField, csvNumber, isMissingCell, parseNumberCell, splitCsvLine } from '../src/util/csv.js';
import { readCsvTable } from '../src/util/csv-file.js';
import { InputError } from '../src/util/errors.js';

test('splitCsvLine: quotes, doubled quotes, other delimiters; csvField quotes what needs it', () => {
  assert.deepEqual(splitCsvLine('a,b,,c'), ['a', 'b', '', 'c']);
  assert.deepEqual(splitCsvLine('01,"NSE, KGE: constant ""flow""",x'), ['01', 'NSE, KGE: constant "flow"', 'x']);
  assert.deepEqual(splitCsvLine('gauge_id;"a;b";3', ';'), ['gauge_id', 'a;b', '3']);
  for (const text of ['plain', 'with,comma', 'with "quote"', 'two\nlines']) {
    const line = `x,${csvField(text)}`;
    if (!text.includes('\n')) assert.deepEqual(splitCsvLine(line), ['x', text]);
  }
  assert.equal(csvField('a,b'), '"a,b"');
});

test('one missing-value rule: empty and nan are missing; infinite is an error, or missing for metric files', () => {
  for (const cell of ['', '  ', 'nan', 'NaN', '-nan', '+NAN']) {
    assert.ok(isMissingCell(cell), cell);
    assert.ok(Number.isNaN(parseNumberCell(cell, 'f.csv', 3, 'NSE')), cell);
  }
  assert.equal(parseNumberCell(' 0.5 ', 'f.csv', 3, 'NSE'), 0.5);
  assert.throws(() => parseNumberCell('-inf', 'f.csv', 3, 'qsim'), (e: Error) => e instanceof InputError && e.message === "f.csv:3: column qsim: '-inf' is not a finite number");
  assert.throws(() => parseNumberCell('1e400', 'f.csv', 3, 'qsim'), /f\.csv:3: column qsim: '1e400' is not a finite number/);
  assert.throws(() => parseNumberCell('0x10', 'f.csv', 3, 'qsim'), /f\.csv:3: column qsim: '0x10' is not a number/);
  assert.throws(() => parseNumberCell('0.7x', 'f.csv', 4, 'NSE'), /f\.csv:4: column NSE: '0\.7x' is not a number/);
  assert.ok(Number.isNaN(parseNumberCell('-Infinity', 'f.csv', 3, 'NSE', { infinite: 'missing' })));
  // written back: a missing or infinite value is an empty cell
  assert.equal(csvNumber(Number.NaN), '');
  assert.equal(csvNumber(Number.NEGATIVE_INFINITY), '');
  assert.equal(csvNumber(1 / 3), '0.3333333333');
});

test('readCsvTable: header, rows with their line numbers, field-count errors naming file and line', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ealstm-csv-'));
  const file = path.join(dir, 't.csv');
  writeFileSync(file, '\uFEFFbasin,NSE\r\n01,0.5\r\n\r\n02,"0.6"\r\n');
  const t = readCsvTable(file, 'basin,NSE');
  assert.deepEqual(t.header, ['basin', 'NSE']);
  assert.deepEqual(t.rows, [{ line: 2, cells: ['01', '0.5'] }, { line: 4, cells: ['02', '0.6'] }]);
  writeFileSync(file, 'basin,NSE\n01,0.5,1\n');
  assert.throws(() => readCsvTable(file, 'basin,NSE'), /t\.csv:2: 3 fields, the header has 2/);
  writeFileSync(file, '');
  assert.throws(() => readCsvTable(file, 'basin,NSE'), /t\.csv: empty file \(expected a header basin,NSE\)/);
});
