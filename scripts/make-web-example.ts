/**
 * Writes web/example/, the browser page's bundled example: a model bundle exported from a demo run (the EA-LSTM that
 * `ealstm demo` trains on the five CAMELS-US basins of data/demo) and one of its basins in the `generic` dataset
 * layout, over the demo's test period (water years 1990-1999) and the seq_length-1 days before it that warm the
 * model up. Run from the repository root after a demo run:
 *
 *   node --import tsx scripts/make-web-example.ts <demo run dir> [basin]
 *
 * The values are those the CAMELS-US reader yields, as float32, written with the fewest digits that read back to the
 * same float32 (util/csv.ts float32Text), so `ealstm predict` on web/example/data sees the numbers the model saw.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDays, modelAttributes } from '../src/data/dataset.js';
import { exportRun } from '../src/run/export-bundle.js';
import { readRunConfig } from '../src/run/run-dir.js';
import { float32Text } from '../src/util/csv.js';
import { isoDate, parseDdMmYyyy } from '../src/util/dates.js';

const [runDir, basin = '01022500'] = process.argv.slice(2);
if (!runDir) throw new Error('usage: node --import tsx scripts/make-web-example.ts <demo run dir> [basin]');
const out = path.join(process.cwd(), 'web', 'example');
const config = readRunConfig(runDir);
const start = parseDdMmYyyy(config.test_start_date, 'test_start_date');
const end = parseDdMmYyyy(config.test_end_date, 'test_end_date');

// Only what this script writes is replaced (the README beside it is kept).
for (const name of ['demo.ealstm', 'data']) rmSync(path.join(out, name), { recursive: true, force: true });
mkdirSync(path.join(out, 'data', 'time_series'), { recursive: true });
mkdirSync(path.join(out, 'data', 'attributes'), { recursive: true });
exportRun(runDir, path.join(out, 'demo.ealstm'));

const [rows] = loadDays(config, [basin], { start, end, label: 'the test period' });
const d = config.dynamic_inputs.length;
const lines = [['date', ...config.dynamic_inputs, config.target_variables[0]].join(',')];
for (let r = 0; r < rows.rows; r++) {
  const values = Array.from(rows.inputs.subarray(r * d, (r + 1) * d), float32Text);
  lines.push([isoDate(rows.firstDay + r), ...values, float32Text(rows.target[r])].join(','));
}
writeFileSync(path.join(out, 'data', 'time_series', `${basin}.csv`), `${lines.join('\n')}\n`);

const attributes = modelAttributes(config, [basin]);
if (!attributes) throw new Error('the demo model takes static attributes; this run has none');
writeFileSync(
  path.join(out, 'data', 'attributes', 'attributes.csv'),
  `gauge_id,${attributes.names.join(',')}\n${basin},${Array.from(attributes.values, String).join(',')}\n`,
);
console.log(`wrote ${path.relative(process.cwd(), out)}: demo.ealstm and basin ${basin}, ${isoDate(rows.firstDay)}..${isoDate(end)}`);
