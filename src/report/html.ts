/**
 * The run report: one self-contained HTML file (figures inlined, no external URLs) with the run's settings, its
 * training log, the evaluation summary, the NSE ECDF and map, a sortable per-basin table and the hydrographs.
 * The figures are also written as SVG and PNG files to <runDir>/<period>/figures/.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadAttributes } from '../data/cache.js';
import { dataSource, type Period } from '../data/dataset.js';
import { InputError } from '../util/errors.js';
import { configFile, type EpochLog, readRunConfig, readTrainLog } from '../run/run-dir.js';
import { median } from '../util/numeric.js';
import { writeFileAtomic } from '../util/files.js';
import { ecdfFigure, hydrographFigure, lossFigure, nseMapFigure } from '../render/figures.js';
import { renderFigure } from '../render/render.js';

/** Hydrographs: all basins when there are at most this many... */
export const ALL_HYDROGRAPHS_UP_TO = 40;
/** ...otherwise this many, spread evenly over the NSE ranking (best, worst and those between). */
export const HYDROGRAPH_CAP = 30;

export interface ReportOptions {
  period?: Period;
  /** Override the hydrograph cap (0: none). */
  maxHydrographs?: number;
  /** Called before each figure is rendered (for progress output). */
  onFigure?: (name: string, done: number, total: number) => void;
}

export interface MetricsTable {
  columns: string[];
  rows: { basin: string; values: Record<string, number> }[];
}

export interface Hydrograph {
  dates: string[];
  qobs: number[];
  qsim: number[];
}

export interface RunResults {
  runDir: string;
  period: Period;
  periodDir: string;
  predictionsDir: string;
  metrics: MetricsTable;
  /** Basins of metrics.csv that have a predictions/<basin>.csv. */
  withPredictions: string[];
  trainLog: EpochLog[];
  /** The raw config.yml mapping (null if unreadable); for an ensemble directory, its first member's. */
  rawConfig: Record<string, unknown> | null;
  /** The member run directories when runDir is an ensemble directory (ensemble.json from `ealstm ensemble`). */
  ensembleMembers: string[] | null;
  /** Basin coordinates, or the reason why there are none. */
  coordinates: Map<string, { lat: number; lon: number }> | string;
}

export interface FigureFiles {
  name: string;
  svg: string;
  png: string;
  /** SVG markup, for inlining. */
  markup: string;
}

export interface FiguresResult {
  figuresDir: string;
  ecdf: FigureFiles;
  map: FigureFiles | null;
  mapNote: string | null;
  loss: FigureFiles | null;
  hydrographs: { basin: string; figure: FigureFiles }[];
  /** Which hydrographs were drawn, in words. */
  hydrographNote: string;
}

function checkPeriod(period: string): Period {
  if (period !== 'test' && period !== 'train') throw new InputError(`--period must be test or train, got '${period}'`);
  return period;
}

/** Parses metrics.csv (basin,NSE,...; an empty cell is NaN). */
export function readMetricsCsv(file: string): MetricsTable {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new InputError(`${file}: empty file (expected a header basin,NSE,...)`);
  const header = lines[0].split(',').map((h) => h.trim());
  if (header[0] !== 'basin' || !header.includes('NSE')) throw new InputError(`${file}:1: expected a header 'basin,NSE,...', got '${lines[0]}'`);
  const columns = header.slice(1);
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== header.length) throw new InputError(`${file}:${i + 2}: expected ${header.length} fields, got ${cells.length}`);
    const values: Record<string, number> = {};
    columns.forEach((c, j) => {
      const cell = cells[j + 1].trim();
      values[c] = cell === '' || cell.toLowerCase() === 'nan' ? Number.NaN : Number(cell);
      if (Number.isNaN(values[c]) && cell !== '' && cell.toLowerCase() !== 'nan') throw new InputError(`${file}:${i + 2}: ${c} '${cell}' is not a number`);
    });
    return { basin: cells[0].trim(), values };
  });
  return { columns, rows };
}

/** Parses predictions/<basin>.csv (date,qobs,qsim). */
export function readPredictionsCsv(file: string): Hydrograph {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines[0]?.trim() !== 'date,qobs,qsim') throw new InputError(`${file}:1: expected the header 'date,qobs,qsim'`);
  const out: Hydrograph = { dates: [], qobs: [], qsim: [] };
  const num = (s: string | undefined) => (s === undefined || s.trim() === '' ? Number.NaN : Number(s));
  for (let i = 1; i < lines.length; i++) {
    const [date, qobs, qsim] = lines[i].split(',');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date ?? '')) throw new InputError(`${file}:${i + 1}: expected a date YYYY-MM-DD, got '${date}'`);
    out.dates.push(date);
    out.qobs.push(num(qobs));
    out.qsim.push(num(qsim));
  }
  return out;
}

/**
 * Reads what a report needs from an evaluated run directory. Throws InputError when the run has no
 * <period>/metrics.csv (run `ealstm evaluate` first) or no predictions.
 */
export function readRunResults(runDir: string, periodName: string = 'test'): RunResults {
  const period = checkPeriod(periodName);
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new InputError(`run directory ${runDir} does not exist`);
  const ensembleMembers = readEnsembleMembers(runDir);
  // The settings (and basin coordinates) of an ensemble are those of its first member that still has them.
  const configDir = ensembleMembers ? ensembleMembers.find((m) => existsSync(configFile(m))) : runDir;
  if (!configDir || !existsSync(configFile(configDir))) {
    throw new InputError(
      ensembleMembers
        ? `ensemble directory ${runDir}: none of its members has a config.yml`
        : `run directory ${runDir}: no config.yml (is this a run directory?)`,
    );
  }
  const periodDir = path.join(runDir, period);
  const metricsFile = path.join(periodDir, 'metrics.csv');
  if (!existsSync(metricsFile)) {
    throw new InputError(
      `run directory ${runDir}: no ${period}/metrics.csv; run \`ealstm evaluate --run-dir ${runDir} --period ${period}\` first`,
    );
  }
  const predictionsDir = path.join(periodDir, 'predictions');
  const predictionFiles = existsSync(predictionsDir) && statSync(predictionsDir).isDirectory() ? readdirSync(predictionsDir).filter((f) => f.endsWith('.csv')) : [];
  if (predictionFiles.length === 0) {
    throw new InputError(
      `run directory ${runDir}: no predictions in ${predictionsDir} (expected <basin>.csv files); run \`ealstm evaluate --run-dir ${runDir} --period ${period}\` again`,
    );
  }
  const metrics = readMetricsCsv(metricsFile);
  if (metrics.rows.length === 0) throw new InputError(`${metricsFile}: no basins`);
  const available = new Set(predictionFiles.map((f) => f.slice(0, -4)));
  const withPredictions = metrics.rows.map((r) => r.basin).filter((b) => available.has(b));

  let rawConfig: Record<string, unknown> | null = null;
  try {
    const parsed = parseYaml(readFileSync(configFile(configDir), 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) rawConfig = parsed as Record<string, unknown>;
  } catch {
    rawConfig = null;
  }

  let coordinates: RunResults['coordinates'];
  try {
    const config = readRunConfig(configDir);
    const basins = metrics.rows.map((r) => r.basin);
    const table = loadAttributes(dataSource(config), basins, ['gauge_lat', 'gauge_lon']);
    coordinates = new Map();
    table.basins.forEach((b, i) => {
      (coordinates as Map<string, { lat: number; lon: number }>).set(b, { lat: table.values[i * 2], lon: table.values[i * 2 + 1] });
    });
  } catch (err) {
    coordinates = `no map: the basin coordinates (gauge_lat, gauge_lon) could not be read (${(err as Error).message.split('\n')[0]})`;
  }

  let trainLog: EpochLog[] = [];
  try {
    trainLog = ensembleMembers ? [] : readTrainLog(runDir);
  } catch {
    trainLog = [];
  }
  return { runDir, period, periodDir, predictionsDir, metrics, withPredictions, trainLog, rawConfig, ensembleMembers, coordinates };
}

/** The members listed in <dir>/ensemble.json (written by `ealstm ensemble`), or null when there is none. */
function readEnsembleMembers(dir: string): string[] | null {
  const file = path.join(dir, 'ensemble.json');
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { members?: unknown };
    if (!Array.isArray(info.members) || info.members.length === 0) throw new Error('no members list');
    return info.members.map((m) => path.resolve(dir, String(m)));
  } catch (err) {
    throw new InputError(`${file}: not a valid ensemble description (${(err as Error).message})`);
  }
}

/** Which basins get a hydrograph: all up to ALL_HYDROGRAPHS_UP_TO, else `cap` spread over the NSE ranking. */
export function selectHydrographBasins(results: RunResults, cap?: number): { basins: string[]; note: string } {
  const nse = new Map(results.metrics.rows.map((r) => [r.basin, r.values.NSE]));
  const ranked = [...results.withPredictions].sort((a, b) => {
    const x = nse.get(a) ?? Number.NaN;
    const y = nse.get(b) ?? Number.NaN;
    if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
    if (Number.isNaN(y)) return -1;
    return y - x;
  });
  const missing = results.metrics.rows.length - results.withPredictions.length;
  const missingNote = missing > 0 ? ` ${missing} basin(s) of metrics.csv have no predictions file.` : '';
  const limit = cap ?? (ranked.length <= ALL_HYDROGRAPHS_UP_TO ? ranked.length : HYDROGRAPH_CAP);
  if (limit <= 0 || limit >= ranked.length) {
    return { basins: ranked, note: `All ${ranked.length} basins, from the highest to the lowest NSE.${missingNote}` };
  }
  const picked: string[] = [];
  for (let i = 0; i < limit; i++) {
    const index = limit === 1 ? 0 : Math.round((i * (ranked.length - 1)) / (limit - 1));
    if (picked[picked.length - 1] !== ranked[index]) picked.push(ranked[index]);
  }
  return {
    basins: picked,
    note: `${picked.length} of ${ranked.length} basins, spread evenly over the NSE ranking (the best, the worst and every ~${Math.round(ranked.length / limit)}th basin between), from the highest to the lowest NSE.${missingNote}`,
  };
}

function modelName(raw: Record<string, unknown> | null, ensembleMembers: string[] | null = null): string {
  const m = raw?.model;
  const name = m === 'ealstm' ? 'EA-LSTM' : m === 'lstm' ? 'LSTM' : typeof m === 'string' ? m : 'model';
  return ensembleMembers ? `${name} ensemble of ${ensembleMembers.length}` : name;
}

function figure(name: string, spec: object, dir: string): FigureFiles {
  const { svg, png } = renderFigure(spec);
  const base = path.join(dir, name);
  writeFileAtomic(`${base}.svg`, svg);
  writeFileAtomic(`${base}.png`, png);
  return { name, svg: `${base}.svg`, png: `${base}.png`, markup: svg };
}

/** Renders all figures of a run to <runDir>/<period>/figures/ (SVG and PNG). */
export function writeRunFigures(results: RunResults, options: ReportOptions = {}): FiguresResult {
  const figuresDir = path.join(results.periodDir, 'figures');
  mkdirSync(figuresDir, { recursive: true });
  const selection = selectHydrographBasins(results, options.maxHydrographs);
  const total = 3 + selection.basins.length;
  let done = 0;
  const progress = (name: string) => options.onFigure?.(name, done++, total);
  const nses = results.metrics.rows.map((r) => r.values.NSE);
  const model = modelName(results.rawConfig, results.ensembleMembers);
  const periodLabel = results.period === 'test' ? 'test period' : 'training period';

  progress('nse_ecdf');
  const ecdf = figure('nse_ecdf', ecdfFigure([{ name: model, values: nses }], { title: `NSE, ${periodLabel}: cumulative distribution over basins` }), figuresDir);

  progress('nse_map');
  let map: FigureFiles | null = null;
  let mapNote: string | null = null;
  if (typeof results.coordinates === 'string') {
    mapNote = results.coordinates;
  } else {
    const coords = results.coordinates;
    const points = results.metrics.rows.map((r) => ({ basin: r.basin, lat: coords.get(r.basin)?.lat ?? Number.NaN, lon: coords.get(r.basin)?.lon ?? Number.NaN, value: r.values.NSE }));
    map = figure('nse_map', nseMapFigure(points, { title: `NSE per basin, ${periodLabel}` }), figuresDir);
  }

  progress('train_loss');
  const loss = results.trainLog.length > 0 ? figure('train_loss', lossFigure(results.trainLog, { lossName: lossName(results.rawConfig) }), figuresDir) : null;

  const nseOf = new Map(results.metrics.rows.map((r) => [r.basin, r.values.NSE]));
  const hydrographs = selection.basins.map((basin) => {
    progress(`hydrograph_${basin}`);
    const h = readPredictionsCsv(path.join(results.predictionsDir, `${basin}.csv`));
    const nse = nseOf.get(basin) ?? Number.NaN;
    const title = `Basin ${basin}: NSE ${Number.isFinite(nse) ? nse.toFixed(3) : 'n/a'} (${model}, ${periodLabel})`;
    return { basin, figure: figure(`hydrograph_${basin}`, hydrographFigure(basin, h.dates, h.qobs, h.qsim, title), figuresDir) };
  });
  options.onFigure?.('done', total, total);
  return { figuresDir, ecdf, map, mapNote, loss, hydrographs, hydrographNote: selection.note };
}

function lossName(raw: Record<string, unknown> | null): string | undefined {
  const loss = raw?.loss;
  return typeof loss === 'string' ? loss : 'NSE';
}

/** `ealstm figures`: the figures only. */
export function writeFigures(runDir: string, options: ReportOptions = {}): FiguresResult {
  return writeRunFigures(readRunResults(runDir, options.period ?? 'test'), options);
}

// ---------------------------------------------------------------------------------------------------- HTML

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Makes the ids of an inline SVG unique in the page (vega numbers its clip paths per process). */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id) => `href="#${prefix}-${id}"`);
}

function inlineSvg(fig: FigureFiles, label: string): string {
  const svg = prefixSvgIds(fig.markup, fig.name).replace(/^<svg\b/, `<svg role="img" aria-label="${esc(label)}"`);
  return `<figure class="chart">${svg}</figure>`;
}

function svgImage(fig: FigureFiles, alt: string): string {
  const uri = `data:image/svg+xml;base64,${Buffer.from(fig.markup, 'utf8').toString('base64')}`;
  return `<img src="${uri}" alt="${esc(alt)}" decoding="async">`;
}

const fmt = (v: number | undefined, digits = 3) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

function mean(values: number[]): number {
  const f = values.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Number.NaN;
}

function finiteMedian(values: number[]): number {
  return median(values.filter(Number.isFinite));
}

const METRIC_NOTES: Record<string, string> = {
  NSE: 'Nash-Sutcliffe efficiency (1 is perfect, 0 is as good as the mean of the observations)',
  alpha_nse: 'ratio of the standard deviations, simulated / observed (1 is perfect)',
  beta_nse: 'difference of the means divided by the standard deviation of the observations (0 is perfect)',
  FHV: 'percent bias of the peak flow volume, top 2% of the flow duration curve (0 is perfect)',
  FMS: 'percent bias of the slope of the flow duration curve between 20% and 70% (0 is perfect)',
  FLV: 'percent bias of the low flow volume, bottom 30% of the flow duration curve (0 is perfect)',
  KGE: 'Kling-Gupta efficiency (1 is perfect)',
};

const DIGITS: Record<string, number> = { FHV: 1, FMS: 1, FLV: 1 };

const CONFIG_GROUPS: { title: string; keys: string[] }[] = [
  { title: 'Model', keys: ['experiment_name', 'model', 'hidden_size', 'seq_length', 'initial_forget_bias', 'output_dropout'] },
  {
    title: 'Data',
    keys: ['dataset', 'data_dir', 'forcings', 'dynamic_inputs', 'static_attributes', 'target_variables', 'train_basin_file', 'test_basin_file'],
  },
  { title: 'Periods', keys: ['train_start_date', 'train_end_date', 'test_start_date', 'test_end_date'] },
  { title: 'Training', keys: ['loss', 'learning_rate', 'batch_size', 'epochs', 'clip_gradient_norm', 'seed', 'backend', 'num_workers'] },
];

function configValue(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => String(x)).join(', ') || '(none)';
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${String(x)}`)
      .join(', ');
  }
  return v === undefined || v === null ? '(not set)' : String(v);
}

function basinCount(file: unknown): string {
  if (typeof file !== 'string') return '';
  try {
    const n = readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean).length;
    return ` (${n} basins)`;
  } catch {
    return '';
  }
}

function configTable(raw: Record<string, unknown> | null): string {
  if (!raw) return '<p class="note">config.yml could not be read.</p>';
  const shown = new Set<string>();
  const rows: string[] = [];
  for (const group of CONFIG_GROUPS) {
    const present = group.keys.filter((k) => k in raw);
    if (present.length === 0) continue;
    rows.push(`<tr class="group"><th colspan="2">${esc(group.title)}</th></tr>`);
    for (const k of present) {
      shown.add(k);
      const extra = k.endsWith('_basin_file') ? basinCount(raw[k]) : '';
      rows.push(`<tr><td><code>${esc(k)}</code></td><td>${esc(configValue(raw[k]) + extra)}</td></tr>`);
    }
  }
  const rest = Object.keys(raw).filter((k) => !shown.has(k));
  if (rest.length) {
    rows.push('<tr class="group"><th colspan="2">Other</th></tr>');
    for (const k of rest) rows.push(`<tr><td><code>${esc(k)}</code></td><td>${esc(configValue(raw[k]))}</td></tr>`);
  }
  return `<table class="config"><tbody>${rows.join('\n')}</tbody></table>`;
}

function trainLogSection(log: EpochLog[], loss: FigureFiles | null, members: string[] | null): string {
  if (members) {
    return `<p>An ensemble: the mean of the simulations of ${members.length} runs (their training logs are in their run directories):</p>
<ul>${members.map((m) => `<li><code>${esc(m)}</code></li>`).join('')}</ul>`;
  }
  if (log.length === 0) return '<p class="note">No training log (train_log.jsonl) in the run directory.</p>';
  const total = log.reduce((a, e) => a + (e.seconds ?? 0), 0);
  const rows = log
    .map(
      (e) =>
        `<tr><td>${e.epoch}</td><td>${fmt(e.loss, 5)}</td><td>${esc(e.lr ?? '')}</td><td>${fmt(e.seconds, 1)}</td><td>${esc(e.samples ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<div class="side-by-side">
${loss ? inlineSvg(loss, 'training loss per epoch') : ''}
<table class="log"><thead><tr><th>epoch</th><th>loss</th><th>learning rate</th><th>seconds</th><th>samples</th></tr></thead>
<tbody>${rows}</tbody></table>
</div>
<p class="note">${log.length} epochs, ${total < 120 ? `${fmt(total, 1)} s` : `${fmt(total / 60, 1)} min`} of training.</p>`;
}

function summarySection(results: RunResults): string {
  const rows = results.metrics.rows;
  const nse = rows.map((r) => r.values.NSE);
  const finite = nse.filter(Number.isFinite);
  const items: [string, string][] = [
    ['basins', String(rows.length)],
    ['mean NSE', fmt(mean(nse))],
    ['median NSE', fmt(finiteMedian(nse))],
    ['basins with NSE &le; 0', `${finite.filter((v) => v <= 0).length}`],
  ];
  if (finite.length < nse.length) items.push(['basins without an NSE', String(nse.length - finite.length)]);
  for (const c of results.metrics.columns) {
    if (c === 'NSE') continue;
    items.push([`median ${esc(c)}`, fmt(finiteMedian(rows.map((r) => r.values[c])), DIGITS[c] ?? 3)]);
  }
  return `<table class="summary"><tbody>${items.map(([k, v]) => `<tr><th scope="row">${k}</th><td>${v}</td></tr>`).join('\n')}</tbody></table>`;
}

function metricsTable(results: RunResults, shown: Set<string>): string {
  const cols = results.metrics.columns;
  const head = `<tr><th scope="col" data-type="text">basin</th>${cols.map((c) => `<th scope="col" data-type="number" title="${esc(METRIC_NOTES[c] ?? c)}">${esc(c)}</th>`).join('')}</tr>`;
  const body = results.metrics.rows
    .map((r) => {
      const name = shown.has(r.basin) ? `<a href="#hydrograph-${esc(r.basin)}">${esc(r.basin)}</a>` : esc(r.basin);
      const cells = cols
        .map((c) => {
          const v = r.values[c];
          const cls = c === 'NSE' && Number.isFinite(v) && v <= 0 ? ' class="bad"' : '';
          return `<td data-value="${Number.isFinite(v) ? v : ''}"${cls}>${fmt(v, DIGITS[c] ?? 3)}</td>`;
        })
        .join('');
      return `<tr><td data-value="${esc(r.basin)}">${name}</td>${cells}</tr>`;
    })
    .join('\n');
  const notes = cols
    .filter((c) => METRIC_NOTES[c])
    .map((c) => `<dt>${esc(c)}</dt><dd>${esc(METRIC_NOTES[c])}</dd>`)
    .join('');
  return `<p class="note">Click a column header to sort (again to reverse). Basins with NSE &le; 0 are marked red.</p>
<div class="table-wrap"><table id="metrics" class="sortable"><thead>${head}</thead><tbody>
${body}
</tbody></table></div>
<dl class="metric-notes">${notes}</dl>`;
}

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid #ddd; padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
.meta { color: #555; margin: 0 0 1rem; word-break: break-all; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .6rem 0 0; }
a { color: #1f5fa8; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .25rem .6rem; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
table.config td:first-child { white-space: nowrap; }
table.config td:last-child { word-break: break-word; }
table.config tr.group th { background: #f3f3f3; font-weight: 600; padding-top: .45rem; }
table.summary th { font-weight: normal; color: #444; }
table.summary td, table.log td, #metrics td { text-align: right; }
#metrics td:first-child { text-align: left; }
#metrics thead th { position: sticky; top: 0; background: #f3f3f3; cursor: pointer; user-select: none; white-space: nowrap; }
#metrics thead th:hover { background: #e6eefa; }
#metrics thead th::after { content: " \\2195"; color: #aaa; font-size: .8em; }
#metrics thead th[aria-sort="ascending"]::after { content: " \\25B2"; color: #333; }
#metrics thead th[aria-sort="descending"]::after { content: " \\25BC"; color: #333; }
#metrics tbody tr:hover { background: #f7f9fc; }
td.bad { color: #c0392b; font-weight: 600; }
.table-wrap { max-height: 34rem; overflow: auto; border: 1px solid #ddd; }
#metrics { width: 100%; }
figure.chart { margin: .5rem 0; }
figure.chart svg, .hydrograph img { max-width: 100%; height: auto; display: block; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.note { color: #555; font-size: .92rem; }
.metric-notes { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; font-size: .88rem; color: #555; }
.metric-notes dt { font-family: monospace; }
.metric-notes dd { margin: 0; }
.hydrograph { margin: 1rem 0 1.6rem; }
code { font-size: .9em; }
`;

const SORT_SCRIPT = `
(function () {
  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.getAttribute('data-value');
    if (v === null) v = cell.textContent.trim();
    if (!numeric) return v;
    return v === '' ? NaN : Number(v);
  }
  function sortTable(table, col, th) {
    var header = table.tHead.rows[0];
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    for (var i = 0; i < header.cells.length; i++) header.cells[i].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, col, numeric), y = cellKey(b, col, numeric);
      if (numeric) {
        if (isNaN(x)) return isNaN(y) ? 0 : 1; // missing values always last
        if (isNaN(y)) return -1;
        return ascending ? x - y : y - x;
      }
      return ascending ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x));
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    var header = table.tHead.rows[0];
    Array.prototype.forEach.call(header.cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortTable(table, col, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortTable(table, col, th); }
      });
    });
  });
})();
`;

/** Builds the report page from the results and rendered figures. */
export function reportHtml(results: RunResults, figures: FiguresResult): string {
  const raw = results.rawConfig;
  const model = modelName(raw, results.ensembleMembers);
  const name = typeof raw?.experiment_name === 'string' ? raw.experiment_name : path.basename(results.runDir);
  const periodLabel = results.period === 'test' ? 'test period' : 'training period';
  const start = raw?.[`${results.period}_start_date`];
  const end = raw?.[`${results.period}_end_date`];
  const shown = new Set(figures.hydrographs.map((h) => h.basin));
  const hydrographs = figures.hydrographs
    .map(
      (h) => `<section class="hydrograph" id="hydrograph-${esc(h.basin)}"><h3>Basin ${esc(h.basin)}</h3>
${svgImage(h.figure, `observed and simulated discharge of basin ${h.basin}`)}</section>`,
    )
    .join('\n');
  const mapPart = figures.map
    ? `${inlineSvg(figures.map, 'map of NSE per basin')}<p class="note">Colour: NSE, clamped to [0, 1]; red crosses: NSE &lt; 0.</p>`
    : `<p class="note">${esc(figures.mapNote ?? 'no map')}</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(name)}: ${esc(model)} report (${esc(periodLabel)})</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(name)}: ${esc(model)}, ${esc(periodLabel)}</h1>
<p class="meta">Run directory <code>${esc(path.resolve(results.runDir))}</code><br>
${esc(periodLabel)}${start && end ? ` ${esc(start)} to ${esc(end)}` : ''}, ${results.metrics.rows.length} basins. Report written ${esc(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC.
Figures as SVG and PNG: <code>${esc(path.resolve(figures.figuresDir))}</code></p>
<nav><ul>
<li><a href="#summary">Summary</a></li><li><a href="#config">Settings</a></li><li><a href="#training">Training</a></li>
<li><a href="#ecdf">NSE distribution</a></li><li><a href="#map">Map</a></li><li><a href="#basins">Per-basin metrics</a></li><li><a href="#hydrographs">Hydrographs</a></li>
</ul></nav>

<h2 id="summary">Summary</h2>
${summarySection(results)}

<h2 id="config">Settings (config.yml${results.ensembleMembers ? ' of the first member' : ''})</h2>
${configTable(raw)}

<h2 id="training">Training</h2>
${trainLogSection(results.trainLog, figures.loss, results.ensembleMembers)}

<h2 id="ecdf">NSE distribution</h2>
${inlineSvg(figures.ecdf, 'cumulative distribution of NSE over basins')}
<p class="note">Empirical cumulative distribution of the per-basin NSE (as in the paper's Figs. 3 to 5). Basins below 0 are counted at the left edge.</p>

<h2 id="map">Map</h2>
${mapPart}

<h2 id="basins">Per-basin metrics</h2>
${metricsTable(results, shown)}

<h2 id="hydrographs">Hydrographs</h2>
<p class="note">${esc(figures.hydrographNote)} Black: observed; blue: simulated.</p>
${hydrographs}
</main>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

/** The report file of a period: report.html for test, report_train.html for train. */
export function reportFile(runDir: string, period: Period = 'test'): string {
  return path.join(runDir, period === 'test' ? 'report.html' : `report_${period}.html`);
}

/**
 * Writes <runDir>/report.html (report_train.html for the training period; one self-contained file) and the figures under <runDir>/<period>/figures/.
 * Needs an evaluated run (<period>/metrics.csv and predictions/); throws InputError otherwise.
 */
export function writeReport(runDir: string, options: ReportOptions = {}): { report: string; figures: FiguresResult } {
  const results = readRunResults(runDir, options.period ?? 'test');
  const figures = writeRunFigures(results, options);
  const report = reportFile(runDir, results.period);
  writeFileAtomic(report, reportHtml(results, figures));
  return { report, figures };
}
