/**
 * Writes data/generic-example/: the bundled CAMELS-US demo basins (data/demo) rewritten into the `generic` dataset
 * layout (src/data/generic.ts), once as CSV and once as netCDF-4, for water years 2000-2002. Run from the
 * repository root:
 *
 *   node --import tsx scripts/make-generic-example.ts
 *
 * The values are the ones the CAMELS-US reader yields (streamflow already converted from cfs to mm/day with the
 * basin area), as float32; the CSV writes each with the fewest digits that read back to the same float32, and the
 * netCDF files store float32, so a model trained on either copy sees exactly the numbers it sees on the originals.
 * Run through tsx (not plain .mjs) because it reads the originals with the project's own CAMELS-US reader.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import { readBasin } from '../src/data/cache.js';
import { csvField, float32Text, splitCsvLine } from '../src/util/csv.js';
import { dayNumber, isoDate } from '../src/util/dates.js';

const root = process.cwd();
const demo = path.join(root, 'data', 'demo');
const out = path.join(root, 'data', 'generic-example');
const FIRST_DAY = dayNumber(1999, 10, 1);
const LAST_DAY = dayNumber(2002, 9, 30);

/** CAMELS-US column -> generic variable name (netCDF names cannot hold '/') and its units. */
const VARIABLES: [string, string, string][] = [
  ['prcp(mm/day)', 'prcp', 'mm/day'],
  ['srad(W/m2)', 'srad', 'W/m2'],
  ['tmax(C)', 'tmax', 'degC'],
  ['tmin(C)', 'tmin', 'degC'],
  ['vp(Pa)', 'vp', 'Pa'],
  ['dayl(s)', 'dayl', 's'],
  ['swe(mm)', 'swe', 'mm'],
  ['QObs(mm/d)', 'qobs', 'mm/day'],
];

const basins = readFileSync(path.join(demo, 'basins.txt'), 'utf8').split('\n').map((b) => b.trim()).filter(Boolean);
const layouts = ['csv', 'netcdf'];
// Only the folders this script writes are replaced (the example's configs and README beside them are kept).
for (const layout of layouts) {
  rmSync(path.join(out, layout), { recursive: true, force: true });
  mkdirSync(path.join(out, layout, 'time_series'), { recursive: true });
}
await h5wasm.ready;

for (const basin of basins) {
  const series = readBasin({ dataset: 'camels_us', dataDir: path.join(demo, 'camels_us'), forcing: 'daymet' }, basin);
  const columns = VARIABLES.map(([camels]) => series.variables.indexOf(camels));
  const width = series.variables.length;
  const days = LAST_DAY - FIRST_DAY + 1;
  const data = VARIABLES.map((_, k) => {
    const column = new Float32Array(days);
    for (let r = 0; r < days; r++) column[r] = series.values[(FIRST_DAY - series.startDay + r) * width + columns[k]];
    return column;
  });

  const lines = [['date', ...VARIABLES.map(([, name]) => name)].join(',')];
  for (let r = 0; r < days; r++) lines.push([isoDate(FIRST_DAY + r), ...data.map((c) => float32Text(c[r]))].join(','));
  writeFileSync(path.join(out, 'csv', 'time_series', `${basin}.csv`), `${lines.join('\n')}\n`);

  // netCDF-4 as xarray writes it: a `date` dimension-scale variable and float32 variables attached to it.
  const file = new h5wasm.File(path.join(out, 'netcdf', 'time_series', `${basin}.nc`), 'w', { track_order: true });
  const date = file.create_dataset({ name: 'date', data: Int32Array.from({ length: days }, (_, r) => FIRST_DAY + r) });
  date.create_attribute('units', 'days since 1970-01-01');
  date.create_attribute('calendar', 'proleptic_gregorian');
  date.make_scale('date');
  VARIABLES.forEach(([, name, units], k) => {
    const v = file.create_dataset({ name, data: data[k], chunks: [days], compression: 'gzip', compression_opts: 4 });
    v.attach_scale(0, 'date');
    v.create_attribute('units', units);
    v.create_attribute('_FillValue', new Float32Array([Number.NaN]), [], '<f');
  });
  file.create_attribute('source', `CAMELS-US basin ${basin} (Daymet forcing, USGS streamflow), rewritten by scripts/make-generic-example.ts`);
  file.close();
}

// Attributes: each CAMELS table's rows of these basins, as a comma-separated file keyed by its first column.
const attributeDir = path.join(demo, 'camels_us', 'camels_attributes_v2.0');
for (const table of ['clim', 'geol', 'hydro', 'name', 'soil', 'topo', 'vege']) {
  const lines = readFileSync(path.join(attributeDir, `camels_${table}.txt`), 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  const rows = [lines[0], ...lines.slice(1).filter((l) => basins.includes(l.split(';')[0].trim()))];
  const csv = rows.map((l) => splitCsvLine(l, ';').map((f) => csvField(f.trim())).join(',')).join('\n');
  for (const layout of layouts) {
    mkdirSync(path.join(out, layout, 'attributes'), { recursive: true });
    writeFileSync(path.join(out, layout, 'attributes', `camels_${table}.csv`), `${csv}\n`);
  }
}
copyFileSync(path.join(demo, 'basins.txt'), path.join(out, 'basins.txt'));
console.log(`wrote ${basins.length} basins, ${isoDate(FIRST_DAY)}..${isoDate(LAST_DAY)}, to ${path.relative(root, out)}/{csv,netcdf}`);
