// Runs an ONNX model exported by `ealstm export --format onnx` on basin 01022500 of the bundled demo data for
// 01-05/11/2001 (any model trained on CAMELS-US daymet inputs and CAMELS attributes). The input names and
// seq_length come from the run directory (or model bundle) the model was exported from.
// Usage, from the repository root: node examples/onnx/predict_onnx.mjs MODEL.onnx RUN_DIR   (needs onnxruntime-node)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const CAMELS = 'data/demo/camels_us';
const BASIN = '01022500';
const [model, runDir] = process.argv.slice(2);
const scaler = JSON.parse(readFileSync(path.join(runDir, 'scaler.json'), 'utf8'));
const seq = Number(/^seq_length:\s*(\d+)/m.exec(readFileSync(path.join(runDir, 'config.yml'), 'utf8'))[1]);
const D = scaler.dynamic_inputs.length, S = scaler.static_attributes.length, n = 5;

// Forcing: 3 header lines, then a column-name line, then one row a day.
const forcingDir = path.join(CAMELS, 'basin_mean_forcing', 'daymet');
const huc = readdirSync(forcingDir).find((h) => readdirSync(path.join(forcingDir, h)).includes(`${BASIN}_lump_cida_forcing_leap.txt`));
const lines = readFileSync(path.join(forcingDir, huc, `${BASIN}_lump_cida_forcing_leap.txt`), 'utf8').trim().split('\n');
const columns = lines[3].trim().split(/\s+/).map((name) => scaler.dynamic_inputs.indexOf(name));
const rows = lines.slice(4).map((line) => line.trim().split(/\s+/).map(Number));
const day = rows.findIndex((r) => r[0] === 2001 && r[1] === 11 && r[2] === 1);
const xd = new Float32Array(n * seq * D); // window i: the seq days ending on day + i
for (let i = 0; i < n; i++)
  for (let k = 0; k < seq; k++)
    rows[day + i - seq + 1 + k].forEach((value, c) => {
      if (columns[c] >= 0) xd[(i * seq + k) * D + columns[c]] = value;
    });
const feeds = { x_d: new ort.Tensor('float32', xd, [n, seq, D]) };

if (S > 0) {
  // Attributes: the camels_*.txt tables (';'-separated, gauge_id first).
  const attributes = {};
  const tables = path.join(CAMELS, 'camels_attributes_v2.0');
  for (const table of readdirSync(tables).filter((f) => /^camels_.*\.txt$/.test(f))) {
    const [header, ...body] = readFileSync(path.join(tables, table), 'utf8').trim().split('\n').map((l) => l.split(';'));
    const row = body.find((r) => r[0] === BASIN);
    header.forEach((name, j) => (attributes[name] = row[j]));
  }
  const xs = new Float32Array(n * S);
  for (let i = 0; i < n; i++) xs.set(scaler.static_attributes.map((a) => Number(attributes[a])), i * S);
  feeds.x_s = new ort.Tensor('float32', xs, [n, S]);
}
const session = await ort.InferenceSession.create(model);
const { q } = await session.run(feeds);
console.log('q (mm/day), 01-05/11/2001:', Array.from(q.data));
